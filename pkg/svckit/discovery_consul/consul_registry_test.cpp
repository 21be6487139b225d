// The consul registry against a FAKE Consul agent (tests/discovery/consul_fake.py: there is no
// Consul in Debian) that implements the agent endpoints the registry uses, their validation, HTTP
// checks and blocking queries. The instance's /readyz is a real svckit server the test controls.
#include "svckit/discovery_consul/consul_registry.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "svckit/http/client.hpp"
#include "svckit/http/server.hpp"
#include "svckit/testing/discovery_seen.hpp"

using namespace std::chrono_literals;

namespace svckit::discovery {
namespace {

using Ids = std::vector<std::string>;

using testkit::Seen;

class ConsulRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* src = std::getenv("SVCKIT_SOURCE_DIR");
    ASSERT_TRUE(src) << "SVCKIT_SOURCE_DIR must be set (ctest sets it)";
    portfile_ = std::filesystem::temp_directory_path() / ("svckit-consul-fake-" + std::to_string(::getpid()));
    std::filesystem::remove(portfile_);
    std::string script = std::string(src) + "/tests/discovery/consul_fake.py";
    fake_ = ::fork();
    if (fake_ == 0) {
      ::execl("/usr/bin/python3", "python3", script.c_str(), portfile_.c_str(), nullptr);
      std::_Exit(127);
    }
    for (int i = 0; i < 200 && port_ == 0; ++i) {
      std::this_thread::sleep_for(25ms);
      std::ifstream(portfile_) >> port_;
    }
    ASSERT_NE(port_, 0) << "the fake Consul agent did not start";
    readyz_.get("/readyz", [this](http::Request&, http::Response& res) {
      res.text(ready_.load() ? 200 : 503, ready_.load() ? "ready" : "not ready");
    });
    admin_ = std::make_unique<http::Server>(rt_, readyz_, http::ServerOptions{.host = "127.0.0.1", .port = 0},
                                            log::Logger({.level = log::Level::kOff}));
    ASSERT_TRUE(admin_->start().ok());
  }
  void TearDown() override {
    if (registry_) registry_->close();
    if (admin_) rt_.block_on(admin_->drain());
    if (fake_ > 0) {
      ::kill(fake_, SIGKILL);
      ::waitpid(fake_, nullptr, 0);
    }
    std::filesystem::remove(portfile_);
  }
  std::string agent() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::shared_ptr<ConsulRegistry> open() {
    ConsulOptions o;
    o.address = agent();
    o.check_interval = 100ms;
    o.check_timeout = 500ms;
    o.deregister_critical_after = 1000ms;
    o.wait = 2000ms;
    o.min_query_interval = 20ms;
    o.backoff_min = 20ms;
    o.backoff_max = 200ms;
    registry_ = ConsulRegistry::create(rt_, o);
    return registry_;
  }
  Instance inst(std::string id) {
    Instance i;
    i.id = std::move(id);
    i.name = "user-svc";
    i.version = "v2";
    i.endpoints = {"http://127.0.0.1:8090", "grpc://127.0.0.1:9090"};
    i.metadata["admin"] = "http://127.0.0.1:" + std::to_string(admin_->port());
    return i;
  }
  Result<http::ClientResponse> raw(http::Method m, const std::string& path, std::string body = {}) {
    http::Client c(rt_, {.observe = false});
    return rt_.block_on([&]() -> Task<Result<http::ClientResponse>> {
      Context ctx = Context().with_timeout(5s);
      http::ClientRequest req;
      req.method = m;
      req.url = agent() + path;
      req.body = std::move(body);
      auto r = co_await c.send(ctx, std::move(req));
      co_return r;
    }());
  }

  Runtime rt_{{.workers = 1}};
  std::filesystem::path portfile_;
  pid_t fake_ = -1;
  int port_ = 0;
  std::atomic<bool> ready_{true};
  http::Router readyz_;
  std::unique_ptr<http::Server> admin_;
  std::shared_ptr<ConsulRegistry> registry_;
};

TEST_F(ConsulRegistryTest, RegisteredPassingCriticalThenDeregisteredByTheAgent) {
  auto r = open();
  Seen seen;
  auto w = r->watch("user-svc", [&](const std::vector<Instance>& set) { seen.add(set); });
  ASSERT_TRUE(rt_.block_on(r->register_instance(Context().with_timeout(5s), inst("u1"))).ok());
  // Passing once the agent's check of /readyz answers 200; the blocking query wakes for it.
  ASSERT_TRUE(seen.wait_for([](const Ids& s) { return s == Ids{"u1"}; }, 3s));
  auto set = rt_.block_on(r->instances(Context().with_timeout(5s), "user-svc"));
  ASSERT_TRUE(set && set->size() == 1);
  EXPECT_EQ((*set)[0].version, "v2");
  EXPECT_EQ((*set)[0].endpoint("grpc"), "127.0.0.1:9090");
  // Critical: out of ?passing at once, removed by the agent after deregister_critical_after.
  ready_ = false;
  ASSERT_TRUE(seen.wait_for([](const Ids& s) { return s.empty(); }, 3s));
  auto names = rt_.block_on(r->services(Context().with_timeout(5s)));
  ASSERT_TRUE(names);
  EXPECT_EQ(*names, Ids{"user-svc"}) << "critical, but still registered";
  bool removed = false;
  for (int i = 0; i < 60 && !removed; ++i) {
    std::this_thread::sleep_for(50ms);
    auto now = rt_.block_on(r->services(Context().with_timeout(5s)));
    removed = now && now->empty();
  }
  EXPECT_TRUE(removed) << "the agent deregisters an instance critical for longer than its limit";
}

TEST_F(ConsulRegistryTest, DeregisteringIsSeenAtOnceAndABackwardsIndexStartsAgain) {
  auto r = open();
  Seen seen;
  auto w = r->watch("user-svc", [&](const std::vector<Instance>& set) { seen.add(set); });
  ASSERT_TRUE(rt_.block_on(r->register_instance(Context().with_timeout(5s), inst("u1"))).ok());
  ASSERT_TRUE(rt_.block_on(r->register_instance(Context().with_timeout(5s), inst("u2"))).ok());
  ASSERT_TRUE(seen.wait_for([](const Ids& s) { return s == Ids{"u1", "u2"}; }, 3s));
  // The agent restarted (its index went back to 1): the watch starts again from 0 and still follows.
  ASSERT_EQ(raw(http::Method::kPost, "/fake/reset-index")->status, 200);
  ASSERT_TRUE(rt_.block_on(r->register_instance(Context().with_timeout(5s), inst("u3"))).ok());
  ASSERT_TRUE(seen.wait_for([](const Ids& s) { return s == Ids{"u1", "u2", "u3"}; }, 3s));
  EXPECT_GE(r->index_resets(), 1u);
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(rt_.block_on(r->deregister(Context().with_timeout(5s), inst("u2"))).ok());
  ASSERT_TRUE(seen.wait_for([](const Ids& s) { return s == Ids{"u1", "u3"}; }, 3s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s) << "a blocking query answers when the index moves";
  EXPECT_TRUE(rt_.block_on(r->deregister(Context().with_timeout(5s), inst("gone"))).ok()) << "unknown: not an error";
}

TEST_F(ConsulRegistryTest, WithoutAnAdminUrlTheAgentChecksTheEndpointOverTcp) {
  auto r = open();
  Seen seen;
  auto w = r->watch("user-svc", [&](const std::vector<Instance>& set) { seen.add(set); });
  Instance plain = inst("tcp-only");
  plain.metadata.clear();
  plain.endpoints = {"http://127.0.0.1:" + std::to_string(admin_->port())};  // a port that accepts
  ASSERT_TRUE(rt_.block_on(r->register_instance(Context().with_timeout(5s), plain)).ok());
  ASSERT_TRUE(seen.wait_for([](const Ids& s) { return s == Ids{"tcp-only"}; }, 3s));
  rt_.block_on(admin_->drain());  // the port closes: the TCP check fails
  admin_.reset();
  EXPECT_TRUE(seen.wait_for([](const Ids& s) { return s.empty(); }, 3s)) << "a dead endpoint leaves ?passing";
}

TEST_F(ConsulRegistryTest, TheFakeAgentValidatesAsConsulDoes) {
  EXPECT_EQ(raw(http::Method::kPut, "/v1/agent/service/register", R"({"ID":"x","Port":80})")->status, 400);
  EXPECT_EQ(raw(http::Method::kPut, "/v1/agent/service/register", R"({"Name":"x","Port":70000})")->status, 400);
  EXPECT_EQ(
      raw(http::Method::kPut, "/v1/agent/service/register", R"({"Name":"x","Check":{"HTTP":"http://127.0.0.1:1/"}})")
          ->status,
      400);
  EXPECT_EQ(raw(http::Method::kPut, "/v1/agent/service/register",
                R"({"Name":"x","Check":{"HTTP":"http://127.0.0.1:1/","Interval":"often"}})")
                ->status,
            400);
  EXPECT_EQ(raw(http::Method::kPut, "/v1/agent/service/register", R"({"Name":"x"})")->status, 200);
  EXPECT_EQ(raw(http::Method::kPut, "/v1/agent/service/deregister/nope")->status, 404);
}

}  // namespace
}  // namespace svckit::discovery
