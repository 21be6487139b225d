// Every state machine with a manual clock: breaker transitions, half-open probe limits, generations,
// windows, the adaptive formula, limiters (token bucket, sliding window, warm-up curve, pacing,
// bulkhead), retry decisions and budgets, the shedder (the HTTP middleware: resilience_http).
#include <gtest/gtest.h>

#include <thread>

#include "svckit/resilience/breaker.hpp"
#include "svckit/resilience/limiter.hpp"
#include "svckit/resilience/retry.hpp"
#include "svckit/resilience/shedder.hpp"

using namespace std::chrono_literals;

namespace svckit::resilience {
namespace {

struct ManualClock {
  TimePoint t = TimePoint(std::chrono::hours(10));
  NowFn fn() {
    return [this] { return t; };
  }
  void advance(std::chrono::nanoseconds d) { t += d; }
};

const Status kFail(Code::kUnavailable, "boom");

TEST(CircuitBreaker, TripsOpensProbesHalfOpenAndCloses) {
  ManualClock clock;
  std::vector<std::pair<State, State>> changes;
  CircuitBreaker cb({.name = "db",
                     .max_requests = 2,
                     .timeout = 30s,
                     .on_state_change =
                         [&](const std::string&, State a, State b) {
                           changes.push_back({a, b});
                         },
                     .now = clock.fn()});
  for (int i = 0; i < 5; ++i) cb.done(*cb.allow(), kFail);
  EXPECT_EQ(cb.state(), State::kClosed);  // default: trips after more than 5 consecutive failures
  cb.done(*cb.allow(), Status());         // a success resets the run
  EXPECT_EQ(cb.counts().consecutive_failures, 0u);
  for (int i = 0; i < 6; ++i) cb.done(*cb.allow(), kFail);
  EXPECT_EQ(cb.state(), State::kOpen);
  auto refused = cb.allow();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), Code::kUnavailable);
  EXPECT_EQ(refused.error().reason(), "CIRCUIT_OPEN");
  clock.advance(29s);
  EXPECT_EQ(cb.state(), State::kOpen);
  clock.advance(1s);
  EXPECT_EQ(cb.state(), State::kHalfOpen);
  auto p1 = cb.allow(), p2 = cb.allow(), p3 = cb.allow();
  ASSERT_TRUE(p1 && p2);
  ASSERT_FALSE(p3);
  EXPECT_EQ(p3.error().reason(), "TOO_MANY_REQUESTS");
  cb.done(*p1, Status());
  EXPECT_EQ(cb.state(), State::kHalfOpen);  // needs max_requests consecutive successes
  cb.done(*p2, Status());
  EXPECT_EQ(cb.state(), State::kClosed);
  // Half-open: one failure reopens at once.
  for (int i = 0; i < 6; ++i) cb.done(*cb.allow(), kFail);
  clock.advance(30s);
  cb.done(*cb.allow(), kFail);
  EXPECT_EQ(cb.state(), State::kOpen);
  std::vector<std::pair<State, State>> want = {{State::kClosed, State::kOpen},     {State::kOpen, State::kHalfOpen},
                                               {State::kHalfOpen, State::kClosed}, {State::kClosed, State::kOpen},
                                               {State::kOpen, State::kHalfOpen},   {State::kHalfOpen, State::kOpen}};
  EXPECT_EQ(changes, want);
}

TEST(CircuitBreaker, ResultsFromAnEarlierGenerationAreIgnored) {
  ManualClock clock;
  CircuitBreaker cb({.timeout = 10s, .now = clock.fn()});
  auto slow = cb.allow();  // generation 1, closed
  for (int i = 0; i < 6; ++i) cb.done(*cb.allow(), kFail);
  ASSERT_EQ(cb.state(), State::kOpen);
  clock.advance(10s);
  ASSERT_EQ(cb.state(), State::kHalfOpen);
  cb.done(*slow, kFail);  // arrives late: must not reopen the breaker
  EXPECT_EQ(cb.state(), State::kHalfOpen);
  EXPECT_EQ(cb.counts().total_failures, 0u);
  cb.done(*cb.allow(), Status());
  EXPECT_EQ(cb.state(), State::kClosed);
}

TEST(CircuitBreaker, IntervalResetsCountsAndTheRollingWindowAgesThemOut) {
  ManualClock clock;
  auto trip_on_5 = [](const Counts& c) { return c.total_failures >= 5; };
  CircuitBreaker fixed({.interval = 10s, .ready_to_trip = trip_on_5, .now = clock.fn()});
  for (int i = 0; i < 4; ++i) fixed.done(*fixed.allow(), kFail);
  clock.advance(10s);
  EXPECT_EQ(fixed.counts().total_failures, 0u);  // a new generation every interval while closed
  for (int i = 0; i < 4; ++i) fixed.done(*fixed.allow(), kFail);
  EXPECT_EQ(fixed.state(), State::kClosed);

  CircuitBreaker rolling({.interval = 10s, .bucket_period = 1s, .ready_to_trip = trip_on_5, .now = clock.fn()});
  for (int i = 0; i < 3; ++i) rolling.done(*rolling.allow(), kFail);
  clock.advance(11s);  // those three aged out
  for (int i = 0; i < 3; ++i) rolling.done(*rolling.allow(), kFail);
  EXPECT_EQ(rolling.state(), State::kClosed);
  EXPECT_EQ(rolling.counts().total_failures, 3u);
  clock.advance(5s);  // still inside the window: 3 + 2 = 5 trips it
  for (int i = 0; i < 2; ++i) rolling.done(*rolling.allow(), kFail);
  EXPECT_EQ(rolling.state(), State::kOpen);
}

TEST(CircuitBreaker, ExcludedAndCustomSuccessfulResults) {
  ManualClock clock;
  CircuitBreaker cb({.max_requests = 1,
                     .timeout = 1s,
                     .is_successful = [](const Status& s) { return s.ok() || s.code() == Code::kNotFound; },
                     .is_excluded = [](const Status& s) { return s.code() == Code::kCancelled; },
                     .now = clock.fn()});
  for (int i = 0; i < 20; ++i) cb.done(*cb.allow(), Status(Code::kNotFound, "no such user"));
  EXPECT_EQ(cb.state(), State::kClosed);
  for (int i = 0; i < 6; ++i) cb.done(*cb.allow(), kFail);
  clock.advance(1s);
  auto probe = cb.allow();
  ASSERT_TRUE(probe);
  cb.done(*probe, Status(Code::kCancelled, "client went away"));  // neither: frees the probe slot
  EXPECT_EQ(cb.state(), State::kHalfOpen);
  EXPECT_TRUE(cb.allow());
  // execute(): the one-step form.
  CircuitBreaker one({.now = clock.fn()});
  auto r = one.execute([]() -> Result<int> { return 7; });
  EXPECT_EQ(*r, 7);
}

// execute() takes both documented forms: a callable returning Result<T> and one returning Status;
// failures of either trip the breaker, and an open breaker answers both without calling them.
TEST(CircuitBreaker, ExecuteTakesResultAndStatusCallables) {
  ManualClock clock;
  CircuitBreaker cb(
      {.timeout = 1s, .ready_to_trip = [](const Counts& c) { return c.consecutive_failures >= 2; }, .now = clock.fn()});
  int calls = 0;
  Status ok = cb.execute([&]() -> Status {
    ++calls;
    return {};
  });
  EXPECT_TRUE(ok.ok());
  for (int i = 0; i < 2; ++i) {
    Status st = cb.execute([&]() -> Status {
      ++calls;
      return Status(Code::kUnavailable, "down");
    });
    EXPECT_EQ(st.code(), Code::kUnavailable);
  }
  EXPECT_EQ(cb.state(), State::kOpen);
  Status refused = cb.execute([&]() -> Status {
    ++calls;
    return {};
  });
  EXPECT_EQ(refused.code(), Code::kUnavailable);
  EXPECT_NE(refused.message().find("open"), std::string_view::npos) << refused.to_string();
  Result<int> refused_result = cb.execute([&]() -> Result<int> {
    ++calls;
    return 1;
  });
  ASSERT_FALSE(refused_result);
  EXPECT_EQ(calls, 3);  // the open breaker called neither
  clock.advance(1s);
  Result<int> probe = cb.execute([&]() -> Result<int> {
    ++calls;
    return 5;
  });
  ASSERT_TRUE(probe);
  EXPECT_EQ(*probe, 5);
  EXPECT_EQ(cb.state(), State::kClosed);
}

TEST(AdaptiveBreaker, RejectsWithTheSreProbabilityAndDoesNotCountItsOwnRejections) {
  ManualClock clock;
  double next_random = 1.0;  // never below p while the history is recorded
  AdaptiveBreaker ab({.k = 1.5, .window = 10s, .buckets = 10, .min_requests = 10, .now = clock.fn(), .random = [&] {
                        return next_random;
                      }});
  for (int i = 0; i < 100; ++i) ab.done(*ab.allow(), i < 50);
  double p = ab.reject_probability();
  EXPECT_NEAR(p, (100 - 1.5 * 50) / 101.0, 1e-9);
  next_random = p - 0.01;  // below p: dropped
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(ab.allow());
  EXPECT_EQ(ab.dropped(), 1000u);
  EXPECT_NEAR(ab.reject_probability(), p, 1e-9) << "rejections must not feed the rate";
  next_random = p + 0.01;
  EXPECT_TRUE(ab.allow());
  clock.advance(11s);  // the window moved on
  EXPECT_EQ(ab.reject_probability(), 0);
  for (int i = 0; i < 100; ++i) ab.done(*ab.allow(), true);
  EXPECT_EQ(ab.reject_probability(), 0);
}

TEST(Limiters, TokenBucketAndSlidingWindow) {
  ManualClock clock;
  TokenBucket tb(10, 5, clock.fn());
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(tb.try_acquire().ok());
  Status no = tb.try_acquire();
  EXPECT_EQ(no.code(), Code::kResourceExhausted);
  EXPECT_EQ(no.reason(), "RATE_LIMITED");
  EXPECT_EQ(no.metadata_value("retry_after_ms"), "100");
  clock.advance(100ms);
  EXPECT_TRUE(tb.try_acquire().ok());
  EXPECT_FALSE(tb.try_acquire().ok());

  SlidingWindow sw(10, 1s, 10, clock.fn());
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(sw.try_acquire().ok());
  EXPECT_FALSE(sw.try_acquire().ok());
  clock.advance(500ms);
  EXPECT_FALSE(sw.try_acquire().ok());  // the ten are still inside the last second
  clock.advance(600ms);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(sw.try_acquire().ok()) << i;
}

TEST(Limiters, WarmUpStartsAtAThirdAndRampsUpUnderLoad) {
  ManualClock clock;
  WarmUp w(30, 10s, 3.0, clock.fn());
  EXPECT_NEAR(w.current_limit(), 10.0, 0.5);  // cold: rate / cold_factor
  // Serve as much as allowed, second after second: the allowed rate climbs to 30 within ~2 warm-ups.
  std::vector<int> per_second;
  for (int s = 0; s < 30; ++s) {
    int passed = 0;
    for (int i = 0; i < 100; ++i) passed += w.try_acquire().ok();
    per_second.push_back(passed);
    clock.advance(1s);
  }
  EXPECT_LE(per_second.front(), 11);
  EXPECT_EQ(per_second.back(), 30);
  for (std::size_t i = 1; i < per_second.size(); ++i)
    EXPECT_GE(per_second[i] + 1, per_second[i - 1]) << "monotone ramp";
  clock.advance(120s);  // idle: cold again
  EXPECT_NEAR(w.current_limit(), 10.0, 0.5);
}

TEST(Limiters, PacerSpacesRequestsAndRefusesBeyondTheQueueBound) {
  ManualClock clock;
  Pacer p(10, 250ms, clock.fn());
  EXPECT_EQ(*p.reserve(), 0ns);
  EXPECT_EQ(*p.reserve(), 100ms);
  EXPECT_EQ(*p.reserve(), 200ms);
  auto no = p.reserve();  // would wait 300 ms
  ASSERT_FALSE(no);
  EXPECT_EQ(no.error().reason(), "RATE_LIMITED");
  clock.advance(1s);
  EXPECT_EQ(*p.reserve(), 0ns);
}

TEST(Limiters, BulkheadBoundsConcurrency) {
  Bulkhead b(2);
  auto p1 = b.try_acquire();
  auto p2 = b.try_acquire();
  ASSERT_TRUE(p1 && p2);
  auto p3 = b.try_acquire();
  ASSERT_FALSE(p3);
  EXPECT_EQ(p3.error().reason(), "CONCURRENCY_LIMITED");
  p1->release();
  EXPECT_TRUE(b.try_acquire());
  EXPECT_EQ(b.in_flight(), 1u);  // the temporary permit above was released too
}

Task<Result<int>> flaky(std::vector<Status>* script, int* calls) {
  Status st = (*script)[std::min<std::size_t>(static_cast<std::size_t>(*calls), script->size() - 1)];
  ++*calls;
  if (!st.ok()) co_return std::unexpected(st);
  co_return 42;
}

TEST(Retry, RetriesOnlyRetryableIdempotentCallsWithinDeadlineAndBudget) {
  Runtime rt({.workers = 1});
  RetryPolicy fast{.max_attempts = 4, .initial_backoff = 1ms, .max_backoff = 2ms};
  auto run = [&](std::vector<Status> script, bool idempotent, RetryBudget* budget, Context ctx, int* calls) {
    *calls = 0;
    return rt.block_on([&]() -> Task<Result<int>> {
      co_return co_await retry(ctx, fast, budget, idempotent, [&](const Context&) { return flaky(&script, calls); });
    }());
  };
  int calls = 0;
  auto ok = run({kFail, kFail, Status()}, true, nullptr, Context(), &calls);
  EXPECT_EQ(*ok, 42);
  EXPECT_EQ(calls, 3);
  auto never = run({kFail}, true, nullptr, Context(), &calls);
  EXPECT_FALSE(never);
  EXPECT_EQ(calls, 4);  // max_attempts
  run({Status(Code::kInvalidArgument, "bad")}, true, nullptr, Context(), &calls);
  EXPECT_EQ(calls, 1);  // not retryable
  run({kFail, Status()}, false, nullptr, Context(), &calls);
  EXPECT_EQ(calls, 1);  // not idempotent
  // Full jitter draws the wait from [0, backoff): with 10 s it fell under the 200 ms left 2 % of the
  // time and the retry was rightly made; with ten hours that is one run in 180,000.
  RetryPolicy slow{.max_attempts = 5, .initial_backoff = 10h, .max_backoff = 10h};
  calls = 0;
  std::vector<Status> script{kFail, Status()};
  auto t0 = std::chrono::steady_clock::now();
  auto late = rt.block_on([&]() -> Task<Result<int>> {
    co_return co_await retry(Context().with_timeout(200ms), slow, nullptr, true,
                             [&](const Context&) { return flaky(&script, &calls); });
  }());
  EXPECT_FALSE(late);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s) << "a retry that cannot finish in time is not started";
  RetryBudget none(0.0, 0.0, 10s);
  run({kFail, Status()}, true, &none, Context(), &calls);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(none.exhausted(), 1u);
}

TEST(Retry, TheBudgetCapsRetriesAtARatioOfCalls) {
  ManualClock clock;
  RetryBudget b(0.2, 0.0, 10s, clock.fn());
  for (int i = 0; i < 100; ++i) b.on_call();
  int allowed = 0;
  for (int i = 0; i < 100; ++i) allowed += b.try_spend();
  EXPECT_EQ(allowed, 20);
  clock.advance(11s);  // calls and retries aged out
  EXPECT_FALSE(b.try_spend());
}

TEST(Shedder, DropsOnlyWhenHotAndOverTheProvenConcurrency) {
  ManualClock clock;
  double cpu = 0.2;
  Shedder s({.cpu_threshold = 0.8, .window = 5s, .buckets = 50, .cool_off = 1s, .now = clock.fn(), .cpu = [&] {
               return cpu;
             }});
  // 100 ms buckets; 4 at a time, each taking 10 ms: 40 passes per bucket with a 10 ms minimum, so the
  // proven concurrency is max_flight = 40 passes × 10 buckets/s × 10 ms / 1000 = 4.
  for (int round = 0; round < 50; ++round) {
    std::vector<Shedder::Promise> batch;
    for (int i = 0; i < 4; ++i) batch.push_back(std::move(*s.allow()));
    clock.advance(10ms);
    for (auto& p : batch) p.pass();
  }
  std::vector<Shedder::Promise> held;
  for (int i = 0; i < 10; ++i) held.push_back(std::move(*s.allow()));  // cool CPU: never sheds
  held.clear();
  cpu = 0.95;
  std::vector<Shedder::Promise> four;
  for (int i = 0; i < 4; ++i) {
    auto p = s.allow();
    ASSERT_TRUE(p) << i;
    four.push_back(std::move(*p));
  }
  auto c = s.allow();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().reason(), "OVERLOADED");
  cpu = 0.1;  // cooled, but within cool_off of a drop: still shedding above max_flight
  EXPECT_FALSE(s.allow());
  clock.advance(1100ms);
  EXPECT_TRUE(s.allow());
  EXPECT_EQ(s.dropped(), 2u);
}

}  // namespace
}  // namespace svckit::resilience
