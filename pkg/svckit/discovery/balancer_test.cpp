#include "svckit/discovery/balancer.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace svckit::discovery {
namespace {

Instance inst(std::string id, std::uint32_t weight = 100) {
  Instance i;
  i.id = id;
  i.name = "user-svc";
  i.endpoints = {"http://127.0.0.1:" + std::to_string(8000 + id.back())};
  i.weight = weight;
  return i;
}

std::map<std::string, int> shares(Balancer& b, int picks, std::string_view key = {}) {
  std::map<std::string, int> n;
  for (int k = 0; k < picks; ++k) {
    const Instance* i = b.pick({.key = key});
    if (!i) break;
    ++n[i->id];
  }
  return n;
}

TEST(BalancerTest, EveryPolicyAnswersNullOnAnEmptySet) {
  for (Policy p : {Policy::kRoundRobin, Policy::kWeighted, Policy::kP2C, Policy::kConsistentHash}) {
    auto b = make_balancer(p);
    EXPECT_EQ(b->pick({}), nullptr);
    b->update({inst("a")});
    b->update({});
    EXPECT_EQ(b->pick({}), nullptr);
  }
}

TEST(BalancerTest, RoundRobinGivesEachInstanceTheSameShare) {
  auto b = make_balancer(Policy::kRoundRobin);
  b->update({inst("a"), inst("b"), inst("c")});
  auto n = shares(*b, 3000);
  EXPECT_EQ(n["a"], 1000);
  EXPECT_EQ(n["b"], 1000);
  EXPECT_EQ(n["c"], 1000);
}

TEST(BalancerTest, SmoothWeightedSpreadsByWeightInNginxOrder) {
  auto b = make_balancer(Policy::kWeighted);
  b->update({inst("a", 5), inst("b", 1), inst("c", 1)});
  std::string seq;
  for (int k = 0; k < 7; ++k) seq += b->pick({})->id;
  EXPECT_EQ(seq, "aabacaa");  // nginx's documented sequence for weights 5, 1, 1
  auto n = shares(*b, 7000);
  EXPECT_EQ(n["a"], 5000);
  EXPECT_EQ(n["b"], 1000);
  EXPECT_EQ(n["c"], 1000);
}

TEST(BalancerTest, WeightZeroTakesNoTraffic) {
  auto b = make_balancer(Policy::kWeighted);
  b->update({inst("a", 0), inst("b", 1)});
  auto n = shares(*b, 100);
  EXPECT_EQ(n["a"], 0);
  EXPECT_EQ(n["b"], 100);
}

TEST(BalancerTest, ARetryAvoidsTheInstanceThatFailed) {
  for (Policy p : {Policy::kRoundRobin, Policy::kWeighted, Policy::kP2C, Policy::kConsistentHash}) {
    auto b = make_balancer(p);
    b->update({inst("a"), inst("b"), inst("c")});
    for (int k = 0; k < 200; ++k) {
      const Instance* first = b->pick({.key = "user-" + std::to_string(k)});
      const Instance* retry = b->pick({.key = "user-" + std::to_string(k), .avoid = first->id});
      ASSERT_NE(retry, nullptr);
      EXPECT_NE(retry->id, first->id) << "policy " << static_cast<int>(p);
      b->report(*first, std::chrono::milliseconds(1), false);
      b->report(*retry, std::chrono::milliseconds(1), true);
    }
    b->update({inst("a")});  // the only instance is used even when it is the one to avoid
    const Instance* only = b->pick({});
    EXPECT_EQ(b->pick({.avoid = only->id}), only);
  }
}

TEST(BalancerTest, P2CSendsLessToASlowInstance) {
  auto b = make_balancer(Policy::kP2C);
  b->update({inst("a"), inst("b"), inst("c")});
  std::map<std::string, int> n;
  for (int k = 0; k < 3000; ++k) {
    const Instance* i = b->pick({});
    ++n[i->id];
    b->report(*i, i->id == "c" ? std::chrono::milliseconds(50) : std::chrono::microseconds(500), true);
  }
  EXPECT_LT(n["c"], 300) << n["a"] << " " << n["b"] << " " << n["c"];
  EXPECT_GT(n["a"], 1000);
  EXPECT_GT(n["b"], 1000);
}

TEST(BalancerTest, P2CSendsLessToAnInstanceWithCallsInFlight) {
  auto b = make_balancer(Policy::kP2C);
  b->update({inst("a"), inst("b"), inst("c")});
  // Calls to b never finish (a stalled instance); calls to the others finish at once, equally fast.
  std::map<std::string, int> n;
  for (int k = 0; k < 300; ++k) {
    const Instance* i = b->pick({});
    ++n[i->id];
    if (i->id != "b") b->report(*i, std::chrono::microseconds(200), true);
  }
  EXPECT_LT(n["b"], 30) << n["a"] << " " << n["b"] << " " << n["c"];
  EXPECT_GT(n["a"], 100);
  EXPECT_GT(n["c"], 100);
}

TEST(BalancerTest, P2CKeepsWhatItLearntAcrossAnUpdate) {
  auto b = make_balancer(Policy::kP2C);
  b->update({inst("a"), inst("b")});
  for (int k = 0; k < 200; ++k) {
    const Instance* i = b->pick({});
    b->report(*i, i->id == "b" ? std::chrono::milliseconds(100) : std::chrono::microseconds(100), true);
  }
  b->update({inst("b"), inst("a"), inst("c")});  // same ids, new order, one more
  std::map<std::string, int> n;
  for (int k = 0; k < 300; ++k) {
    const Instance* i = b->pick({});
    ++n[i->id];
    b->report(*i, i->id == "b" ? std::chrono::milliseconds(100) : std::chrono::microseconds(100), true);
  }
  EXPECT_LT(n["b"], n["a"] / 3);
}

TEST(BalancerTest, ConsistentHashKeepsAKeyOnItsInstance) {
  auto b = make_balancer(Policy::kConsistentHash);
  b->update({inst("a"), inst("b"), inst("c"), inst("d")});
  std::map<std::string, std::string> where;
  for (int k = 0; k < 4000; ++k) {
    std::string key = "session-" + std::to_string(k);
    where[key] = b->pick({.key = key})->id;
    EXPECT_EQ(b->pick({.key = key})->id, where[key]);
  }
  std::map<std::string, int> n;
  for (auto& [k, id] : where) ++n[id];
  for (auto& [id, count] : n) EXPECT_NEAR(count, 1000, 250) << id;  // 160 virtual nodes each
  // Removing d moves only d's keys.
  b->update({inst("a"), inst("b"), inst("c")});
  int moved = 0;
  for (auto& [key, id] : where) {
    std::string now = b->pick({.key = key})->id;
    if (id != "d") {
      EXPECT_EQ(now, id) << key;
    }
    if (now != id) ++moved;
  }
  EXPECT_EQ(moved, n["d"]);
}

TEST(InstanceTest, EndpointsMustBeReachable) {
  EXPECT_TRUE(validate_endpoint("http://10.0.0.7:8080").ok());
  EXPECT_TRUE(validate_endpoint("grpc://[::1]:9090").ok());
  EXPECT_FALSE(validate_endpoint("http://0.0.0.0:8080").ok());
  EXPECT_FALSE(validate_endpoint("http://[::]:8080").ok());
  EXPECT_FALSE(validate_endpoint("10.0.0.7:8080").ok());
  EXPECT_FALSE(validate_endpoint("http://10.0.0.7").ok());
  EXPECT_FALSE(validate_endpoint("http://10.0.0.7:0").ok());
  EXPECT_FALSE(validate_endpoint("http://10.0.0.7:70000").ok());
  EXPECT_FALSE(validate_endpoint("http://:80").ok());
  Instance i = inst("a");
  i.endpoints.push_back("grpc://127.0.0.1:9090");
  EXPECT_EQ(i.endpoint("grpc"), "127.0.0.1:9090");
  EXPECT_EQ(i.endpoint("http"), "127.0.0.1:8097");
  EXPECT_EQ(i.endpoint("https"), std::nullopt);
}

TEST(InstanceTest, RoundTripsThroughJson) {
  Instance i = inst("a", 7);
  i.version = "v2";
  i.zone = "z1";
  i.metadata = {{"canary", "true"}};
  auto back = json::decode<Instance>(json::encode(i));
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(*back, i);
  EXPECT_FALSE(json::decode<Instance>(R"({"name":"x"})"));  // no id
}

TEST(InstanceTest, FilterByVersionAndZone) {
  Instance a = inst("a"), b = inst("b"), c = inst("c");
  a.version = "v1";
  b.version = "v2";
  c.version = "v2";
  c.zone = "z2";
  EXPECT_EQ(filter({a, b, c}, "v2", "").size(), 2u);
  EXPECT_EQ(filter({a, b, c}, "v2", "z2").size(), 1u);
  EXPECT_EQ(filter({a, b, c}, "", "").size(), 3u);
}

}  // namespace
}  // namespace svckit::discovery
