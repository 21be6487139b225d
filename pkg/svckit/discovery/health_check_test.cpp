#include "svckit/discovery/health_check.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "svckit/discovery/static_registry.hpp"
#include "svckit/testing/discovery_seen.hpp"

using namespace std::chrono_literals;

namespace svckit::discovery {
namespace {

Instance inst(std::string id, int port) {
  Instance i;
  i.id = std::move(id);
  i.name = "user-svc";
  i.endpoints = {"http://127.0.0.1:" + std::to_string(port)};
  return i;
}

// A probe the test steers: the ids in `down` fail, the others pass; every probe is counted.
struct Steered {
  std::mutex mu;
  std::set<std::string> down;
  std::atomic<int> probes{0};
  void set_down(std::set<std::string> ids) {
    std::lock_guard lock(mu);
    down = std::move(ids);
  }
  Probe probe() {
    return [this](const Context&, const Instance& i) -> Task<Status> {
      ++probes;
      bool failing;
      {
        std::lock_guard lock(mu);
        failing = down.count(i.id) > 0;
      }
      co_return failing ? Status(Code::kUnavailable, "down") : Status();
    };
  }
};

using Ids = testkit::Seen::Ids;

class HealthCheckTest : public ::testing::Test {
 protected:
  Runtime rt{RuntimeOptions{.workers = 1}};
  std::shared_ptr<StaticRegistry> registry = std::make_shared<StaticRegistry>();
  Steered steered;
  HealthCheckOptions options{.interval = 50ms, .timeout = 40ms, .unhealthy_threshold = 2, .healthy_threshold = 3};
};

TEST_F(HealthCheckTest, FailingInstancesLeaveTheWatchedSetAndComeBackAfterEnoughPasses) {
  ASSERT_TRUE(registry->add(inst("a", 8001)).ok());
  ASSERT_TRUE(registry->add(inst("b", 8002)).ok());
  auto checker = HealthChecker::wrap(rt, registry, options, steered.probe());
  testkit::Seen seen;
  auto w = checker->watch("user-svc", [&](const std::vector<Instance>& set) { seen.add(set); });
  ASSERT_TRUE(seen.wait_for([](const Ids& s) { return s == Ids{"a", "b"}; }, 2s));  // healthy until probed

  steered.set_down({"b"});
  ASSERT_TRUE(seen.wait_for([](const Ids& s) { return s == Ids{"a"}; }, 5s)) << "b was never taken out";
  auto h = checker->health("user-svc");
  ASSERT_EQ(h.size(), 2u);
  EXPECT_TRUE(h[0].healthy);
  EXPECT_FALSE(h[1].healthy);
  EXPECT_GE(h[1].failures, 2);
  EXPECT_NE(h[1].last_error.find("down"), std::string::npos);
  auto listed = rt.block_on(checker->instances(Context(), "user-svc"));
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->size(), 1u);

  // Back only after healthy_threshold passes in a row, not on the first one.
  steered.set_down({});
  auto back_from = std::chrono::steady_clock::now();
  ASSERT_TRUE(seen.wait_for([](const Ids& s) { return s == Ids{"a", "b"}; }, 5s)) << "b never came back";
  EXPECT_GE(std::chrono::steady_clock::now() - back_from, 2 * options.interval * 9 / 10);
  auto st = checker->stats();
  EXPECT_EQ(st.marked_unhealthy, 1u);
  EXPECT_EQ(st.marked_healthy, 1u);
  EXPECT_GE(st.probe_failures, 2u);
}

TEST_F(HealthCheckTest, ChangesOfTheRegistryStillArriveAsWholeSets) {
  ASSERT_TRUE(registry->add(inst("a", 8001)).ok());
  auto checker = HealthChecker::wrap(rt, registry, options, steered.probe());
  testkit::Seen seen;
  auto w = checker->watch("user-svc", [&](const std::vector<Instance>& set) { seen.add(set); });
  ASSERT_TRUE(seen.wait_for([](const Ids& s) { return s == Ids{"a"}; }, 2s));
  ASSERT_TRUE(registry->add(inst("c", 8003)).ok());
  ASSERT_TRUE(seen.wait_for([](const Ids& s) { return s == Ids{"a", "c"}; }, 2s));
  registry->remove("user-svc", "a");
  ASSERT_TRUE(seen.wait_for([](const Ids& s) { return s == Ids{"c"}; }, 2s));
  EXPECT_EQ(checker->health("user-svc").size(), 1u);  // a's state went with it
}

TEST_F(HealthCheckTest, WhenNoneIsHealthyWatchersGetEveryInstanceRatherThanNone) {
  ASSERT_TRUE(registry->add(inst("a", 8001)).ok());
  ASSERT_TRUE(registry->add(inst("b", 8002)).ok());
  steered.set_down({"a"});
  auto checker = HealthChecker::wrap(rt, registry, options, steered.probe());
  testkit::Seen seen;
  auto w = checker->watch("user-svc", [&](const std::vector<Instance>& set) { seen.add(set); });
  ASSERT_TRUE(seen.wait_for([](const Ids& s) { return s == Ids{"b"}; }, 5s));
  steered.set_down({"a", "b"});
  // b goes unhealthy too: the set is both again (panic), never empty.
  ASSERT_TRUE(seen.wait_for([](const Ids& s) { return s == Ids{"a", "b"}; }, 5s));
  for (auto& h : checker->health("user-svc")) EXPECT_FALSE(h.healthy) << h.id;
  std::lock_guard lock(seen.mu);
  for (const auto& s : seen.sets) EXPECT_FALSE(s.empty());
}

TEST_F(HealthCheckTest, WatchersShareOneProbingLoopThatEndsWithTheLastOne) {
  ASSERT_TRUE(registry->add(inst("a", 8001)).ok());
  auto checker = HealthChecker::wrap(rt, registry, options, steered.probe());
  testkit::Seen one, two;
  auto w1 = checker->watch("user-svc", [&](const std::vector<Instance>& set) { one.add(set); });
  auto w2 = checker->watch("user-svc", [&](const std::vector<Instance>& set) { two.add(set); });
  ASSERT_TRUE(two.wait_for([](const Ids& s) { return s == Ids{"a"}; }, 2s));  // the current set at once
  std::this_thread::sleep_for(options.interval * 6);
  int probes = steered.probes.load();
  // One loop: about one probe per interval for the one instance, not two.
  EXPECT_LE(probes, 9) << probes;
  EXPECT_GE(probes, 2) << probes;
  w1.reset();
  w2.reset();
  std::this_thread::sleep_for(options.interval * 2);
  int after = steered.probes.load();
  std::this_thread::sleep_for(options.interval * 4);
  EXPECT_EQ(steered.probes.load(), after) << "probing went on with no watcher left";
  EXPECT_TRUE(checker->health("user-svc").empty());
}

TEST_F(HealthCheckTest, AProbeThatOverrunsItsTimeoutCountsAsFailed) {
  ASSERT_TRUE(registry->add(inst("slow", 8001)).ok());
  ASSERT_TRUE(registry->add(inst("fast", 8002)).ok());
  Probe hanging = [](const Context& ctx, const Instance& i) -> Task<Status> {
    Context c = ctx;
    if (i.id == "slow") {
      (void)co_await sleep_for(c, std::chrono::seconds(5));  // woken by the probe's deadline
      co_return Status();                                    // claims success after the deadline: still a failure
    }
    co_return Status();
  };
  auto checker = HealthChecker::wrap(rt, registry, options, hanging);
  testkit::Seen seen;
  auto w = checker->watch("user-svc", [&](const std::vector<Instance>& set) { seen.add(set); });
  ASSERT_TRUE(seen.wait_for([](const Ids& s) { return s == Ids{"fast"}; }, 5s));
  auto h = checker->health("user-svc");
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[1].id, "slow");
  EXPECT_NE(h[1].last_error.find("DEADLINE_EXCEEDED"), std::string::npos) << h[1].last_error;
}

TEST(HealthCheckOptionsTest, ATimeoutLongerThanTheIntervalIsRefused) {
  config::Binder<HealthCheckOptions> b;
  HealthCheckOptions::describe(b);
  HealthCheckOptions o{.interval = 100ms, .timeout = 200ms};
  bool refused = false;
  for (auto& rule : b.validators()) refused |= !rule(o).ok();
  EXPECT_TRUE(refused);
}

}  // namespace
}  // namespace svckit::discovery
