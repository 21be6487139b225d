#pragma once
// The worker runtime: N worker threads (default: one per core), each owning one event loop, that run
// svckit's coroutines; timers and deadlines for them; a bounded pool for blocking work (SQLite, password
// hashing, file I/O) behind an awaitable; and a graceful stop driven by SIGTERM/SIGINT.
//
// ```cpp
//   Task<void> serve(Context ctx);
//   int sqlite_step();                                      // blocking work
//   Task<void> handle(Context ctx) {
//     co_await svckit::sleep_for(ctx, 100ms);               // wakes early with CANCELLED if ctx is
//     auto r = co_await svckit::run_blocking(ctx, [] { return sqlite_step(); });   // Result<int>
//   }
//   int main() {
//     svckit::Runtime rt;                                   // workers = cores
//     rt.block_on(serve(svckit::Context()));                // or rt.spawn(task) + rt.wait()
//   }
// ```
//
// A coroutine stays on the loop it started on: every awaitable here resumes it on that loop.
#include <atomic>
#include <coroutine>
#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "svckit/core/context.hpp"
#include "svckit/core/status.hpp"
#include "svckit/core/task.hpp"

namespace asio {
class io_context;
}

namespace svckit {

class Runtime;

// One event loop on one worker thread.
class Loop {
 public:
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;
  ~Loop();

  // The loop running on the calling thread, or nullptr.
  static Loop* current() noexcept;
  bool in_loop_thread() const noexcept { return current() == this; }
  std::size_t index() const noexcept { return index_; }
  Runtime& runtime() const noexcept { return *runtime_; }

  // Thread-safe.
  void post(std::function<void()> fn);
  void spawn(Task<void> task);
  // For modules that build I/O on Asio (http, grpc): the loop's io_context.
  asio::io_context& io() noexcept { return *io_; }

 private:
  friend class Runtime;
  Loop(Runtime& rt, std::size_t index);
  void run();

  Runtime* runtime_;
  std::size_t index_;
  std::unique_ptr<asio::io_context> io_;
};

// Fixed threads, bounded queue. Jobs that do not fit are refused (RESOURCE_EXHAUSTED), never queued
// without bound.
class BlockingPool {
 public:
  BlockingPool(std::size_t threads, std::size_t max_queue);
  ~BlockingPool();  // runs what is queued, then joins
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  bool try_submit(std::function<void()> job);
  std::size_t queued() const noexcept { return queued_.load(std::memory_order_relaxed); }
  std::size_t threads() const noexcept;
  std::size_t capacity() const noexcept { return max_queue_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::size_t max_queue_;
  std::atomic<std::size_t> queued_{0};
};

struct RuntimeOptions {
  std::size_t workers = 0;           // 0: std::thread::hardware_concurrency()
  std::size_t blocking_threads = 0;  // 0: max(2, cores)
  std::size_t blocking_queue = 4096;
  Duration shutdown_timeout = std::chrono::seconds(10);  // how long stop hooks may drain
  bool handle_signals = false;  // SIGTERM/SIGINT start a graceful stop (a second one exits at once)
};

class Runtime {
 public:
  explicit Runtime(RuntimeOptions options = {});
  ~Runtime();  // a stop that has not happened yet happens now, without waiting for hooks
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  std::size_t size() const noexcept;
  Loop& loop(std::size_t i) noexcept;
  Loop& next_loop() noexcept;  // round robin
  BlockingPool& blocking_pool() noexcept { return *blocking_; }

  void spawn(Task<void> task) { next_loop().spawn(std::move(task)); }

  // Runs a task on a loop and waits for it from a thread that is not a loop.
  template <class T>
  T block_on(Task<T> task) {
    if (Loop::current()) throw std::logic_error("Runtime::block_on called from a loop thread");
    std::promise<T> promise;
    auto future = promise.get_future();
    next_loop().spawn(fulfil(std::move(task), promise));
    return future.get();
  }

  // Cancelled (UNAVAILABLE "shutting down") when the drain time of a graceful stop is over.
  const Context& shutdown_context() const noexcept { return shutdown_ctx_; }
  // Hooks run, concurrently, when a graceful stop begins (servers stop accepting and drain).
  void on_stop(std::function<Task<void>()> hook);
  // Runs fn on loop 0 whenever signo arrives (needs handle_signals; SIGHUP, SIGUSR1...).
  void on_signal(int signo, std::function<void()> fn);
  // Starts a graceful stop: hooks, then shutdown_context is cancelled, then the loops stop. Thread-safe.
  void request_stop();
  bool stopping() const noexcept { return stopping_.load(); }
  // False once the stop sequence has ended and the loops are stopping: work posted now never runs.
  bool running() const noexcept { return !loops_stopped_.load(); }
  // Blocks until the loops have stopped.
  void wait();

 private:
  template <class T>
  static Task<void> fulfil(Task<T> task, std::promise<T>& promise) {
    try {
      if constexpr (std::is_void_v<T>) {
        co_await std::move(task);
        promise.set_value();
      } else {
        promise.set_value(co_await std::move(task));
      }
    } catch (...) {
      promise.set_exception(std::current_exception());
    }
  }
  void stop_sequence();
  void arm_signals();
  void stop_loops();

  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<BlockingPool> blocking_;
  Context shutdown_ctx_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> loops_stopped_{false};
};

// Called with exceptions that escape a spawned task; the default writes to stderr. log installs one.
void set_unhandled_exception_handler(std::function<void(std::exception_ptr)> handler);

// ---- awaitables ----------------------------------------------------------------------------------

// Suspends for d, or less if ctx is cancelled (returns its err()) or its deadline comes first
// (DEADLINE_EXCEEDED). OK when the full time elapsed.
struct [[nodiscard]] SleepAwaiter {
  Context ctx;
  Duration duration;
  Status result;
  bool await_ready();
  void await_suspend(std::coroutine_handle<> h);
  Status await_resume() noexcept { return std::move(result); }
};
inline SleepAwaiter sleep_for(Duration d) {
  return SleepAwaiter{Context(), d, {}};
}
inline SleepAwaiter sleep_for(const Context& ctx, Duration d) {
  return SleepAwaiter{ctx, d, {}};
}

// Moves the awaiting coroutine to another loop.
struct [[nodiscard]] ResumeOnAwaiter {
  Loop& loop;
  bool await_ready() const noexcept { return loop.in_loop_thread(); }
  void await_suspend(std::coroutine_handle<> h) {
    loop.post([h] { h.resume(); });
  }
  void await_resume() const noexcept {}
};
inline ResumeOnAwaiter resume_on(Loop& loop) {
  return ResumeOnAwaiter{loop};
}

namespace detail {
// Cancels ctx with DEADLINE_EXCEEDED when its deadline passes (a timer on the current loop).
class DeadlineGuard {
 public:
  explicit DeadlineGuard(const Context& ctx);
  ~DeadlineGuard();
  DeadlineGuard(const DeadlineGuard&) = delete;
  DeadlineGuard& operator=(const DeadlineGuard&) = delete;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

template <class T>
struct Unwrap {
  using type = T;
};
template <class T>
struct Unwrap<Result<T>> {
  using type = T;
};

// Submits job to the pool of the current loop; on completion resumes h on that loop. False if refused.
bool submit_blocking(std::function<void()> job, std::coroutine_handle<> h);
}  // namespace detail

// Runs fn(child) with a child context whose deadline is now + timeout; awaits inside are woken with
// DEADLINE_EXCEEDED when it passes. fn returns a Task.
template <class F>
auto with_deadline(Context ctx, Duration timeout, F fn) -> std::invoke_result_t<F&, Context> {
  Context child = ctx.with_timeout(timeout);
  detail::DeadlineGuard guard(child);
  co_return co_await fn(child);
}

namespace detail {
// Holds only pointers, so that however the compiler stores or copies the awaiter (GCC 12 relocates
// some awaiter temporaries bitwise), the state it refers to stays put in the coroutine frame.
template <class Job>
struct BlockingAwaiter {
  Job* job;
  bool* refused;
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    Job* j = job;
    bool queued = submit_blocking([j] { (*j)(); }, h);
    *refused = !queued;
    return queued;
  }
  void await_resume() const noexcept {}
};
}  // namespace detail

// Runs fn() on the blocking pool and resumes on the calling loop with its value as Result<R> (a
// Result-returning fn is not wrapped twice). RESOURCE_EXHAUSTED when the pool's queue is full; the
// context's err() when it is done before the job starts (the job is then not run). Exceptions from fn
// are rethrown in the awaiting coroutine.
template <class F>
auto run_blocking(Context ctx, F fn) -> Task<Result<typename detail::Unwrap<std::invoke_result_t<F&>>::type>> {
  using Raw = std::invoke_result_t<F&>;
  using Value = typename detail::Unwrap<Raw>::type;
  if (auto st = ctx.err(); !st.ok()) co_return std::unexpected(std::move(st));
  std::optional<Result<Value>> result;
  std::exception_ptr error;
  auto job = [&] {
    if (auto st = ctx.err(); !st.ok()) {
      result.emplace(std::unexpected(std::move(st)));
      return;
    }
    try {
      if constexpr (std::is_void_v<Raw>) {
        fn();
        result.emplace();
      } else {
        result.emplace(fn());
      }
    } catch (...) {
      error = std::current_exception();
    }
  };
  bool refused = false;
  co_await detail::BlockingAwaiter<decltype(job)>{&job, &refused};
  if (refused) co_return make_error(Code::kResourceExhausted, "blocking pool queue is full");
  if (error) std::rethrow_exception(error);
  co_return std::move(*result);
}
template <class F>
auto run_blocking(F fn) {
  return run_blocking(Context(), std::move(fn));
}

}  // namespace svckit
