#include "svckit/resilience/middleware.hpp"

#include "svckit/http/message.hpp"
#include "svckit/log/logger.hpp"
#include "svckit/metrics/metrics.hpp"

namespace svckit::resilience {

namespace {

metrics::CounterVec& rejected() {
  static auto& v = metrics::Registry::global().counter_vec(
      {.name = "svckit_resilience_rejected_total", .help = "Requests refused by a limiter, bulkhead or shedder."},
      {"kind"});
  return v;
}

void refuse(http::Response& res, const Status& st) {
  auto ms = st.metadata_value("retry_after_ms");
  long secs = 1;
  if (!ms.empty()) secs = std::max<long>(1, (std::stol(std::string(ms)) + 999) / 1000);
  res.set_header("Retry-After", std::to_string(secs));
  res.error(st);
}

}  // namespace

namespace middleware {

http::Middleware rate_limit(std::shared_ptr<Limiter> limiter) {
  auto counter = rejected().with({"rate_limit"});
  return [limiter, counter](http::Request& req, http::Response& res, http::Next next) -> Task<void> {
    if (Status st = limiter->try_acquire(); !st.ok()) {
      counter.inc();
      refuse(res, st);
      co_return;
    }
    co_await next(req, res);
  };
}

http::Middleware pace(std::shared_ptr<Pacer> pacer) {
  auto counter = rejected().with({"pace"});
  return [pacer, counter](http::Request& req, http::Response& res, http::Next next) -> Task<void> {
    auto wait = pacer->reserve();
    if (!wait) {
      counter.inc();
      refuse(res, wait.error());
      co_return;
    }
    if (wait->count() > 0) {
      Status slept = co_await sleep_for(req.ctx, *wait);
      if (!slept.ok()) {
        res.error(slept);
        co_return;
      }
    }
    co_await next(req, res);
  };
}

http::Middleware concurrency_limit(std::shared_ptr<Bulkhead> bulkhead) {
  auto counter = rejected().with({"concurrency"});
  return [bulkhead, counter](http::Request& req, http::Response& res, http::Next next) -> Task<void> {
    auto permit = bulkhead->try_acquire();
    if (!permit) {
      counter.inc();
      refuse(res, permit.error());
      co_return;
    }
    co_await next(req, res);
  };
}

http::Middleware shed(std::shared_ptr<Shedder> shedder) {
  static auto shed_total = metrics::Registry::global().counter(
      {.name = "svckit_resilience_shed_total", .help = "Requests dropped by the load shedder."});
  return [shedder](http::Request& req, http::Response& res, http::Next next) -> Task<void> {
    auto promise = shedder->allow();
    if (!promise) {
      shed_total.inc();
      refuse(res, promise.error());
      co_return;
    }
    co_await next(req, res);
    if (res.status < 500)
      promise->pass();
    else
      promise->fail();
  };
}

}  // namespace middleware

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
