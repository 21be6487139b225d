// The App's client: discovery:/// calls over the App's registry with the policies of
// discovery.services, active health checks of a static registry's instances, and what
// /debug/registry and /metrics say of them.
#include "svckit/http/client.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "svckit/app/app.hpp"
#include "svckit/http/server.hpp"

using namespace std::chrono_literals;

namespace svckit::app {
namespace {

namespace fs = std::filesystem;

// Another service's instance: /who on its traffic port, /readyz on its admin port.
struct Peer {
  Peer(Runtime& rt, std::string id) : id(std::move(id)) {
    router.get("/who", [n = this->id](http::Request&, http::Response& res) { res.text(200, n); });
    admin_router.get("/readyz", [r = ready](http::Request&, http::Response& res) {
      res.text(r->load() ? 200 : 503, r->load() ? "ok" : "draining");
    });
    log::Logger quiet({.level = log::Level::kOff});
    server = std::make_unique<http::Server>(rt, router, http::ServerOptions{.host = "127.0.0.1", .port = 0}, quiet);
    admin =
        std::make_unique<http::Server>(rt, admin_router, http::ServerOptions{.host = "127.0.0.1", .port = 0}, quiet);
    EXPECT_TRUE(server->start().ok());
    EXPECT_TRUE(admin->start().ok());
  }
  std::string yaml(const std::string& version) const {
    return "    - {id: " + id + ", name: who-svc, version: " + version +
           ", endpoints: [http://127.0.0.1:" + std::to_string(server->port()) +
           "], metadata: {admin: 'http://127.0.0.1:" + std::to_string(admin->port()) + "'}}\n";
  }
  std::string id;
  http::Router router, admin_router;
  std::shared_ptr<std::atomic<bool>> ready = std::make_shared<std::atomic<bool>>(true);
  std::unique_ptr<http::Server> server, admin;
};

class AppClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("svckit_appclient_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "dev");
  }
  void TearDown() override {
    if (app_) {
      app_->request_stop();
      app_->wait();
    }
    for (auto& p : peers_) {
      peer_rt_.block_on(p->server->drain());
      peer_rt_.block_on(p->admin->drain());
    }
    app_.reset();
    fs::remove_all(dir_);
  }
  App* start(const std::string& discovery_yaml) {
    std::ofstream(dir_ / "base.yaml") << "log:\n  level: warn\n  async: false\n  output: "
                                      << (dir_ / "app.log").string()
                                      << "\nhttp:\n  host: 127.0.0.1\n  port: 0\nadmin:\n  port: 0\n"
                                      << "discovery:\n"
                                      << discovery_yaml;
    app_ = std::make_unique<App>(AppOptions{.name = "caller", .registry = &registry_});
    std::vector<std::string> args = {
        "caller", "--config-dir", dir_.string(), "--set", "app.workers=1", "--set", "discovery.register=false"};
    std::vector<const char*> argv;
    for (auto& a : args) argv.push_back(a.c_str());
    auto exit = app_->init(static_cast<int>(argv.size()), argv.data());
    EXPECT_FALSE(exit);
    EXPECT_TRUE(app_->start().ok());
    return app_.get();
  }
  std::map<std::string, int> calls(int n) {
    return app_->runtime().block_on([&]() -> Task<std::map<std::string, int>> {
      std::map<std::string, int> out;
      for (int k = 0; k < n; ++k) {
        Context ctx = Context().with_timeout(5s);
        auto r = co_await app_->client().get(ctx, "discovery:///who-svc/who");
        ++out[r ? r->body : r.error().to_string()];
      }
      co_return out;
    }());
  }
  std::string admin_get(const std::string& path) {
    auto r = app_->runtime().block_on(app_->client().get(
        Context().with_timeout(5s), "http://127.0.0.1:" + std::to_string(app_->admin_port()) + path));
    return r ? r->body : r.error().to_string();
  }

  fs::path dir_;
  metrics::Registry registry_;
  Runtime peer_rt_{RuntimeOptions{.workers = 1}};
  std::vector<std::unique_ptr<Peer>> peers_;
  std::unique_ptr<App> app_;
};

TEST_F(AppClientTest, CallsFollowTheServicePolicyAndActiveChecksTakeOutAnUnreadyInstance) {
  auto& a = *peers_.emplace_back(std::make_unique<Peer>(peer_rt_, "who-a"));
  auto& b = *peers_.emplace_back(std::make_unique<Peer>(peer_rt_, "who-b"));
  auto& old = *peers_.emplace_back(std::make_unique<Peer>(peer_rt_, "who-old"));
  start("  backend: static\n  static:\n" + a.yaml("v2") + b.yaml("v2") + old.yaml("v1") +
        "  health: {interval: 100ms, timeout: 80ms, unhealthy_threshold: 2, healthy_threshold: 2}\n"
        "  services:\n    who-svc: {balancer: round_robin, version: v2}\n");
  auto got = calls(20);
  EXPECT_EQ(got["who-a"], 10);
  EXPECT_EQ(got["who-b"], 10);
  EXPECT_EQ(got.count("who-old"), 0u) << "the version filter let a v1 call through";

  b.ready->store(false);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline && calls(2)["who-b"] > 0) std::this_thread::sleep_for(20ms);
  got = calls(20);
  EXPECT_EQ(got["who-a"], 20) << "an unready instance still gets calls";

  std::string debug = admin_get("/debug/registry");
  EXPECT_NE(debug.find(R"("client":{"who-svc":{"balancer":"round_robin","version":"v2")"), std::string::npos) << debug;
  EXPECT_NE(debug.find(R"("unhealthy":["who-b"])"), std::string::npos) << debug;
  EXPECT_NE(debug.find(R"("health":{"healthy":true)"), std::string::npos) << debug;
  std::string metrics = admin_get("/metrics");
  EXPECT_NE(metrics.find(R"(svckit_discovery_instances{service="who-svc",state="unhealthy"} 1)"), std::string::npos)
      << metrics;
  // Available: who-a only (who-b is unhealthy, who-old another version).
  EXPECT_NE(metrics.find(R"(svckit_discovery_instances{service="who-svc",state="available"} 1)"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("svckit_discovery_marked_unhealthy_total 1"), std::string::npos) << metrics;
}

TEST_F(AppClientTest, ABadServicePolicyOrHealthCheckIsRefusedAtStart) {
  auto refused = [&](const std::string& yaml) {
    std::ofstream(dir_ / "base.yaml") << yaml;
    App app({.name = "caller", .registry = &registry_});
    std::vector<std::string> args = {"caller", "--config-dir", dir_.string()};
    std::vector<const char*> argv;
    for (auto& s : args) argv.push_back(s.c_str());
    testing::internal::CaptureStderr();
    auto exit = app.init(static_cast<int>(argv.size()), argv.data());
    std::string err = testing::internal::GetCapturedStderr();
    EXPECT_TRUE(exit && *exit == 2) << err;
    return err;
  };
  std::string err = refused("discovery:\n  services:\n    who-svc: {balancer: fastest}\n");
  EXPECT_NE(err.find("discovery.services.who-svc.balancer"), std::string::npos) << err;
  err = refused("discovery:\n  health: {interval: 100ms, timeout: 1s}\n");
  EXPECT_NE(err.find("discovery: health.timeout: must not exceed interval"), std::string::npos) << err;
  err = refused(
      "discovery:\n  static:\n    - {id: a, name: s, endpoints: [http://127.0.0.1:1], metadata: {x: [1, 2]}}\n");
  EXPECT_NE(err.find("discovery.static[0].metadata.x: expected a map of strings"), std::string::npos) << err;
}

}  // namespace
}  // namespace svckit::app
