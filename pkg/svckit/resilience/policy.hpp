#pragma once
// Outgoing-call policies per upstream and per method, from configuration rather than code: a timeout
// per call and per attempt, a circuit breaker (gobreaker-style or adaptive), retries with backoff and
// a budget, a bulkhead, and a fallback. One item of `resilience.upstreams` per upstream or method:
//
//   resilience:
//     upstreams:
//       - {name: billing, timeout: 2s, attempt_timeout: 800ms, breaker: gobreaker, failures: 5,
//          open_for: 10s, retries: 2}
//       - {name: billing, method: POST /v1/charges, retries: 0, idempotent: false}  # overrides billing's keys
//       - {name: chat, method: /svckit.chat.v1.ChatService/Send, breaker: adaptive, k: 2}
//
// ```cpp
//   Result<http::ClientResponse> cached_answer(const Status& why);   // a degraded answer
//   Task<Result<http::ClientResponse>> charge(resilience::Upstreams& upstreams, http::Client& client,
//                                             const Context& ctx, const std::string& url, const std::string& body) {
//     // upstreams: App::upstreams(), or resilience::Upstreams(settings.upstreams) (settings.hpp)
//     co_return co_await upstreams.get("billing", "POST /v1/charges")
//         .call(ctx, [&](const Context& c) { return client.post(c, url, body); },
//               [&](const Status& why) { return cached_answer(why); });   // optional fallback
//   }
// ```
//
// A method's guard (breaker, bulkhead, budget) is its own when its rule sets those keys, otherwise the
// upstream's. An upstream without a rule gets the defaults below (no breaker, no retries).
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "svckit/config/binder.hpp"
#include "svckit/core/runtime.hpp"
#include "svckit/resilience/breaker.hpp"
#include "svckit/resilience/limiter.hpp"
#include "svckit/resilience/retry.hpp"

namespace svckit::resilience {

enum class BreakerKind { kNone, kGobreaker, kAdaptive };
constexpr auto config_names(BreakerKind) {
  return std::array{std::pair{BreakerKind::kNone, "off"}, std::pair{BreakerKind::kGobreaker, "gobreaker"},
                    std::pair{BreakerKind::kAdaptive, "adaptive"}};
}

struct CallPolicy {
  std::chrono::nanoseconds timeout{0};          // the whole call, retries included (0: the caller's)
  std::chrono::nanoseconds attempt_timeout{0};  // each attempt (0: none of its own)
  BreakerKind breaker = BreakerKind::kNone;
  std::uint32_t failures = 5;       // gobreaker: trips after > N consecutive failures
  double failure_ratio = 0;         // gobreaker: > 0 trips on this share of failures instead, once there
  std::uint32_t min_requests = 20;  // are min_requests calls in the interval (a rolling window)
  std::chrono::nanoseconds open_for{std::chrono::seconds(60)};  // gobreaker: open → half-open
  std::uint32_t probes = 1;                                     // gobreaker: calls allowed half-open
  std::chrono::nanoseconds interval{0};                         // gobreaker: closed counts reset
  double k = 1.5;                                               // adaptive: SRE throttling constant
  int retries = 0;                                              // attempts after the first
  std::chrono::nanoseconds backoff{std::chrono::milliseconds(50)};
  std::chrono::nanoseconds max_backoff{std::chrono::seconds(1)};
  double retry_budget = 0.1;      // retries ≤ this ratio of calls over 10 s (+1/s)
  bool idempotent = true;         // false: never retried
  std::size_t max_in_flight = 0;  // a bulkhead (0: none)

  static void describe(config::Binder<CallPolicy>& b);
};

// One item of resilience.upstreams. `settings` holds the keys the item set, so that a method's rule
// is laid over its upstream's policy and overrides only those.
struct CallRule {
  std::string upstream;
  std::string method;  // empty: the upstream's rule
  CallPolicy policy;
  std::vector<std::string> settings;

  static void describe(config::Binder<CallRule>& b);
};

// What one upstream (or method) calls go through. Thread-safe; shared by every caller.
class CallGuard {
 public:
  CallGuard(std::string name, CallPolicy policy);
  // A guard with its own timeouts and retries that shares `share`'s breaker, bulkhead and budget.
  CallGuard(std::string name, CallPolicy policy, const CallGuard& share);
  const std::string& name() const noexcept { return name_; }
  const CallPolicy& policy() const noexcept { return policy_; }

  // fn(const Context&) -> Task<Status> or Task<Result<T>>. The fallback(const Status&) answers
  // instead when the call is refused (breaker, bulkhead, budget) or fails after its retries.
  template <class F, class Fallback = std::nullptr_t>
  auto call(const Context& ctx, F fn, Fallback fallback = nullptr) -> std::invoke_result_t<F&, const Context&>;

  // The pieces, for code that drives them itself (and for tests).
  struct Admission {
    std::uint64_t generation = 0;
  };
  Result<Admission> admit();                       // breaker
  void record(Admission a, const Status& result);  // breaker
  Result<Bulkhead::Permit> enter();                // bulkhead
  RetryBudget& budget() noexcept { return *budget_; }
  CircuitBreaker* breaker() noexcept { return gobreaker_.get(); }
  AdaptiveBreaker* adaptive() noexcept { return adaptive_.get(); }

 private:
  std::string name_;
  CallPolicy policy_;
  std::shared_ptr<CircuitBreaker> gobreaker_;
  std::shared_ptr<AdaptiveBreaker> adaptive_;
  std::shared_ptr<Bulkhead> bulkhead_;
  std::shared_ptr<RetryBudget> budget_;
};

// The guards of all configured upstreams and methods, created once from the rules.
class Upstreams {
 public:
  Upstreams() = default;
  explicit Upstreams(std::vector<CallRule> rules);

  // The method's guard if it has its own rule, else the upstream's (created with defaults on first
  // use when the upstream has no rule). The reference stays valid for the Upstreams' lifetime.
  CallGuard& get(std::string_view upstream, std::string_view method = {});

 private:
  struct Table;
  std::shared_ptr<Table> table_;
};

namespace detail {
void count_fallback(const std::string& guard);  // svckit_resilience_fallbacks_total{guard}
}

template <class F, class Fallback>
auto CallGuard::call(const Context& ctx, F fn, Fallback fallback) -> std::invoke_result_t<F&, const Context&> {
  using R = typename std::invoke_result_t<F&, const Context&>::value_type;
  auto fail = [&](Status why) -> R {
    if constexpr (!std::is_same_v<Fallback, std::nullptr_t>) {
      detail::count_fallback(name_);
      return fallback(why);
    } else if constexpr (std::is_same_v<R, Status>) {
      return why;
    } else {
      return std::unexpected(std::move(why));
    }
  };
  Context call_ctx =
      policy_.timeout.count() > 0 ? ctx.with_timeout(std::chrono::duration_cast<Duration>(policy_.timeout)) : ctx;
  if (call_ctx.done()) co_return fail(Status(Code::kDeadlineExceeded, name_ + ": deadline passed before the call"));
  auto permit = enter();
  if (!permit) co_return fail(permit.error());
  auto backoff = policy_.backoff;
  RetryPolicy retryable;
  for (int attempt = 1;; ++attempt) {
    budget_->on_call();
    auto admission = admit();
    if (!admission) co_return fail(admission.error());  // an open breaker is not retried
    Context attempt_ctx = policy_.attempt_timeout.count() > 0
                              ? call_ctx.with_timeout(std::chrono::duration_cast<Duration>(policy_.attempt_timeout))
                              : call_ctx;
    auto result = co_await fn(attempt_ctx);
    Status st = detail::status_of(result);
    // An attempt cut by its own timeout while the call still has time is a failed attempt.
    if (!st.ok() && attempt_ctx.done() && !call_ctx.done() && st.code() != Code::kDeadlineExceeded)
      st = Status(Code::kDeadlineExceeded, name_ + ": attempt timed out");
    record(*admission, st);
    if (st.ok()) co_return result;
    bool again = policy_.idempotent && attempt <= policy_.retries &&
                 (retryable.retryable_code(st.code()) || (st.code() == Code::kDeadlineExceeded && !call_ctx.done()));
    if (again) {
      auto wait = detail::full_jitter(backoff);
      backoff = std::min(backoff * 2, policy_.max_backoff);
      if (call_ctx.deadline() && call_ctx.remaining() <= wait) {
        detail::count_retry("deadline");
        again = false;
      } else if (!budget_->try_spend()) {
        detail::count_retry("budget_exhausted");
        again = false;
      } else {
        detail::count_retry("retried");
        Status slept = co_await sleep_for(call_ctx, wait);
        if (!slept.ok()) again = false;
      }
    }
    if (!again) {
      if constexpr (!std::is_same_v<Fallback, std::nullptr_t>) co_return fail(st);
      co_return result;
    }
  }
}

}  // namespace svckit::resilience
