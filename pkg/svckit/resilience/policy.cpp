#include "svckit/resilience/policy.hpp"

#include <charconv>
#include <mutex>
#include <unordered_map>

#include "svckit/config/units.hpp"
#include "svckit/log/logger.hpp"
#include "svckit/metrics/metrics.hpp"
#include "svckit/resilience/observed.hpp"
#include "svckit/resilience/rules.hpp"

namespace svckit::resilience {

namespace {

// Applies key=value to a policy; the error names what was wrong.
Status apply(CallPolicy& p, const std::string& key, const std::string& value) {
  auto number = [&](double lo, double hi) -> Result<double> {
    double v = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || end != value.data() + value.size() || v < lo || v > hi)
      return make_error(Code::kInvalidArgument,
                        key + " must be a number in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return v;
  };
  auto duration = [&](bool zero_ok) -> Result<std::chrono::nanoseconds> {
    auto d = config::parse_duration(value);
    if (!d) return make_error(Code::kInvalidArgument, key + ": " + std::string(d.error().message()));
    if (*d < std::chrono::nanoseconds(0) || (!zero_ok && *d == std::chrono::nanoseconds(0)))
      return make_error(Code::kInvalidArgument, key + " must be " + (zero_ok ? "≥ 0" : "> 0"));
    return *d;
  };
#define SVCKIT_SET(field, expr)                   \
  do {                                            \
    auto v = (expr);                              \
    if (!v) return v.error();                     \
    p.field = static_cast<decltype(p.field)>(*v); \
  } while (0)
  if (key == "timeout")
    SVCKIT_SET(timeout, duration(true));
  else if (key == "attempt_timeout")
    SVCKIT_SET(attempt_timeout, duration(true));
  else if (key == "breaker") {
    if (value == "gobreaker")
      p.breaker = BreakerKind::kGobreaker;
    else if (value == "adaptive")
      p.breaker = BreakerKind::kAdaptive;
    else if (value == "off" || value == "none")
      p.breaker = BreakerKind::kNone;
    else
      return Status(Code::kInvalidArgument, "breaker must be gobreaker, adaptive or off");
  } else if (key == "failures")
    SVCKIT_SET(failures, number(0, 1e6));
  else if (key == "failure_ratio")
    SVCKIT_SET(failure_ratio, number(0, 1));
  else if (key == "min_requests")
    SVCKIT_SET(min_requests, number(1, 1e6));
  else if (key == "open_for")
    SVCKIT_SET(open_for, duration(false));
  else if (key == "probes")
    SVCKIT_SET(probes, number(1, 1e6));
  else if (key == "interval")
    SVCKIT_SET(interval, duration(true));
  else if (key == "k")
    SVCKIT_SET(k, number(1, 100));
  else if (key == "retries")
    SVCKIT_SET(retries, number(0, 10));
  else if (key == "backoff")
    SVCKIT_SET(backoff, duration(false));
  else if (key == "max_backoff")
    SVCKIT_SET(max_backoff, duration(false));
  else if (key == "retry_budget")
    SVCKIT_SET(retry_budget, number(0, 10));
  else if (key == "max_in_flight")
    SVCKIT_SET(max_in_flight, number(0, 1e7));
  else if (key == "idempotent") {
    if (value != "true" && value != "false") return Status(Code::kInvalidArgument, "idempotent must be true or false");
    p.idempotent = value == "true";
  } else {
    return Status(Code::kInvalidArgument, "unknown key '" + key +
                                              "' (timeout, attempt_timeout, breaker, failures, failure_ratio, "
                                              "min_requests, open_for, probes, interval, k, retries, "
                                              "backoff, max_backoff, retry_budget, idempotent, max_in_flight)");
  }
#undef SVCKIT_SET
  return {};
}

bool sets_guard(const std::vector<std::pair<std::string, std::string>>& settings) {
  for (const auto& [k, v] : settings)
    if (k == "breaker" || k == "failures" || k == "failure_ratio" || k == "min_requests" || k == "open_for" ||
        k == "probes" || k == "interval" || k == "k" || k == "max_in_flight" || k == "retry_budget")
      return true;
  return false;
}

}  // namespace

Result<CallRule> parse_call_rule(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return make_error(Code::kInvalidArgument, "upstream rule '" + std::string(text) + "': " + why);
  };
  auto words = detail::split_words(text);
  if (words.empty()) return bad("empty");
  CallRule r;
  r.upstream = words[0];
  if (r.upstream.find('=') != std::string::npos) return bad("the first word names the upstream");
  std::size_t i = 1;
  for (; i < words.size() && words[i].find('=') == std::string::npos; ++i)
    r.method += (r.method.empty() ? "" : " ") + words[i];
  if (i == words.size()) return bad("expected key=value settings after the name");
  for (; i < words.size(); ++i) {
    auto eq = words[i].find('=');
    if (eq == std::string::npos) return bad("expected key=value, got '" + words[i] + "'");
    std::string key = words[i].substr(0, eq), value = words[i].substr(eq + 1);
    if (Status st = apply(r.policy, key, value); !st.ok()) return bad(std::string(st.message()));
    r.settings.emplace_back(std::move(key), std::move(value));
  }
  if (r.policy.attempt_timeout.count() > 0 && r.policy.timeout.count() > 0 &&
      r.policy.attempt_timeout > r.policy.timeout)
    return bad("attempt_timeout is longer than timeout");
  if (r.policy.max_backoff < r.policy.backoff) return bad("max_backoff is shorter than backoff");
  return r;
}

// ---- CallGuard ----------------------------------------------------------------------------------

namespace detail {
void count_fallback(const std::string& guard) {
  static auto& fallbacks = metrics::Registry::global().counter_vec(
      {.name = "svckit_resilience_fallbacks_total", .help = "Calls answered by a fallback, by guard."}, {"guard"});
  fallbacks.with({guard}).inc();
}
}  // namespace detail

namespace {
metrics::CounterVec& guard_rejections() {
  static auto& c = metrics::Registry::global().counter_vec(
      {.name = "svckit_resilience_call_rejected_total",
       .help = "Outgoing calls refused before they started, by guard and reason."},
      {"guard", "reason"});
  return c;
}
}  // namespace

CallGuard::CallGuard(std::string name, CallPolicy policy, const CallGuard& share)
    : name_(std::move(name)),
      policy_(policy),
      gobreaker_(share.gobreaker_),
      adaptive_(share.adaptive_),
      bulkhead_(share.bulkhead_),
      budget_(share.budget_) {}

CallGuard::CallGuard(std::string name, CallPolicy policy)
    : name_(std::move(name)), policy_(policy), budget_(std::make_shared<RetryBudget>(policy.retry_budget)) {
  if (policy_.breaker == BreakerKind::kGobreaker) {
    BreakerSettings s;
    s.name = name_;
    s.max_requests = policy_.probes;
    s.interval = policy_.interval;
    s.timeout = policy_.open_for;
    if (s.interval.count() > 0) s.bucket_period = s.interval / 10;  // a rolling window, not a reset
    std::uint32_t failures = policy_.failures, min_requests = policy_.min_requests;
    double ratio = policy_.failure_ratio;
    if (ratio > 0)
      s.ready_to_trip = [ratio, min_requests](const Counts& c) {
        return c.requests >= min_requests && static_cast<double>(c.total_failures) > ratio * c.requests;
      };
    else
      s.ready_to_trip = [failures](const Counts& c) { return c.consecutive_failures > failures; };
    // The caller's own deadline or cancellation says nothing about the upstream's health.
    s.is_excluded = [](const Status& st) { return st.code() == Code::kCancelled; };
    gobreaker_ = observed_breaker(std::move(s));
  } else if (policy_.breaker == BreakerKind::kAdaptive) {
    AdaptiveSettings s;
    s.name = name_;
    s.k = policy_.k;
    adaptive_ = std::make_shared<AdaptiveBreaker>(s);
  }
  if (policy_.max_in_flight > 0) bulkhead_ = std::make_shared<Bulkhead>(policy_.max_in_flight);
}

Result<CallGuard::Admission> CallGuard::admit() {
  if (gobreaker_) {
    auto t = gobreaker_->allow();
    if (!t) {
      guard_rejections().with({name_, "breaker"}).inc();
      return std::unexpected(t.error());
    }
    return Admission{t->generation};
  }
  if (adaptive_) {
    auto t = adaptive_->allow();
    if (!t) {
      guard_rejections().with({name_, "adaptive"}).inc();
      return std::unexpected(t.error());
    }
  }
  return Admission{};
}

void CallGuard::record(Admission a, const Status& result) {
  if (gobreaker_) gobreaker_->done(CircuitBreaker::Ticket{a.generation}, result);
  if (adaptive_ && result.code() != Code::kCancelled) adaptive_->done({}, result.ok());
}

Result<Bulkhead::Permit> CallGuard::enter() {
  if (!bulkhead_) return Bulkhead::Permit();
  auto p = bulkhead_->try_acquire();
  if (!p) guard_rejections().with({name_, "bulkhead"}).inc();
  return p;
}

// ---- Upstreams ----------------------------------------------------------------------------------

struct Upstreams::Table {
  std::mutex mu;
  std::unordered_map<std::string, CallRule> upstream_rules;  // by upstream
  std::unordered_map<std::string, CallRule> method_rules;    // by "upstream method"
  std::vector<std::unique_ptr<CallGuard>> owned;
  std::unordered_map<std::string, CallGuard*> guards;  // by "upstream" or "upstream method"
};

Result<Upstreams> Upstreams::parse(const std::vector<std::string>& rules) {
  std::vector<CallRule> parsed;
  for (const auto& text : rules) {
    auto r = parse_call_rule(text);
    if (!r) return std::unexpected(r.error());
    parsed.push_back(std::move(*r));
  }
  return Upstreams(std::move(parsed));
}

Upstreams::Upstreams(std::vector<CallRule> rules) : table_(std::make_shared<Table>()) {
  for (auto& r : rules) {
    if (r.method.empty())
      table_->upstream_rules[r.upstream] = std::move(r);
    else
      table_->method_rules[r.upstream + " " + r.method] = std::move(r);
  }
}

CallGuard& Upstreams::get(std::string_view upstream, std::string_view method) {
  if (!table_) table_ = std::make_shared<Table>();
  auto& t = *table_;
  std::string up(upstream);
  std::string key = method.empty() ? up : up + " " + std::string(method);
  std::lock_guard lock(t.mu);
  if (auto it = t.guards.find(key); it != t.guards.end()) return *it->second;
  auto upstream_guard = [&]() -> CallGuard& {
    auto it = t.guards.find(up);
    if (it != t.guards.end()) return *it->second;
    auto rit = t.upstream_rules.find(up);
    CallPolicy base = rit != t.upstream_rules.end() ? rit->second.policy : CallPolicy{};
    t.owned.push_back(std::make_unique<CallGuard>(up, base));
    return *t.guards.emplace(up, t.owned.back().get()).first->second;
  };
  CallGuard& parent = upstream_guard();
  if (method.empty()) return parent;
  auto mit = t.method_rules.find(key);
  if (mit == t.method_rules.end()) return *t.guards.emplace(key, &parent).first->second;
  // The method's rule applied over its upstream's policy: it overrides only the keys it sets.
  CallPolicy p = parent.policy();
  for (const auto& [k, v] : mit->second.settings) (void)apply(p, k, v);  // validated by parse_call_rule
  // Its own breaker, bulkhead and budget only when its rule configures them; otherwise the upstream's.
  if (sets_guard(mit->second.settings))
    t.owned.push_back(std::make_unique<CallGuard>(key, p));
  else
    t.owned.push_back(std::make_unique<CallGuard>(key, p, parent));
  return *t.guards.emplace(key, t.owned.back().get()).first->second;
}

}  // namespace svckit::resilience
