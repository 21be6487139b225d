#pragma once
// Circuit breakers with their metrics and logs, and the guard that runs a call through one:
//   svckit_resilience_breaker_state{breaker} (0 closed, 1 half-open, 2 open),
//   svckit_resilience_breaker_transitions_total{breaker,to}.
//
// ```cpp
//   Result<http::ClientResponse> cached_answer(const Status& why);   // a degraded answer
//   Task<Result<http::ClientResponse>> get_billing(http::Client& client, const Context& ctx, const std::string& url) {
//     static auto cb = resilience::observed_breaker({.name = "billing", .timeout = 10s});
//     co_return co_await resilience::guarded(ctx, *cb, [&](const Context& c) { return client.get(c, url); },
//                                            [&](const Status& why) { return cached_answer(why); });  // fallback
//   }
// ```
#include <cstddef>
#include <memory>
#include <type_traits>

#include "svckit/core/context.hpp"
#include "svckit/resilience/breaker.hpp"
#include "svckit/resilience/retry.hpp"

namespace svckit::resilience {

// A CircuitBreaker whose state and transitions are exported as metrics and logged.
std::shared_ptr<CircuitBreaker> observed_breaker(BreakerSettings settings);

// Runs fn (const Context&) -> Task<Status> or Task<Result<T>> through the breaker; when the breaker
// refuses (or fn fails and a fallback is given), the fallback's answer is returned instead: a degraded
// answer rather than an error.
template <class F, class Fallback = std::nullptr_t>
auto guarded(const Context& ctx, CircuitBreaker& cb, F fn, Fallback fallback = nullptr)
    -> std::invoke_result_t<F&, const Context&> {
  using Value = typename std::invoke_result_t<F&, const Context&>::value_type;
  auto ticket = cb.allow();
  if (!ticket) {
    if constexpr (!std::is_same_v<Fallback, std::nullptr_t>)
      co_return fallback(ticket.error());
    else if constexpr (std::is_same_v<Value, Status>)
      co_return ticket.error();
    else
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
