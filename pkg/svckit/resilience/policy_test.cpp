// Upstream policies from configuration: the keys and their errors, method rules overriding
// their upstream's keys (and sharing its breaker unless they configure their own), and what a call
// through a guard does: timeouts per call and per attempt, retries within deadline and budget, an open
// breaker refusing without retrying, a bulkhead, and fallbacks.
#include "svckit/resilience/policy.hpp"

#include <gtest/gtest.h>

#include "svckit/config/config.hpp"
#include "svckit/metrics/metrics.hpp"
#include "svckit/resilience/settings.hpp"

using namespace std::chrono_literals;

namespace svckit::resilience {
namespace {

// resilience.upstreams as a service's YAML gives it, bound as the App binds it.
Result<std::vector<CallRule>> rules(const std::string& yaml) {
  auto layer = config::parse_yaml("resilience:\n  upstreams:\n" + yaml, "test.yaml");
  if (!layer) return std::unexpected(layer.error());
  config::Snapshot snap;
  snap.values = *layer;
  auto s = config::bind<ResilienceSettings>(snap, "resilience");
  if (!s) return std::unexpected(s.error());
  return s->upstreams;
}

TEST(CallRules, BindKeysMethodsAndErrors) {
  auto r = rules(
      "    - {name: billing, timeout: 2s, attempt_timeout: 500ms, breaker: gobreaker, failures: 3, open_for: 10s,\n"
      "       retries: 2, backoff: 20ms, max_in_flight: 8}\n"
      "    - {name: billing, method: POST /v1/charges, retries: 0, idempotent: false}\n"
      "    - {name: chat, method: /svckit.chat.v1.ChatService/Send, breaker: adaptive, k: 2}\n");
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->size(), 3u);
  const CallRule& b = (*r)[0];
  EXPECT_EQ(b.upstream, "billing");
  EXPECT_EQ(b.method, "");
  EXPECT_EQ(b.policy.timeout, 2s);
  EXPECT_EQ(b.policy.attempt_timeout, 500ms);
  EXPECT_EQ(b.policy.breaker, BreakerKind::kGobreaker);
  EXPECT_EQ(b.policy.failures, 3u);
  EXPECT_EQ(b.policy.open_for, 10s);
  EXPECT_EQ(b.policy.retries, 2);
  EXPECT_EQ(b.policy.backoff, 20ms);
  EXPECT_EQ(b.policy.max_in_flight, 8u);
  EXPECT_EQ((*r)[1].method, "POST /v1/charges");
  EXPECT_FALSE((*r)[1].policy.idempotent);
  EXPECT_EQ((*r)[1].settings, (std::vector<std::string>{"name", "method", "retries", "idempotent"}));
  EXPECT_EQ((*r)[2].method, "/svckit.chat.v1.ChatService/Send");
  EXPECT_EQ((*r)[2].policy.breaker, BreakerKind::kAdaptive);
  EXPECT_EQ((*r)[2].policy.k, 2.0);

  // Each bad item names its key path and line.
  const std::pair<const char*, const char*> bad[] = {
      {"{timeout: 1s}", "upstreams[0].name: required but not set"},
      {"{name: billing, timeout: soon}", "upstreams[0].timeout: invalid duration"},
      {"{name: billing, retries: -1}", "upstreams[0].retries: -1 is outside [0, 10]"},
      {"{name: billing, retries: 99}", "upstreams[0].retries: 99 is outside [0, 10]"},
      {"{name: billing, breaker: sometimes}", "\"sometimes\" is not one of: off, gobreaker, adaptive"},
      {"{name: billing, colour: red}", "upstreams[0].colour: unknown key"},
      {"{name: billing, timeout: 1s, attempt_timeout: 2s}", "attempt_timeout is longer than timeout"},
      {"{name: billing, backoff: 2s, max_backoff: 1s}", "max_backoff is shorter than backoff"},
      {"{name: billing, idempotent: maybe}", "is not a boolean"},
      {"{name: billing, k: 0.5}", "upstreams[0].k: 0.5 is outside"},
      {"{name: billing, open_for: 0s}", "upstreams[0].open_for: 0s is outside"},
  };
  for (const auto& [item, want] : bad) {
    auto e = rules(std::string("    - ") + item + "\n");
    ASSERT_FALSE(e) << item;
    EXPECT_EQ(e.error().code(), Code::kInvalidArgument) << item;
    EXPECT_NE(e.error().message().find(want), std::string_view::npos) << item << ": " << e.error().message();
  }
  auto line = rules("    - {name: a}\n    - {name: b, retries: lots}\n");
  ASSERT_FALSE(line);
  EXPECT_NE(line.error().message().find("test.yaml:4"), std::string_view::npos) << line.error().message();
}

TEST(RouteRules, BindWithDefaultsAndRefuseBadItems) {
  auto bind = [](const std::string& items) {
    auto layer = config::parse_yaml("resilience:\n  routes:\n" + items, "routes.yaml");
    config::Snapshot snap;
    snap.values = *layer;
    return config::bind<ResilienceSettings>(snap, "resilience");
  };
  auto ok = bind(
      "    - {method: GET, route: /v1/users/:id, rate: 100, burst: 200}\n    - {route: /export, max_in_flight: 2}\n");
  ASSERT_TRUE(ok) << ok.error().to_string();
  ASSERT_EQ(ok->routes.size(), 2u);
  EXPECT_EQ(ok->routes[0].method, "GET");
  EXPECT_EQ(ok->routes[0].burst, 200);
  EXPECT_EQ(ok->routes[1].method, "*");
  EXPECT_EQ(ok->routes[1].max_in_flight, 2u);
  const std::pair<const char*, const char*> bad[] = {
      {"{method: get, route: /x, rate: 1}", "routes[0].method: an upper-case HTTP method or *"},
      {"{route: x, rate: 1}", "routes[0].route: must start with /"},
      {"{route: /x}", "set rate or max_in_flight"},
      {"{rate: 1}", "routes[0].route: required but not set"},
      {"{route: /x, rate: -1}", "routes[0].rate: -1 is outside"},
  };
  for (const auto& [item, want] : bad) {
    auto e = bind(std::string("    - ") + item + "\n");
    ASSERT_FALSE(e) << item;
    EXPECT_NE(e.error().message().find(want), std::string_view::npos) << item << ": " << e.error().message();
  }
}

TEST(Upstreams, MethodRulesOverrideTheirUpstreamAndShareItsBreakerUnlessTheyHaveTheirOwn) {
  auto r = rules(
      "    - {name: billing, timeout: 2s, breaker: gobreaker, failures: 1, retries: 2}\n"
      "    - {name: billing, method: POST /v1/charges, retries: 0, idempotent: false}\n"
      "    - {name: billing, method: GET /v1/report, breaker: gobreaker, failures: 9}\n");
  ASSERT_TRUE(r) << r.error().to_string();
  auto ups = std::make_optional<Upstreams>(std::move(*r));
  CallGuard& base = ups->get("billing");
  CallGuard& charge = ups->get("billing", "POST /v1/charges");
  CallGuard& report = ups->get("billing", "GET /v1/report");
  CallGuard& other = ups->get("billing", "GET /v1/invoices");  // no rule: the upstream's guard
  EXPECT_EQ(&other, &base);
  EXPECT_EQ(&ups->get("billing", "POST /v1/charges"), &charge);  // created once
  EXPECT_EQ(charge.policy().timeout, 2s);                        // inherited
  EXPECT_EQ(charge.policy().retries, 0);                         // overridden
  EXPECT_FALSE(charge.policy().idempotent);
  EXPECT_EQ(charge.breaker(), base.breaker());  // shared: failures of charges open billing's breaker
  EXPECT_NE(report.breaker(), base.breaker());  // its own
  EXPECT_EQ(report.policy().failures, 9u);
  CallGuard& unknown = ups->get("search");
  EXPECT_EQ(unknown.breaker(), nullptr);
  EXPECT_EQ(unknown.policy().retries, 0);
}

// fn for CallGuard::call: answers from a script, records each attempt's deadline.
struct Script {
  std::vector<Status> results;
  std::vector<std::optional<Duration>> left;
  std::chrono::milliseconds stall{0};  // each attempt waits this long (or until its Context ends)
  int calls = 0;
  Task<Result<int>> operator()(const Context& ctx) {
    left.push_back(ctx.deadline() ? std::optional<Duration>(ctx.remaining()) : std::nullopt);
    Status st = results[std::min<std::size_t>(static_cast<std::size_t>(calls), results.size() - 1)];
    ++calls;
    if (stall.count() > 0) {
      Status slept = co_await sleep_for(ctx, stall);
      if (!slept.ok()) co_return std::unexpected(Status(Code::kDeadlineExceeded, "stalled"));
    }
    if (!st.ok()) co_return std::unexpected(st);
    co_return 7;
  }
};

class GuardTest : public ::testing::Test {
 protected:
  Result<int> run(CallGuard& g, Script& s, Context ctx = Context()) {
    return rt_.block_on(
        [&]() -> Task<Result<int>> { co_return co_await g.call(ctx, [&](const Context& c) { return s(c); }); }());
  }
  Result<int> run_with_fallback(CallGuard& g, Script& s, Status* why) {
    return rt_.block_on([&]() -> Task<Result<int>> {
      co_return co_await g.call(
          Context(), [&](const Context& c) { return s(c); },
          [&](const Status& reason) -> Result<int> {
            *why = reason;
            return -1;
          });
    }());
  }
  Runtime rt_{{.workers = 1}};
};

const Status kDown(Code::kUnavailable, "down");

TEST_F(GuardTest, RetriesRetryableFailuresOnlyForIdempotentCalls) {
  CallGuard g("retry", {.retries = 3, .backoff = 1ms, .max_backoff = 2ms, .retry_budget = 10});
  Script flaky{.results = {kDown, kDown, Status()}};
  auto r = run(g, flaky);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 7);
  EXPECT_EQ(flaky.calls, 3);
  Script invalid{.results = {Status(Code::kInvalidArgument, "no")}};
  EXPECT_FALSE(run(g, invalid));
  EXPECT_EQ(invalid.calls, 1);  // not retryable
  CallGuard post("post", {.retries = 3, .backoff = 1ms, .idempotent = false});
  Script once{.results = {kDown, Status()}};
  EXPECT_FALSE(run(post, once));
  EXPECT_EQ(once.calls, 1);
  CallGuard none("none", {});
  Script twice{.results = {kDown, Status()}};
  EXPECT_FALSE(run(none, twice));
  EXPECT_EQ(twice.calls, 1);  // retries default to 0
}

TEST_F(GuardTest, TimeoutsBoundTheCallAndEachAttempt) {
  // timeout=1s for the call; each attempt gets 100ms; attempts stall 5s → several cut attempts, then
  // the call's own deadline.
  CallGuard g(
      "slow",
      {.timeout = 1s, .attempt_timeout = 100ms, .retries = 20, .backoff = 1ms, .max_backoff = 1ms, .retry_budget = 10});
  Script stall{.results = {Status()}, .stall = 5s};
  auto t0 = std::chrono::steady_clock::now();
  auto r = run(g, stall);
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kDeadlineExceeded);
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 4s);
  EXPECT_GE(stall.calls, 2);  // an attempt cut by its own timeout is retried while the call has time
  EXPECT_LE(stall.calls, 11);
  for (auto& left : stall.left) {
    ASSERT_TRUE(left);
    EXPECT_LE(*left, 100ms);
  }
  // The caller's shorter deadline wins over the policy's.
  Script quick{.results = {Status()}};
  run(g, quick, Context().with_timeout(50ms));
  ASSERT_TRUE(quick.left[0]);
  EXPECT_LE(*quick.left[0], 50ms);
  // Work whose deadline has passed is not started.
  Script never{.results = {Status()}};
  Context expired = Context().with_timeout(1ms);
  std::this_thread::sleep_for(5ms);
  auto late = run(g, never, expired);
  EXPECT_FALSE(late);
  EXPECT_EQ(never.calls, 0);
}

TEST_F(GuardTest, AnOpenBreakerRefusesWithoutRetryingAndTheFallbackAnswers) {
  CallGuard g("flaky-dep", {.breaker = BreakerKind::kGobreaker,
                            .failures = 2,
                            .open_for = 60s,
                            .retries = 3,
                            .backoff = 1ms,
                            .max_backoff = 1ms,
                            .retry_budget = 10});
  Script down{.results = {kDown}};
  EXPECT_FALSE(run(g, down));  // 4 attempts: the 3rd consecutive failure trips it, the 4th is refused
  EXPECT_EQ(down.calls, 3);
  EXPECT_EQ(g.breaker()->state(), State::kOpen);
  Script unused{.results = {Status()}};
  auto refused = run(g, unused);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().reason(), "CIRCUIT_OPEN");
  EXPECT_EQ(unused.calls, 0);
  Status why;
  auto degraded = run_with_fallback(g, unused, &why);
  ASSERT_TRUE(degraded);
  EXPECT_EQ(*degraded, -1);
  EXPECT_EQ(why.reason(), "CIRCUIT_OPEN");
  std::string m = metrics::Registry::global().render();
  EXPECT_NE(m.find(R"(svckit_resilience_call_rejected_total{guard="flaky-dep",reason="breaker"} 3)"), std::string::npos)
      << m;
  EXPECT_NE(m.find(R"(svckit_resilience_fallbacks_total{guard="flaky-dep"} 1)"), std::string::npos);
  EXPECT_NE(m.find(R"(svckit_resilience_breaker_state{breaker="flaky-dep"} 2)"), std::string::npos);
}

TEST_F(GuardTest, TheFallbackAlsoAnswersFailuresAfterRetries) {
  CallGuard g("fb", {.retries = 1, .backoff = 1ms, .max_backoff = 1ms, .retry_budget = 10});
  Script down{.results = {kDown}};
  Status why;
  auto r = run_with_fallback(g, down, &why);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, -1);
  EXPECT_EQ(down.calls, 2);
  EXPECT_EQ(why.code(), Code::kUnavailable);
}

TEST_F(GuardTest, TheBudgetStopsRetriesFromMultiplyingAnOutage) {
  CallGuard g("budget", {.retries = 3, .backoff = 1ms, .max_backoff = 1ms, .retry_budget = 0});
  // The budget's floor is 1 retry/s over 10 s: 10 retries in all, then none.
  int total = 0;
  for (int i = 0; i < 20; ++i) {
    Script down{.results = {kDown}};
    run(g, down);
    total += down.calls;
  }
  EXPECT_EQ(total, 20 + 10);
  EXPECT_GT(g.budget().exhausted(), 0u);
}

TEST_F(GuardTest, TheBulkheadBoundsCallsInFlight) {
  CallGuard g("bulk", {.max_in_flight = 1});
  auto held = g.enter();
  ASSERT_TRUE(held);
  Script s{.results = {Status()}};
  auto r = run(g, s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kResourceExhausted);
  EXPECT_EQ(s.calls, 0);
  held->release();
  EXPECT_TRUE(run(g, s));
}

TEST_F(GuardTest, TheAdaptiveBreakerThrottlesAFailingUpstream) {
  CallGuard g("sre", {.breaker = BreakerKind::kAdaptive, .k = 1.5});
  Script down{.results = {kDown}};
  int refused = 0;
  for (int i = 0; i < 400; ++i) {
    auto r = run(g, down);
    if (!r && r.error().reason() == "THROTTLED") ++refused;
  }
  // Every call fails: the adaptive breaker lets through only enough to keep measuring.
  EXPECT_GT(refused, 200);
  EXPECT_LT(down.calls, 200);
}

}  // namespace
}  // namespace svckit::resilience
