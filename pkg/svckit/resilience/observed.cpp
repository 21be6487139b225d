#include "svckit/resilience/observed.hpp"

#include "svckit/log/logger.hpp"
#include "svckit/metrics/metrics.hpp"

namespace svckit::resilience {

std::shared_ptr<CircuitBreaker> observed_breaker(BreakerSettings s) {
  auto& reg = metrics::Registry::global();
  static auto& state = reg.gauge_vec(
      {.name = "svckit_resilience_breaker_state", .help = "Circuit breaker state: 0 closed, 1 half-open, 2 open."},
      {"breaker"});
  static auto& transitions =
      reg.counter_vec({.name = "svckit_resilience_breaker_transitions_total", .help = "Circuit breaker state changes."},
                      {"breaker", "to"});
  auto gauge = state.with({s.name});
  gauge.set(0);
  auto user = std::move(s.on_state_change);
  s.on_state_change = [gauge, user](const std::string& name, State from, State to) {
    gauge.set(to == State::kClosed ? 0 : to == State::kHalfOpen ? 1 : 2);
    transitions.with({name, state_name(to)}).inc();
    auto level = to == State::kOpen ? log::Level::kWarn : log::Level::kInfo;
    log::global().log(level, "circuit breaker state change",
                      {{"breaker", name}, {"from", state_name(from)}, {"to", state_name(to)}});
    if (user) user(name, from, to);
  };
  return std::make_shared<CircuitBreaker>(std::move(s));
}

}  // namespace svckit::resilience
