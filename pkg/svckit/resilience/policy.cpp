#include "svckit/resilience/policy.hpp"

#include <mutex>
#include <unordered_map>

#include "svckit/config/config.hpp"
#include "svckit/log/logger.hpp"
#include "svckit/metrics/metrics.hpp"
#include "svckit/resilience/observed.hpp"

namespace svckit::resilience {

namespace {

using std::chrono::nanoseconds;
using namespace std::chrono_literals;

// Keys that give a method its own breaker, bulkhead and budget instead of sharing its upstream's.
bool sets_guard(const std::vector<std::string>& keys) {
  for (const auto& k : keys)
    if (k == "breaker" || k == "failures" || k == "failure_ratio" || k == "min_requests" || k == "open_for" ||
        k == "probes" || k == "interval" || k == "k" || k == "max_in_flight" || k == "retry_budget")
      return true;
  return false;
}

}  // namespace

void CallPolicy::describe(config::Binder<CallPolicy>& b) {
  b.field("timeout", &CallPolicy::timeout).range(0ns, 24h).doc("the whole call, retries included; 0: the caller's");
  b.field("attempt_timeout", &CallPolicy::attempt_timeout).range(0ns, 24h).doc("each attempt; 0: none of its own");
  b.field("breaker", &CallPolicy::breaker).doc("off, gobreaker or adaptive");
  b.field("failures", &CallPolicy::failures).range(0, 1000000).doc("gobreaker: trips after more consecutive failures");
  b.field("failure_ratio", &CallPolicy::failure_ratio).range(0.0, 1.0).doc("gobreaker: trips on this share instead");
  b.field("min_requests", &CallPolicy::min_requests)
      .range(1, 1000000)
      .doc("gobreaker: calls before failure_ratio counts");
  b.field("open_for", &CallPolicy::open_for).range(1ms, 24h).doc("gobreaker: open before half-open");
  b.field("probes", &CallPolicy::probes).range(1, 1000000).doc("gobreaker: calls allowed half-open");
  b.field("interval", &CallPolicy::interval).range(0ns, 24h).doc("gobreaker: the counting window; 0: until a trip");
  b.field("k", &CallPolicy::k).range(1.0, 100.0).doc("adaptive: Google SRE's throttling constant");
  b.field("retries", &CallPolicy::retries).range(0, 10).doc("attempts after the first");
  b.field("backoff", &CallPolicy::backoff).range(1ns, 1h).doc("first retry's wait (full jitter, doubling)");
  b.field("max_backoff", &CallPolicy::max_backoff).range(1ns, 1h);
  b.field("retry_budget", &CallPolicy::retry_budget).range(0.0, 10.0).doc("retries ≤ this share of calls over 10 s");
  b.field("idempotent", &CallPolicy::idempotent).doc("false: never retried");
  b.field("max_in_flight", &CallPolicy::max_in_flight).range(0, 10000000).doc("a bulkhead; 0: none");
  b.validate([](const CallPolicy& p) -> Status {
    if (p.attempt_timeout.count() > 0 && p.timeout.count() > 0 && p.attempt_timeout > p.timeout)
      return Status(Code::kInvalidArgument, "attempt_timeout is longer than timeout");
    if (p.max_backoff < p.backoff) return Status(Code::kInvalidArgument, "max_backoff is shorter than backoff");
    return {};
  });
}

void CallRule::describe(config::Binder<CallRule>& b) {
  b.field("name", &CallRule::upstream).required().non_empty().doc("the upstream");
  b.field("method", &CallRule::method).doc("\"POST /v1/charges\" or a gRPC method; empty: the whole upstream");
  b.section("", &CallRule::policy);
  b.keys_set(&CallRule::settings);
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
  CallPolicy p = config::overlay(parent.policy(), mit->second.policy, mit->second.settings);
  // Its own breaker, bulkhead and budget only when its rule configures them; otherwise the upstream's.
  if (sets_guard(mit->second.settings))
    t.owned.push_back(std::make_unique<CallGuard>(key, p));
  else
    t.owned.push_back(std::make_unique<CallGuard>(key, p, parent));
  return *t.guards.emplace(key, t.owned.back().get()).first->second;
}

}  // namespace svckit::resilience
