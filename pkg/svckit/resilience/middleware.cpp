#include "svckit/resilience/middleware.hpp"

#include <cctype>
#include <cstdlib>
#include <unordered_map>

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

Result<RouteRule> parse_route_rule(std::string_view text) {
  auto bad = [&](std::string why) {
    return make_error(Code::kInvalidArgument, "route rule '" + std::string(text) + "': " + why);
  };
  std::vector<std::string> words = detail::split_words(text);
  if (words.size() < 3) return bad("expected METHOD /route key=value...");
  RouteRule r{words[0], words[1]};
  for (char& c : r.method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (r.route.empty() || r.route[0] != '/') return bad("the route must start with /");
  for (std::size_t k = 2; k < words.size(); ++k) {
    auto eq = words[k].find('=');
    if (eq == std::string::npos) return bad("expected key=value, got '" + words[k] + "'");
    std::string key = words[k].substr(0, eq), value = words[k].substr(eq + 1);
    char* end = nullptr;
    double v = std::strtod(value.c_str(), &end);
    if (end == value.c_str() || *end || v <= 0) return bad(key + " must be a positive number");
    if (key == "rate")
      r.rate = v;
    else if (key == "burst")
      r.burst = v;
    else if (key == "max_in_flight")
      r.max_in_flight = static_cast<std::size_t>(v);
    else
      return bad("unknown key '" + key + "' (rate, burst, max_in_flight)");
  }
  if (r.rate == 0 && r.max_in_flight == 0) return bad("set rate or max_in_flight");
  if (r.burst == 0) r.burst = std::max(1.0, r.rate);
  return r;
}

http::Middleware route_limits(const std::vector<RouteRule>& rules) {
  struct Guard {
    std::shared_ptr<TokenBucket> bucket;
    std::shared_ptr<Bulkhead> bulkhead;
  };
  auto table = std::make_shared<std::unordered_map<std::string, Guard>>();
  for (const auto& r : rules) {
    Guard g;
    if (r.rate > 0) g.bucket = std::make_shared<TokenBucket>(r.rate, r.burst);
    if (r.max_in_flight > 0) g.bulkhead = std::make_shared<Bulkhead>(r.max_in_flight);
    (*table)[r.method + " " + r.route] = std::move(g);
  }
  auto limited = rejected().with({"route_limit"});
  return [table, limited](http::Request& req, http::Response& res, http::Next next) -> Task<void> {
    if (!req.route().empty()) {
      std::string key = std::string(req.method_text()) + " " + std::string(req.route());
      auto it = table->find(key);
      if (it == table->end()) it = table->find("* " + std::string(req.route()));
      if (it != table->end()) {
        if (it->second.bucket) {
          if (Status st = it->second.bucket->try_acquire(); !st.ok()) {
            limited.inc();
            refuse(res, st);
            co_return;
          }
        }
        if (it->second.bulkhead) {
          auto permit = it->second.bulkhead->try_acquire();
          if (!permit) {
            limited.inc();
            refuse(res, permit.error());
            co_return;
          }
          co_await next(req, res);
          co_return;
        }
      }
    }
    co_await next(req, res);
  };
}

std::vector<std::string> detail::split_words(std::string_view text) {
  std::vector<std::string> words;
  for (std::size_t i = 0; i < text.size();) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    std::size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\t') ++j;
    if (j > i) words.emplace_back(text.substr(i, j - i));
    i = j;
  }
  return words;
}

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
