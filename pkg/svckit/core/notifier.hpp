#pragma once
// A wake-up for one coroutine from any thread: wait() suspends until notify() (or returns at once if
// notify() came first since the last wait), and resumes the coroutine on the loop it waited on. The
// bridge between callback APIs (grpc++ completions, another thread's queue) and a coroutine on
// svckit's loops.
//
// ```cpp
//   struct Call {                            // state the callback and the coroutine share
//     Notifier ready;
//     Status result;
//   };
//   void start_operation(std::shared_ptr<Call> call);   // calls on_complete(call, ...) on another thread
//   void on_complete(const std::shared_ptr<Call>& call, Status result) {
//     call->result = std::move(result);
//     call->ready.notify();
//   }
//   Task<Status> run(std::shared_ptr<Call> call) {
//     start_operation(call);
//     co_await call->ready.wait();           // resumes on this loop
//     co_return call->result;
//   }
// ```
#include <coroutine>
#include <mutex>

namespace svckit {

class Loop;

class Notifier {
 public:
  // Wakes the waiter, or lets the next wait() go through at once. Thread-safe.
  void notify();

  struct [[nodiscard]] Awaiter {
    Notifier& n;
    bool await_ready() noexcept;
    bool await_suspend(std::coroutine_handle<> h);
    void await_resume() const noexcept {}
  };
  // One waiter at a time, on a svckit loop.
  Awaiter wait() noexcept { return Awaiter{*this}; }

 private:
  std::mutex mu_;
  bool notified_ = false;
  std::coroutine_handle<> waiter_;
  Loop* loop_ = nullptr;
};

}  // namespace svckit
