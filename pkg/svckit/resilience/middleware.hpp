#pragma once
// The resilience pieces as HTTP middleware and as guards for outgoing calls, with their metrics:
//   svckit_resilience_breaker_state{breaker} (0 closed, 1 half-open, 2 open),
//   svckit_resilience_breaker_transitions_total{breaker,to}, svckit_resilience_rejected_total{kind},
//   svckit_resilience_shed_total, svckit_resilience_retries_total{outcome}.
// Rejections answer in svckit's error format: 429 with Retry-After for limits, 503 with Retry-After for
// shedding and open breakers.
//
//   router.use(resilience::middleware::shed(shedder));                 // outermost: cheapest answer
//   api.use(resilience::middleware::rate_limit(std::make_shared<TokenBucket>(500, 1000)));
//   api.get("/report", report).use(resilience::middleware::concurrency_limit(bulkhead));
//   auto cb = resilience::observed_breaker({.name = "billing", .timeout = 10s});
//   auto r = co_await resilience::guarded(ctx, *cb, [&](const Context& c) { return client.get(c, url); },
//                                         [&](const Status& why) { return cached_answer(why); });  // fallback
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "svckit/http/router.hpp"
#include "svckit/resilience/breaker.hpp"
#include "svckit/resilience/limiter.hpp"
#include "svckit/resilience/retry.hpp"
#include "svckit/resilience/shedder.hpp"

namespace svckit::resilience {

namespace middleware {
http::Middleware rate_limit(std::shared_ptr<Limiter> limiter);
// Waits its turn (within the request's deadline) instead of refusing while under max_queueing.
http::Middleware pace(std::shared_ptr<Pacer> pacer);
http::Middleware concurrency_limit(std::shared_ptr<Bulkhead> bulkhead);
http::Middleware shed(std::shared_ptr<Shedder> shedder);
}  // namespace middleware

// Limits per route from configuration. Each rule is "METHOD /route/template key=value...", METHOD may be
// `*`, the template is the router's (`/v1/users/:id`); keys: rate and burst (a token bucket),
// max_in_flight (a bulkhead). Example: "GET /v1/users rate=100 burst=200", "* /v1/export max_in_flight=2".
struct RouteRule {
  std::string method;  // upper case, or "*"
  std::string route;
  double rate = 0, burst = 0;
  std::size_t max_in_flight = 0;
};
Result<RouteRule> parse_route_rule(std::string_view text);
// One middleware for all rules: it finds the request's rule by method and matched route template.
http::Middleware route_limits(const std::vector<RouteRule>& rules);

namespace detail {
// The words of a configuration rule ("GET /route rate=5", "billing timeout=1s"), split on blanks.
std::vector<std::string> split_words(std::string_view text);
}  // namespace detail

// A CircuitBreaker whose state and transitions are exported as metrics and logged.
std::shared_ptr<CircuitBreaker> observed_breaker(BreakerSettings settings);

// Runs fn through the breaker; when the breaker refuses (or fn fails and a fallback is given), the
// fallback's answer is returned instead: a degraded answer rather than an error.
template <class F, class Fallback = std::nullptr_t>
auto guarded(const Context& ctx, CircuitBreaker& cb, F fn, Fallback fallback = nullptr)
    -> std::invoke_result_t<F&, const Context&> {
  auto ticket = cb.allow();
  if (!ticket) {
    if constexpr (!std::is_same_v<Fallback, std::nullptr_t>) co_return fallback(ticket.error());
    co_return std::unexpected(ticket.error());
  }
  auto result = co_await fn(ctx);
  Status st = detail::status_of(result);
  cb.done(*ticket, st);
  if constexpr (!std::is_same_v<Fallback, std::nullptr_t>) {
    if (!st.ok()) co_return fallback(st);
  }
  co_return result;
}

}  // namespace svckit::resilience
