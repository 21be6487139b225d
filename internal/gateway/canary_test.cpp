// Canary routing: the weight's share of keys goes to the canary set, one key stays on one side, a
// header forces either side, no canary instance sends everything to the stable set, and a reload
// changes the weight on live connections.
#include "detail/gateway_fixture.hpp"
#include "svckit/discovery/static_registry.hpp"

namespace svckit::gateway::testing {
namespace {

class CanaryTest : public GatewayFixture {
 protected:
  // Upstream 0 answers "stable", upstream 1 "canary".
  void start_sides() {
    up_routers_[0].get("/*path", [](http::Request&, http::Response& res) { res.text(200, "stable"); });
    up_routers_[1].get("/*path", [](http::Request&, http::Response& res) { res.text(200, "canary"); });
    stable_ = start_upstream(up_routers_[0]);
    canary_ = start_upstream(up_routers_[1]);
  }
  std::string routes(const std::string& keys) {
    return "routes: [{name: c, path: /, upstream: ['" + url(stable_) + "'], canary_upstream: ['" + url(canary_) +
           "'], " + keys + "}]";
  }
  static std::string side(RawClient& c, const std::string& extra = "") {
    c.send("GET /x HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n");
    auto r = c.response();
    return r && r->status == 200 ? r->body : "error " + (r ? std::to_string(r->status) + r->body : "");
  }
  // Canary answers over n requests, each with its own session key.
  static int canaries(RawClient& c, int n, const std::string& prefix = "s") {
    int k = 0;
    for (int i = 0; i < n; ++i) {
      std::string s = side(c, "X-Session: " + prefix + std::to_string(i) + "\r\n");
      EXPECT_TRUE(s == "stable" || s == "canary") << s;
      k += s == "canary";
    }
    return k;
  }
  const RouteCounters& counters() { return gateway_->table()->routes().at(0).state->counters; }
  // Sides are counted as a request's access line is written, just after its answer: wait for it.
  bool counted(std::uint64_t stable, std::uint64_t canary) {
    for (int i = 0; i < 300; ++i) {
      if (counters().stable.load() == stable && counters().canary.load() == canary) return true;
      std::this_thread::sleep_for(10ms);
    }
    ADD_FAILURE() << "stable " << counters().stable.load() << ", canary " << counters().canary.load();
    return false;
  }
  std::uint16_t stable_ = 0, canary_ = 0;
};

TEST_F(CanaryTest, WeightZeroAndHundred) {
  start_sides();
  start_gateway(R"(
routes:
  - {name: none, path: /none, upstream: [')" +
                url(stable_) + "'], canary_upstream: ['" + url(canary_) +
                R"('], canary_weight: 0, canary_key: 'header:X-Session'}
  - {name: all, path: /all, upstream: [')" +
                url(stable_) + "'], canary_upstream: ['" + url(canary_) +
                "'], canary_weight: 100, canary_key: 'header:X-Session'}\n");
  RawClient c(port_);
  for (int i = 0; i < 100; ++i) {
    const std::string key = "X-Session: k" + std::to_string(i) + "\r\n";
    c.send("GET /none HTTP/1.1\r\nHost: x\r\n" + key + "\r\n");
    auto r = c.response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "stable");
    c.send("GET /all HTTP/1.1\r\nHost: x\r\n" + key + "\r\n");
    r = c.response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "canary");
  }
  std::string live;
  for (int i = 0; i < 300 && live.find(R"("stable":0,"canary":100)") == std::string::npos; ++i) {
    std::this_thread::sleep_for(10ms);
    live = gateway_->describe();
  }
  EXPECT_NE(live.find(R"("stable":100,"canary":0)"), std::string::npos) << live;
  EXPECT_NE(live.find(R"("stable":0,"canary":100)"), std::string::npos) << live;
}

TEST_F(CanaryTest, TwentyPercentOfKeysGoToTheCanary) {
  start_sides();
  start_gateway(routes("canary_weight: 20, canary_key: 'header:X-Session'"));
  RawClient c(port_);
  const int n = canaries(c, 1000);
  // 1000 keys at 20 %: mean 200, standard deviation 12.6; ±80 is over 6 of them.
  EXPECT_GT(n, 120);
  EXPECT_LT(n, 280);
  EXPECT_TRUE(counted(static_cast<std::uint64_t>(1000 - n), static_cast<std::uint64_t>(n)));
  std::fprintf(stderr, "canary_weight 20: %d of 1000 keys on the canary\n", n);
}

TEST_F(CanaryTest, OneKeyStaysOnOneSide) {
  start_sides();
  start_gateway(routes("canary_weight: 50, canary_key: 'header:X-Session'"));
  RawClient c(port_);
  std::set<std::string> sides_seen;
  for (int key = 0; key < 20; ++key) {
    const std::string header = "X-Session: user-" + std::to_string(key) + "\r\n";
    const std::string first = side(c, header);
    sides_seen.insert(first);
    for (int i = 0; i < 20; ++i) EXPECT_EQ(side(c, header), first) << "key " << key;
  }
  EXPECT_EQ(sides_seen.size(), 2u);  // 20 keys at 50 %: both sides (all on one: 2 in a million)
  // The default key, the user (here: no token, so the client address), is sticky too.
  RawClient d(port_);
  const std::string first = side(d);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(side(d), first);
}

TEST_F(CanaryTest, AHeaderForcesEitherSide) {
  start_sides();
  start_gateway(R"(
routes:
  - {name: zero, path: /zero, canary_weight: 0, canary_header: X-Canary, upstream: [')" +
                url(stable_) + "'], canary_upstream: ['" + url(canary_) + R"(']}
  - {name: full, path: /full, canary_weight: 100, canary_header: X-Canary, upstream: [')" +
                url(stable_) + "'], canary_upstream: ['" + url(canary_) + "']}\n");
  RawClient c(port_);
  auto at = [&](const std::string& path, const std::string& header) {
    c.send("GET " + path + " HTTP/1.1\r\nHost: x\r\n" + header + "\r\n");
    auto r = c.response();
    return r ? r->body : std::string("no response");
  };
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(at("/zero", "X-Canary: always\r\n"), "canary");
    EXPECT_EQ(at("/zero", ""), "stable");
    EXPECT_EQ(at("/full", "X-Canary: never\r\n"), "stable");
    EXPECT_EQ(at("/full", "X-Canary: maybe\r\n"), "canary");
  }
}

TEST_F(CanaryTest, VersionSplitSendsAllToStableWithoutACanaryInstance) {
  start_sides();
  auto registry = std::make_shared<discovery::StaticRegistry>();
  auto instance = [](std::string id, std::string version, std::uint16_t port) {
    discovery::Instance i;
    i.id = std::move(id);
    i.name = "orders";
    i.version = std::move(version);
    i.endpoints = {"http://127.0.0.1:" + std::to_string(port)};
    return i;
  };
  ASSERT_TRUE(registry->add(instance("o1", "v1", stable_)).ok());
  discovery_ = registry;
  start_gateway(
      "routes: [{name: c, path: /, upstream: ['discovery:///orders'], canary_version: v2, canary_weight: 100}]");
  RawClient c(port_);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(side(c), "stable");
  EXPECT_TRUE(counted(50, 0));
  // A v2 instance registers: it takes the traffic; v1 keeps none (weight 100).
  ASSERT_TRUE(registry->add(instance("o2", "v2", canary_)).ok());
  bool moved = false;
  for (int i = 0; i < 200 && !moved; ++i) {
    moved = side(c) == "canary";
    if (!moved) std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(moved);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(side(c), "canary");
  // It leaves again: everything back to stable, no request failing on the way.
  registry->remove("orders", "o2");
  bool back = false;
  for (int i = 0; i < 200 && !back; ++i) {
    back = side(c) == "stable";
    if (!back) std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(back);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(side(c), "stable");
}

TEST_F(CanaryTest, ADiscoveryCanaryWithNoInstanceFallsBackToStable) {
  start_sides();
  auto registry = std::make_shared<discovery::StaticRegistry>();
  discovery_ = registry;
  start_gateway("routes: [{name: c, path: /, retries: 0, upstream: ['" + url(stable_) +
                "'], canary_upstream: ['discovery:///orders-canary'], canary_weight: 100}]");
  RawClient c(port_);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(side(c), "stable");
  EXPECT_TRUE(counted(20, 0));
}

TEST_F(CanaryTest, AReloadChangesTheWeightOnLiveConnections) {
  start_sides();
  start_gateway(routes("canary_weight: 0, canary_key: 'header:X-Session'"), {}, /*watch=*/true);
  RawClient c(port_);  // one keep-alive connection throughout
  EXPECT_EQ(canaries(c, 200), 0);
  write_routes(routes("canary_weight: 100, canary_key: 'header:X-Session'"));
  for (int i = 0; i < 100 && gateway_->stats().generation < 2; ++i) std::this_thread::sleep_for(20ms);
  ASSERT_EQ(gateway_->stats().generation, 2u);
  EXPECT_EQ(canaries(c, 200), 200);
  write_routes(routes("canary_weight: 30, canary_key: 'header:X-Session'"));
  for (int i = 0; i < 100 && gateway_->stats().generation < 3; ++i) std::this_thread::sleep_for(20ms);
  ASSERT_EQ(gateway_->stats().generation, 3u);
  const int n = canaries(c, 1000);
  EXPECT_GT(n, 200);
  EXPECT_LT(n, 400);
  EXPECT_TRUE(counted(200 + 1000 - static_cast<std::uint64_t>(n), 200 + static_cast<std::uint64_t>(n)));
}

}  // namespace
}  // namespace svckit::gateway::testing
