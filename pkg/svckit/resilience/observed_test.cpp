// guarded(): both callable forms through an observed breaker, the fallback, and the breaker's metrics.
#include "svckit/resilience/observed.hpp"

#include <gtest/gtest.h>

#include "svckit/core/runtime.hpp"
#include "svckit/metrics/metrics.hpp"

using namespace std::chrono_literals;

namespace svckit::resilience {
namespace {

TEST(Guarded, RunsStatusAndResultCallablesThroughTheBreakerAndFallsBack) {
  Runtime rt({.workers = 1});
  auto cb = observed_breaker({.name = "guarded-test", .timeout = 1h, .ready_to_trip = [](const Counts& c) {
                                return c.consecutive_failures >= 2;
                              }});
  int calls = 0;
  auto down = [&](const Context&) -> Task<Status> {
    ++calls;
    co_return Status(Code::kUnavailable, "down");
  };
  for (int i = 0; i < 2; ++i) {
    Status st = rt.block_on(guarded(Context(), *cb, down));
    EXPECT_EQ(st.code(), Code::kUnavailable);
  }
  EXPECT_EQ(cb->state(), State::kOpen);
  Status refused = rt.block_on(guarded(Context(), *cb, down));
  EXPECT_EQ(refused.reason(), "CIRCUIT_OPEN") << refused.to_string();
  EXPECT_EQ(calls, 2);  // the open breaker did not call it

  auto answer = [&](const Context&) -> Task<Result<int>> {
    ++calls;
    co_return 42;
  };
  Result<int> plain = rt.block_on(guarded(Context(), *cb, answer));
  ASSERT_FALSE(plain);
  EXPECT_EQ(plain.error().reason(), "CIRCUIT_OPEN");
  Result<int> degraded = rt.block_on(guarded(Context(), *cb, answer, [](const Status&) -> Result<int> { return -1; }));
  ASSERT_TRUE(degraded);
  EXPECT_EQ(*degraded, -1);
  EXPECT_EQ(calls, 2);
  std::string m = metrics::Registry::global().render();
  EXPECT_NE(m.find(R"(svckit_resilience_breaker_state{breaker="guarded-test"} 2)"), std::string::npos) << m;
  EXPECT_NE(m.find(R"(svckit_resilience_breaker_transitions_total{breaker="guarded-test",to="open"} 1)"),
            std::string::npos)
      << m;
}

}  // namespace
}  // namespace svckit::resilience
