#pragma once
// Task<T> is svckit's coroutine type: handlers, clients and queries are written as sequential code that
// `co_await`s. A Task is lazy (it starts when awaited or spawned), owns its frame, and resumes its
// awaiter by symmetric transfer, so deep await chains do not grow the stack. Exceptions thrown inside
// propagate to the awaiter. Start one on a loop with Runtime::spawn or Runtime::block_on.
//
// Symmetric transfer is a tail call only when the compiler makes it one: at -O0 (a Debug build) and
// under the sanitizers each transfer nests a call, and a 100,000-deep chain would overflow the stack.
// So a transfer made on a loop thread whose stack is more than half used goes through the loop's queue
// instead (the stack unwinds to the loop, which resumes the coroutine afresh). In an optimised build the
// stack never gets that deep and the guard is one thread-local compare.
#include <coroutine>
#include <cstddef>
#include <exception>
#include <type_traits>
#include <utility>
#include <variant>

namespace svckit {

template <class T = void>
class Task;

namespace detail {

// Coroutine frames come from per-thread free lists of a few sizes (frame_pool.cpp): a request's
// handlers, middleware and I/O helpers start and finish coroutines of the same sizes over and over,
// and reusing their frames keeps malloc off the request path.
void* frame_alloc(std::size_t size);
void frame_free(void* frame, std::size_t size) noexcept;

// Below this address the calling loop thread's stack is more than half used; null on threads that
// are not loops (nothing to bounce through there), set by the loop when it starts.
inline thread_local const char* t_stack_guard = nullptr;
// Posts h to the current loop and returns noop_coroutine(); runtime.cpp.
std::coroutine_handle<> bounce_through_loop(std::coroutine_handle<> h) noexcept;
inline std::coroutine_handle<> transfer(std::coroutine_handle<> h) noexcept {
  if (static_cast<const char*>(__builtin_frame_address(0)) < t_stack_guard) [[unlikely]] {
    return bounce_through_loop(h);
  }
  return h;
}

struct TaskPromiseBase {
  static void* operator new(std::size_t size) { return frame_alloc(size); }
  static void operator delete(void* frame, std::size_t size) noexcept { frame_free(frame, size); }

  std::coroutine_handle<> continuation = std::noop_coroutine();
  std::exception_ptr exception;

  std::suspend_always initial_suspend() noexcept { return {}; }
  struct FinalAwaiter {
    bool await_ready() const noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      return transfer(h.promise().continuation);
    }
    void await_resume() const noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { exception = std::current_exception(); }
};

template <class T>
struct TaskPromise : TaskPromiseBase {
  std::variant<std::monostate, T> value;
  Task<T> get_return_object() noexcept;
  template <class U>
  requires std::is_convertible_v<U&&, T>
  void return_value(U&& v) { value.template emplace<1>(std::forward<U>(v)); }
  T take() {
    if (exception) std::rethrow_exception(exception);
    return std::move(std::get<1>(value));
  }
};

template <>
struct TaskPromise<void> : TaskPromiseBase {
  Task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void take() {
    if (exception) std::rethrow_exception(exception);
  }
};

}  // namespace detail

template <class T>
class [[nodiscard]] Task {
 public:
  using promise_type = detail::TaskPromise<T>;
  using value_type = T;

  Task() noexcept = default;
  explicit Task(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      if (handle_) handle_.destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() {
    if (handle_) handle_.destroy();
  }

  bool valid() const noexcept { return static_cast<bool>(handle_); }

  auto operator co_await() && noexcept {
    struct Awaiter {
      std::coroutine_handle<promise_type> handle;
      bool await_ready() const noexcept { return !handle || handle.done(); }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
        handle.promise().continuation = awaiting;
        return detail::transfer(handle);
      }
      T await_resume() { return handle.promise().take(); }
    };
    return Awaiter{handle_};
  }

  // For the runtime: hand over the frame.
  std::coroutine_handle<promise_type> release() noexcept { return std::exchange(handle_, {}); }

  // Runs the task until it first suspends (or finishes); true if it finished. Then `co_await
  // std::move(task).join()` waits for the rest without resuming it early. Lets a caller skip work
  // that only a task which really waits needs (the HTTP server's disconnect watch).
  bool start_inline() {
    handle_.resume();
    return handle_.done();
  }
  auto join() && noexcept {
    struct Awaiter {
      std::coroutine_handle<promise_type> handle;
      bool await_ready() const noexcept { return handle.done(); }
      void await_suspend(std::coroutine_handle<> awaiting) noexcept { handle.promise().continuation = awaiting; }
      T await_resume() { return handle.promise().take(); }
    };
    return Awaiter{handle_};
  }

 private:
  std::coroutine_handle<promise_type> handle_;
};

namespace detail {
template <class T>
Task<T> TaskPromise<T>::get_return_object() noexcept {
  return Task<T>(std::coroutine_handle<TaskPromise<T>>::from_promise(*this));
}
inline Task<void> TaskPromise<void>::get_return_object() noexcept {
  return Task<void>(std::coroutine_handle<TaskPromise<void>>::from_promise(*this));
}
}  // namespace detail

}  // namespace svckit
