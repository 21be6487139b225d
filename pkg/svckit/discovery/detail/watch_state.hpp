#pragma once
// Internal: what the remote registries (etcd, Consul) keep per watch, the handle that ends it, and
// the backoff their loops share. A watch hands its callback a set only when it differs from the last
// one, never two at once, and never after the handle is gone.
#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "svckit/core/context.hpp"
#include "svckit/discovery/registry.hpp"

namespace svckit::discovery::detail {

struct WatchState {
  std::string service;
  WatchFn fn;
  Context ctx;    // cancelled when the watch ends: stops its loop's calls
  std::mutex mu;  // held while fn runs
  bool active = true;
  bool delivered = false;
  std::vector<Instance> last;

  void deliver(const std::vector<Instance>& set) {
    std::lock_guard lock(mu);
    if (!active || (delivered && last == set)) return;
    last = set;
    delivered = true;
    fn(set);
  }
};

class WatchHandle final : public Watch {
 public:
  explicit WatchHandle(std::shared_ptr<WatchState> w) : w_(std::move(w)) {}
  ~WatchHandle() override {
    {
      std::lock_guard lock(w_->mu);
      w_->active = false;
    }
    w_->ctx.cancel(Status(Code::kCancelled, "watch ended"));
  }

 private:
  std::shared_ptr<WatchState> w_;
};

// The pause after `failures` failures in a row: exponential from `min` up to `max`, half of it fixed
// and half random, so that many clients do not retry in step.
inline std::chrono::milliseconds backoff(std::chrono::milliseconds min, std::chrono::milliseconds max, int failures) {
  thread_local std::mt19937 rng{std::random_device{}()};
  auto step = std::min<std::chrono::milliseconds>(min * (1LL << std::min(failures, 16)), max);
  std::uniform_int_distribution<long long> jitter(0, step.count() / 2);
  return std::chrono::milliseconds(step.count() / 2 + jitter(rng));
}

}  // namespace svckit::discovery::detail
