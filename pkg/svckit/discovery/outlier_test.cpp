#include "svckit/discovery/outlier.hpp"

#include <gtest/gtest.h>

namespace svckit::discovery {
namespace {

using namespace std::chrono_literals;

std::vector<Instance> set_of(int n) {
  std::vector<Instance> set;
  for (int k = 0; k < n; ++k) {
    Instance i;
    i.id = "i" + std::to_string(k);
    i.name = "svc";
    i.endpoints = {"http://127.0.0.1:" + std::to_string(9000 + k)};
    set.push_back(i);
  }
  return set;
}

std::vector<std::string> ids(const std::vector<Instance>& set) {
  std::vector<std::string> out;
  for (auto& i : set) out.push_back(i.id);
  return out;
}

TEST(OutlierTest, ConsecutiveFailuresEjectForAGrowingTime) {
  OutlierDetector d({.consecutive_failures = 3, .base_ejection = 1000ms, .max_ejection = 2500ms});
  auto set = set_of(4);
  auto t = Clock::now();
  EXPECT_FALSE(d.report("i1", false, 4, t));
  EXPECT_FALSE(d.report("i1", true, 4, t));  // a success resets the count
  EXPECT_FALSE(d.report("i1", false, 4, t));
  EXPECT_FALSE(d.report("i1", false, 4, t));
  auto e0 = d.epoch(t);
  EXPECT_TRUE(d.report("i1", false, 4, t));
  EXPECT_NE(d.epoch(t), e0);
  EXPECT_EQ(ids(d.filter(set, t)), (std::vector<std::string>{"i0", "i2", "i3"}));
  EXPECT_TRUE(d.ejected("i1", t + 999ms));
  EXPECT_FALSE(d.ejected("i1", t + 1000ms));  // back after the base time
  auto e1 = d.epoch(t + 1000ms);
  EXPECT_EQ(d.filter(set, t + 1000ms).size(), 4u);
  // Ejected again: twice as long, then capped.
  for (int k = 0; k < 3; ++k) d.report("i1", false, 4, t + 1100ms);
  EXPECT_NE(d.epoch(t + 1100ms), e1);
  EXPECT_TRUE(d.ejected("i1", t + 1100ms + 1999ms));
  EXPECT_FALSE(d.ejected("i1", t + 1100ms + 2000ms));
  for (int k = 0; k < 3; ++k) d.report("i1", false, 4, t + 4000ms);
  EXPECT_TRUE(d.ejected("i1", t + 4000ms + 2499ms));  // 3 × 1 s, capped at 2.5 s
  EXPECT_FALSE(d.ejected("i1", t + 4000ms + 2500ms));
  EXPECT_EQ(d.ejections(), 3u);
}

TEST(OutlierTest, NeverMoreThanThePercentageButAlwaysOne) {
  OutlierDetector d({.consecutive_failures = 1, .max_ejection_percent = 30});
  auto set = set_of(3);
  auto t = Clock::now();
  EXPECT_TRUE(d.report("i0", false, 3, t));   // one may always go, though 1/3 > 30 %
  EXPECT_FALSE(d.report("i1", false, 3, t));  // a second would be 67 %
  EXPECT_EQ(d.filter(set, t).size(), 2u);
  OutlierDetector all({.consecutive_failures = 1, .max_ejection_percent = 100});
  for (auto& i : set) all.report(i.id, false, 3, t);
  EXPECT_EQ(all.filter(set, t).size(), 3u) << "every instance ejected: use them all rather than none";
  OutlierDetector off({.consecutive_failures = 0});
  EXPECT_FALSE(off.report("i0", false, 3, t));
}

TEST(OutlierTest, ForgetsInstancesThatLeftTheSet) {
  OutlierDetector d({.consecutive_failures = 1});
  auto t = Clock::now();
  d.report("i0", false, 3, t);
  d.retain(set_of(3));
  EXPECT_TRUE(d.ejected("i0", t));
  d.retain({set_of(3)[1]});
  EXPECT_FALSE(d.ejected("i0", t));
}

}  // namespace
}  // namespace svckit::discovery
