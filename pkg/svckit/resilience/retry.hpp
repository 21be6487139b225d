#pragma once
// Retries that cannot make an outage worse: exponential backoff with full jitter, only for retryable
// codes and idempotent calls, never past the Context's deadline (a retry that could not finish in
// time is not started), and bounded by a RetryBudget: retries may add at most `ratio` of the calls
// made over the window (plus a small floor), as Finagle and gRPC do, so a failing dependency sees
// ~1.1x its normal load rather than max_attempts x.
//
// ```cpp
//   Task<Result<http::ClientResponse>> get(http::Client& client, resilience::RetryBudget& budget,
//                                          const Context& ctx, const std::string& url) {
//     static const resilience::RetryPolicy policy{.max_attempts = 3};   // retry() refers to it until it ends
//     co_return co_await resilience::retry(ctx, policy, &budget, /*idempotent=*/true,
//                                          [&](const Context& c) { return client.get(c, url); });
//   }
// ```
#include <chrono>
#include <functional>
#include <mutex>
#include <random>
#include <vector>

#include "svckit/core/runtime.hpp"
#include "svckit/metrics/metrics.hpp"
#include "svckit/resilience/breaker.hpp"

namespace svckit::resilience {

struct RetryPolicy {
  int max_attempts = 3;  // the first call included
  std::chrono::nanoseconds initial_backoff{std::chrono::milliseconds(50)};
  std::chrono::nanoseconds max_backoff{std::chrono::seconds(1)};
  double multiplier = 2.0;
  std::vector<Code> retryable = {Code::kUnavailable, Code::kResourceExhausted, Code::kAborted};
  bool retryable_code(Code c) const {
    for (Code r : retryable)
      if (r == c) return true;
    return false;
  }
};

class RetryBudget {
 public:
  // Over the last `window`: retries ≤ ratio × calls + min_per_second × window seconds.
  explicit RetryBudget(double ratio = 0.1, double min_per_second = 1,
                       std::chrono::seconds window = std::chrono::seconds(10), NowFn now = {});
  void on_call();
  bool try_spend();
  std::uint64_t exhausted() const noexcept { return exhausted_; }

 private:
  double ratio_, floor_;
  struct Bucket {
    double calls = 0, retries = 0;
  };
  NowFn now_;
  RollingWindow<Bucket> window_;
  std::mutex mu_;
  std::uint64_t exhausted_ = 0;
};

namespace detail {
std::chrono::nanoseconds full_jitter(std::chrono::nanoseconds cap);
void count_retry(std::string_view outcome);  // svckit_resilience_retries_total{outcome}
inline const Status& status_of(const Status& s) {
  return s;
}
template <class T>
Status status_of(const Result<T>& r) {
  return r ? Status() : r.error();
}
}  // namespace detail

// fn(const Context&) -> Task<Status> or Task<Result<T>>.
template <class F>
auto retry(const Context& ctx, const RetryPolicy& policy, RetryBudget* budget, bool idempotent, F fn)
    -> std::invoke_result_t<F&, const Context&> {
  auto backoff = policy.initial_backoff;
  for (int attempt = 1;; ++attempt) {
    if (budget) budget->on_call();
    auto result = co_await fn(ctx);
    Status st = detail::status_of(result);
    if (st.ok() || !idempotent || !policy.retryable_code(st.code()) || attempt >= policy.max_attempts) co_return result;
    auto wait = detail::full_jitter(backoff);
    backoff =
        std::min(std::chrono::duration_cast<std::chrono::nanoseconds>(backoff * policy.multiplier), policy.max_backoff);
    if (ctx.deadline() && ctx.remaining() <= wait) {
      detail::count_retry("deadline");
      co_return result;  // the retry could not finish in time: do not start it
    }
    if (budget && !budget->try_spend()) {
      detail::count_retry("budget_exhausted");
      co_return result;
    }
    detail::count_retry("retried");
    Status slept = co_await sleep_for(ctx, wait);
    if (!slept.ok()) co_return result;
  }
}

}  // namespace svckit::resilience
