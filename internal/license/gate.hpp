#pragma once
// One write transaction at a time, in arrival order, for coroutines on svckit's loops. On SQLite a
// transaction that waits for the write lock (BEGIN IMMEDIATE) occupies a blocking-pool thread; with
// more writers than pool threads, the one holding the lock can wait for a thread behind them until
// the busy timeout ends it (ABORTED BUSY). Taking this gate before the transaction keeps the waiting
// on the loop, where it costs no thread.
#include <deque>
#include <memory>
#include <mutex>

#include "svckit/core/notifier.hpp"
#include "svckit/core/task.hpp"

namespace svckit::license {

class WriteGate {
 public:
  class Pass {
   public:
    explicit Pass(WriteGate* gate = nullptr) : gate_(gate) {}
    Pass(Pass&& o) noexcept : gate_(std::exchange(o.gate_, nullptr)) {}
    Pass& operator=(Pass&&) = delete;
    ~Pass() {
      if (gate_) gate_->release();
    }

   private:
    WriteGate* gate_;
  };

  // Resolves once the caller holds the gate; dropping the Pass hands it to the next waiter.
  Task<Pass> enter() {
    std::shared_ptr<Notifier> turn;
    {
      std::lock_guard lock(mu_);
      if (!busy_) {
        busy_ = true;
        co_return Pass(this);
      }
      turn = std::make_shared<Notifier>();
      waiters_.push_back(turn);
    }
    co_await turn->wait();  // release() handed the gate over
    co_return Pass(this);
  }

 private:
  void release() {
    std::shared_ptr<Notifier> next;
    {
      std::lock_guard lock(mu_);
      if (waiters_.empty()) {
        busy_ = false;
        return;
      }
      next = std::move(waiters_.front());
      waiters_.pop_front();
    }
    next->notify();
  }

  std::mutex mu_;
  bool busy_ = false;
  std::deque<std::shared_ptr<Notifier>> waiters_;
};

}  // namespace svckit::license
