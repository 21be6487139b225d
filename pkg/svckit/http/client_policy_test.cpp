// Per-service policies of discovery:/// calls on real servers (a version filter, a zone preference,
// a balancer per service), what the client reports of the services it follows, and the active
// health probe (an admin /readyz that turns unready takes its instance out of rotation).
#include <gtest/gtest.h>

#include <atomic>
#include <map>

#include "svckit/discovery/health_check.hpp"
#include "svckit/discovery/static_registry.hpp"
#include "svckit/http/client.hpp"
#include "svckit/http/health_probe.hpp"
#include "svckit/http/server.hpp"

using namespace std::chrono_literals;

namespace svckit::http {
namespace {

struct Backend {
  std::string id;
  std::unique_ptr<Router> router = std::make_unique<Router>();
  std::unique_ptr<Router> admin_router = std::make_unique<Router>();
  std::unique_ptr<Server> server;
  std::unique_ptr<Server> admin;
  std::shared_ptr<std::atomic<bool>> ready = std::make_shared<std::atomic<bool>>(true);
  std::shared_ptr<std::atomic<int>> status = std::make_shared<std::atomic<int>>(200);  // of /who
};

class ClientPolicyTest : public ::testing::Test {
 protected:
  Backend& add(std::string id, std::string version, std::string zone) {
    auto& b = backends_.emplace_back(std::make_unique<Backend>());
    b->id = id;
    b->router->get("/who", [id, status = b->status](Request&, Response& res) { res.text(status->load(), id); });
    b->admin_router->get("/readyz", [ready = b->ready](Request&, Response& res) {
      res.text(ready->load() ? 200 : 503, ready->load() ? "ready" : "not ready");
    });
    log::Logger quiet({.level = log::Level::kOff});
    b->server = std::make_unique<Server>(rt_, *b->router, ServerOptions{.host = "127.0.0.1", .port = 0}, quiet);
    b->admin = std::make_unique<Server>(rt_, *b->admin_router, ServerOptions{.host = "127.0.0.1", .port = 0}, quiet);
    EXPECT_TRUE(b->server->start().ok());
    EXPECT_TRUE(b->admin->start().ok());
    discovery::Instance i;
    i.id = id;
    i.name = "who-svc";
    i.version = std::move(version);
    i.zone = std::move(zone);
    i.endpoints = {"http://127.0.0.1:" + std::to_string(b->server->port())};
    i.metadata["admin"] = "http://127.0.0.1:" + std::to_string(b->admin->port());
    EXPECT_TRUE(registry_->add(i).ok());
    return *b;
  }
  void TearDown() override {
    for (auto& b : backends_) {
      rt_.block_on(b->server->drain());
      rt_.block_on(b->admin->drain());
    }
  }
  std::map<std::string, int> calls(Client& client, int n) {
    return rt_.block_on([&]() -> Task<std::map<std::string, int>> {
      std::map<std::string, int> out;
      for (int k = 0; k < n; ++k) {
        Context ctx = Context().with_timeout(5s);
        auto r = co_await client.get(ctx, "discovery:///who-svc/who");
        ++out[r ? r->body : "error: " + r.error().to_string()];
      }
      co_return out;
    }());
  }

  Runtime rt_{RuntimeOptions{.workers = 2}};
  std::shared_ptr<discovery::StaticRegistry> registry_ = std::make_shared<discovery::StaticRegistry>();
  std::vector<std::unique_ptr<Backend>> backends_;
};

TEST_F(ClientPolicyTest, AVersionFilterNeverSendsToAnotherVersion) {
  add("old-1", "v1", "");
  add("new-1", "v2", "");
  add("new-2", "v2", "");
  ClientOptions o{.discovery = registry_};
  o.services["who-svc"] = {.balancer = discovery::Policy::kRoundRobin, .version = "v2"};
  Client client(rt_, o);
  auto got = calls(client, 40);
  EXPECT_EQ(got.count("old-1"), 0u);
  EXPECT_EQ(got["new-1"], 20);
  EXPECT_EQ(got["new-2"], 20);

  // Pinned to a version nobody runs: refused, not sent elsewhere.
  ClientOptions pinned{.discovery = registry_};
  pinned.services["who-svc"] = {.version = "v3"};
  Client none(rt_, pinned);
  auto refused = calls(none, 1);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_NE(refused.begin()->first.find("NO_INSTANCE"), std::string::npos) << refused.begin()->first;
}

TEST_F(ClientPolicyTest, AZonePreferenceKeepsCallsInZoneUntilNoneIsLeftThere) {
  add("a-1", "", "zone-a");
  add("b-1", "", "zone-b");
  add("b-2", "", "zone-b");
  Client client(rt_, ClientOptions{.discovery = registry_, .zone = "zone-a"});
  EXPECT_EQ(client.policy("who-svc").zone, "zone-a");
  auto got = calls(client, 30);
  EXPECT_EQ(got["a-1"], 30) << "a call left its zone while an instance was there";
  registry_->remove("who-svc", "a-1");
  got = calls(client, 30);
  EXPECT_EQ(got["b-1"] + got["b-2"], 30);
}

TEST_F(ClientPolicyTest, EachServiceHasItsOwnBalancerAndTheClientReportsWhatItFollows) {
  add("x-1", "", "");
  add("x-2", "", "");
  ClientOptions o{.discovery = registry_, .balancer = discovery::Policy::kRoundRobin};
  o.services["who-svc"] = {.balancer = discovery::Policy::kConsistentHash};
  Client client(rt_, o);
  EXPECT_EQ(client.policy("who-svc").balancer, discovery::Policy::kConsistentHash);
  EXPECT_EQ(client.policy("other-svc").balancer, discovery::Policy::kRoundRobin);
  // Consistent hashing with the same (empty) key: one instance takes every call.
  auto got = calls(client, 20);
  EXPECT_EQ(got.size(), 1u);

  auto seen = rt_.block_on(client.discovered());
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].name, "who-svc");
  EXPECT_EQ(seen[0].policy.balancer, discovery::Policy::kConsistentHash);
  ASSERT_EQ(seen[0].instances.size(), 2u);
  EXPECT_EQ(seen[0].instances[0].instance.id, "x-1");
  EXPECT_FALSE(seen[0].instances[0].ejected);
  auto counts = client.discovery_counts();
  ASSERT_EQ(counts.size(), 1u);
  EXPECT_EQ(counts[0].instances, 2u);
  EXPECT_EQ(counts[0].ejected, 0u);
}

TEST_F(ClientPolicyTest, EjectionsAndP2CLatencyShowInWhatTheClientReports) {
  add("p-1", "", "");
  auto& broken = add("p-2", "", "");
  broken.status->store(500);
  ClientOptions o{.discovery = registry_, .balancer = discovery::Policy::kRoundRobin};
  o.outlier.consecutive_failures = 2;
  Client client(rt_, o);
  (void)calls(client, 40);
  auto seen = rt_.block_on(client.discovered());
  ASSERT_EQ(seen.size(), 1u);
  ASSERT_EQ(seen[0].instances.size(), 2u);
  EXPECT_GE(seen[0].ejections, 1u);
  EXPECT_FALSE(seen[0].instances[0].ejected);
  EXPECT_TRUE(seen[0].instances[1].ejected);
  EXPECT_EQ(client.discovery_counts()[0].ejected, 1u);

  // P2C learns a latency per instance; the report shows it.
  broken.status->store(200);
  Client p2c(rt_, ClientOptions{.discovery = registry_, .balancer = discovery::Policy::kP2C});
  (void)calls(p2c, 20);
  auto learnt = rt_.block_on(p2c.discovered());
  ASSERT_EQ(learnt.size(), 1u);
  double sum = 0;
  for (const auto& i : learnt[0].instances) sum += i.latency_ms;
  EXPECT_GT(sum, 0.0);
  for (const auto& i : learnt[0].instances) EXPECT_EQ(i.in_flight, 0u) << i.instance.id;
}

TEST_F(ClientPolicyTest, AnUnreadyAdminTakesItsInstanceOutOfRotationAndBackAgain) {
  add("h-1", "", "");
  auto& sick = add("h-2", "", "");
  auto probes = std::make_shared<Client>(rt_, ClientOptions{.observe = false});
  auto checked = discovery::HealthChecker::wrap(
      rt_, registry_, {.interval = 50ms, .timeout = 40ms, .unhealthy_threshold = 2, .healthy_threshold = 2},
      health_probe(probes));
  Client client(rt_, ClientOptions{.discovery = checked, .balancer = discovery::Policy::kRoundRobin});
  auto got = calls(client, 20);
  EXPECT_EQ(got["h-2"], 10);
  sick.ready->store(false);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline && calls(client, 4)["h-2"] > 0) std::this_thread::sleep_for(20ms);
  got = calls(client, 20);
  EXPECT_EQ(got["h-1"], 20) << "an unready instance still gets calls";
  auto h = checked->health("who-svc");
  ASSERT_EQ(h.size(), 2u);
  EXPECT_FALSE(h[1].healthy);
  EXPECT_NE(h[1].last_error.find("503"), std::string::npos) << h[1].last_error;
  sick.ready->store(true);
  deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline && calls(client, 4)["h-2"] == 0) std::this_thread::sleep_for(20ms);
  EXPECT_GT(calls(client, 20)["h-2"], 0) << "a ready-again instance never came back";
}

TEST_F(ClientPolicyTest, AnInstanceWithoutAnAdminURLIsProbedByATcpConnect) {
  Runtime& rt = rt_;
  auto& b = add("t-1", "", "");
  discovery::Instance plain;
  plain.id = "t-1";
  plain.endpoints = {"http://127.0.0.1:" + std::to_string(b.server->port())};
  auto probe = health_probe(std::make_shared<Client>(rt, ClientOptions{.observe = false}));
  Context ctx = Context().with_timeout(1s);
  EXPECT_TRUE(rt.block_on(probe(ctx, plain)).ok());
  rt.block_on(b.server->drain());
  Context again = Context().with_timeout(1s);
  Status st = rt.block_on(probe(again, plain));
  EXPECT_EQ(st.code(), Code::kUnavailable) << st.to_string();
  b.server = std::make_unique<Server>(rt, *b.router, ServerOptions{.host = "127.0.0.1", .port = 0},
                                      log::Logger({.level = log::Level::kOff}));  // TearDown drains it
  EXPECT_TRUE(b.server->start().ok());
}

}  // namespace
}  // namespace svckit::http
