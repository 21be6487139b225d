#include "throttle.hpp"

#include <gtest/gtest.h>

namespace svckit::identity {
namespace {

using namespace std::chrono_literals;
using Clock = LoginThrottle::Clock;

TEST(LoginThrottle, LockoutGrowsWithEachFailureAndASuccessClearsIt) {
  LoginThrottle t(ThrottleSettings{
      .ip_rate = 1000, .ip_burst = 1000, .free_failures = 3, .first_lockout = 1000ms, .max_lockout = 8000ms});
  auto now = Clock::now();
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(t.admit("ann@example.com", "10.0.0.1", now).count(), 0);
    t.failed("ann@example.com", now);
  }
  EXPECT_EQ(t.admit("ann@example.com", "10.0.0.1", now).count(), 0);
  t.failed("ann@example.com", now);                                      // the third: locked for 1 s
  EXPECT_EQ(t.admit("ann@example.com", "10.0.0.2", now).count(), 1000);  // from any address
  EXPECT_EQ(t.admit("bob@example.com", "10.0.0.1", now).count(), 0);     // others are not affected
  now += 1001ms;
  EXPECT_EQ(t.admit("ann@example.com", "10.0.0.1", now).count(), 0);
  t.failed("ann@example.com", now);  // the fourth: 2 s
  EXPECT_EQ(t.admit("ann@example.com", "10.0.0.1", now).count(), 2000);
  for (int i = 0; i < 5; ++i) t.failed("ann@example.com", now);
  EXPECT_EQ(t.admit("ann@example.com", "10.0.0.1", now).count(), 8000);  // capped
  t.succeeded("ann@example.com");
  EXPECT_EQ(t.admit("ann@example.com", "10.0.0.1", now).count(), 0);
}

TEST(LoginThrottle, AnAddressGetsItsBurstThenTheSteadyRate) {
  LoginThrottle t(ThrottleSettings{.ip_rate = 2, .ip_burst = 5});
  auto now = Clock::now();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(t.admit("user" + std::to_string(i), "10.0.0.9", now).count(), 0);
  auto wait = t.admit("another", "10.0.0.9", now);
  EXPECT_EQ(wait.count(), 500);                                // one token at 2/s
  EXPECT_EQ(t.admit("another", "10.0.0.10", now).count(), 0);  // a different address has its own bucket
  now += 500ms;
  EXPECT_EQ(t.admit("another", "10.0.0.9", now).count(), 0);
}

TEST(LoginThrottle, StateIsBounded) {
  LoginThrottle t(ThrottleSettings{.free_failures = 1, .first_lockout = 60000ms, .max_entries = 10});
  auto now = Clock::now();
  t.failed("victim", now);
  EXPECT_GT(t.admit("victim", "a", now).count(), 0);
  // Eleven other names push the oldest out: memory stays bounded at the price of forgetting.
  for (int i = 0; i < 11; ++i) t.failed("filler" + std::to_string(i), now);
  EXPECT_EQ(t.admit("victim", "a", now).count(), 0);
}

}  // namespace
}  // namespace svckit::identity
