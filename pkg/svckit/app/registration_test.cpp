// The App in the service registry (file backend, a second registry on the same folder playing the
// other processes): registered only once ready, with endpoints clients can reach, and deregistered
// as the stop sequence's first step, while traffic is still served. With etcd, the same; with the
// read-only dns backend, not registered at all, and peers found and called through DNS.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "svckit/app/app.hpp"
#include "svckit/discovery/file_registry.hpp"
#include "svckit/discovery_etcd/etcd_registry.hpp"
#include "svckit/http/client.hpp"
#include "svckit/testing/dnsmasq_fixture.hpp"
#include "svckit/testing/etcd_fixture.hpp"
#include "svckit/testing/ports.hpp"

using namespace std::chrono_literals;

namespace svckit::app {
namespace {

namespace fs = std::filesystem;

class RegistrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("svckit_reg_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "dev");
    std::ofstream(dir_ / "base.yaml") << "log:\n  level: info\n  async: false\n  output: "
                                      << (dir_ / "app.log").string()
                                      << "\nhttp:\n  host: 127.0.0.1\n  port: 0\nadmin:\n  port: 0\n"
                                      << "  readiness_interval: 50ms\n"
                                      << "discovery:\n  backend: file\n  file: {dir: " << (dir_ / "registry").string()
                                      << ", ttl: 2s, heartbeat: 200ms, scan_interval: 50ms}\n";
  }
  void TearDown() override {
    client_.reset();
    app_.reset();
    fs::remove_all(dir_);
  }
  App* make(std::vector<std::string> sets) {
    app_ = std::make_unique<App>(AppOptions{.name = "shop", .version = "2.1.0", .registry = &registry_});
    std::vector<std::string> args = {"shop", "--config-dir", dir_.string(), "--set", "app.workers=1"};
    for (auto& s : sets) {
      args.push_back("--set");
      args.push_back(s);
    }
    std::vector<const char*> argv;
    for (auto& a : args) argv.push_back(a.c_str());
    auto exit = app_->init(static_cast<int>(argv.size()), argv.data());
    EXPECT_FALSE(exit) << "init asked to exit with " << *exit;
    return app_.get();
  }
  std::pair<std::optional<int>, std::string> refused_init(std::vector<std::string> sets) {
    App app({.name = "shop", .registry = &registry_});
    std::vector<std::string> args = {"shop", "--config-dir", dir_.string()};
    for (auto& s : sets) {
      args.push_back("--set");
      args.push_back(s);
    }
    std::vector<const char*> argv;
    for (auto& a : args) argv.push_back(a.c_str());
    testing::internal::CaptureStderr();
    auto exit = app.init(static_cast<int>(argv.size()), argv.data());
    return {exit, testing::internal::GetCapturedStderr()};
  }
  std::shared_ptr<discovery::FileRegistry> other_process() {
    auto r = discovery::FileRegistry::open({.dir = (dir_ / "registry").string(), .ttl = 2s, .heartbeat = 200ms});
    EXPECT_TRUE(r);
    return *r;
  }
  Result<http::ClientResponse> get(const std::string& url) {
    if (!client_) client_ = std::make_unique<http::Client>(app_->runtime());
    return app_->runtime().block_on(client_->get(Context().with_timeout(5s), url));
  }
  template <class F>
  static bool eventually(F f, std::chrono::milliseconds limit = 3s) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (f()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return f();
  }

  fs::path dir_;
  metrics::Registry registry_;
  std::unique_ptr<App> app_;
  std::unique_ptr<http::Client> client_;
};

TEST_F(RegistrationTest, RegistersOnlyOnceReadyAndDeregistersFirstAtStop) {
  auto app = make({"app.shutdown_delay=800ms"});
  app->router().get("/work", [](http::Request&, http::Response& res) { res.text(200, "done"); });
  auto ready = std::make_shared<std::atomic<bool>>(false);
  app->readiness().add("warm-up", [ready](const Context&) -> Task<Status> {
    co_return ready->load() ? Status() : Status(Code::kUnavailable, "warming up");
  });
  ASSERT_TRUE(app->start().ok());
  auto others = other_process();
  std::this_thread::sleep_for(300ms);  // several readiness intervals
  EXPECT_FALSE(app->registered());
  EXPECT_TRUE(others->read("shop").empty()) << "registered before it was ready";

  ready->store(true);
  ASSERT_TRUE(eventually([&] { return others->read("shop").size() == 1; }));
  auto seen = others->read("shop").front();
  EXPECT_EQ(seen.version, "2.1.0");
  EXPECT_EQ(seen.endpoint("http"), "127.0.0.1:" + std::to_string(app->http_port()));
  EXPECT_EQ(seen.metadata["admin"], "http://127.0.0.1:" + std::to_string(app->admin_port()));
  // The registry has the instance a moment before the App marks itself registered.
  EXPECT_TRUE(eventually([&] { return app->registered(); }));

  auto debug = get("http://127.0.0.1:" + std::to_string(app->admin_port()) + "/debug/registry");
  ASSERT_TRUE(debug) << debug.error().to_string();
  EXPECT_NE(debug->body.find(R"("backend":"file","registered":true)"), std::string::npos) << debug->body;
  EXPECT_NE(debug->body.find(R"("services":{"shop":[{"id":")" + seen.id), std::string::npos) << debug->body;
  auto metrics = get("http://127.0.0.1:" + std::to_string(app->admin_port()) + "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("svckit_discovery_registered 1"), std::string::npos);
  EXPECT_NE(metrics->body.find("svckit_discovery_registration_failures_total 0"), std::string::npos);
  EXPECT_NE(metrics->body.find(R"(svckit_discovery_backend_errors_total{backend="file"} 0)"), std::string::npos)
      << metrics->body;
  // The registry calls are spans: the registration, and the listing /debug/registry made.
  auto traces = get("http://127.0.0.1:" + std::to_string(app->admin_port()) + "/debug/traces");
  ASSERT_TRUE(traces);
  EXPECT_NE(traces->body.find("discovery register"), std::string::npos) << traces->body;
  EXPECT_NE(traces->body.find("discovery instances"), std::string::npos) << traces->body;
  EXPECT_NE(traces->body.find(R"({"key":"discovery.backend","value":{"stringValue":"file"}})"), std::string::npos)
      << traces->body;

  std::string work = "http://127.0.0.1:" + std::to_string(app->http_port()) + "/work";
  app->request_stop();
  // Gone from the registry at once (inotify), while the shutdown delay still serves traffic.
  EXPECT_TRUE(eventually([&] { return others->read("shop").empty(); }, 400ms));
  auto still = get(work);
  ASSERT_TRUE(still) << still.error().to_string();
  EXPECT_EQ(still->body, "done");
  client_.reset();
  app->wait();
  EXPECT_FALSE(app->registered());
  std::ifstream log(dir_ / "app.log");
  std::string text((std::istreambuf_iterator<char>(log)), {});
  auto reg = text.find("registered in discovery"), dereg = text.find("deregistered from discovery"),
       stopping = text.find("\"stopping\"");
  ASSERT_NE(dereg, std::string::npos) << text;
  EXPECT_LT(reg, dereg);
  EXPECT_LT(dereg, stopping) << "deregistration comes before the rest of the stop sequence";
}

TEST_F(RegistrationTest, AdvertisesAReachableAddressNeverAWildcard) {
  auto app = make({"http.host=0.0.0.0"});
  ASSERT_TRUE(app->start().ok());
  auto self = app->self_instance();
  ASSERT_TRUE(self);
  EXPECT_EQ(self->endpoint("http"), "127.0.0.1:" + std::to_string(app->http_port()));
  EXPECT_EQ(self->name, "shop");
  app->request_stop();
  app->wait();

  auto named = make({"http.host=0.0.0.0", "discovery.advertise_host=198.18.0.7", "discovery.instance_id=shop-a"});
  ASSERT_TRUE(named->start().ok());
  auto s2 = named->self_instance();
  ASSERT_TRUE(s2);
  EXPECT_EQ(s2->id, "shop-a");
  EXPECT_EQ(s2->endpoint("http"), "198.18.0.7:" + std::to_string(named->http_port()));
  named->request_stop();
  named->wait();
}

TEST_F(RegistrationTest, ARegistryThatCannotWorkRefusesTheStart) {
  auto [exit, err] = refused_init({"discovery.advertise_host=0.0.0.0"});
  EXPECT_EQ(exit, 2);
  EXPECT_NE(err.find("discovery.advertise_host"), std::string::npos) << err;
  std::ofstream(dir_ / "not-a-folder") << "x";
  auto [exit2, err2] = refused_init({"discovery.file.dir=" + (dir_ / "not-a-folder").string()});
  EXPECT_EQ(exit2, 2);
  EXPECT_NE(err2.find("not-a-folder"), std::string::npos) << err2;
  auto [exit3, err3] = refused_init({"discovery.backend=dns", "discovery.dns.resolv_conf=no-such-resolv.conf"});
  EXPECT_EQ(exit3, 2) << "no servers, and none to read";
  EXPECT_NE(err3.find("no-such-resolv.conf"), std::string::npos) << err3;
}

TEST_F(RegistrationTest, RegistrationCanBeTurnedOff) {
  auto app = make({"discovery.register=false"});
  ASSERT_TRUE(app->start().ok());
  auto others = other_process();
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(others->read("shop").empty());
  EXPECT_FALSE(app->registered());
  app->request_stop();
  app->wait();
}

TEST_F(RegistrationTest, RegistersInEtcdAndLeavesItFirstAtStop) {
  if (!testkit::EtcdServer::installed()) GTEST_SKIP() << "etcd is not installed (make test installs etcd-server)";
  testkit::EtcdServer etcd;
  ASSERT_TRUE(etcd.start());
  auto app = make({"discovery.backend=etcd", "discovery.etcd.endpoints=" + etcd.url(), "discovery.etcd.lease_ttl=3s",
                   "app.shutdown_delay=500ms"});
  ASSERT_TRUE(app->start().ok());
  Runtime other({.workers = 1});  // another process's view
  discovery::EtcdOptions o;
  o.endpoints = {etcd.url()};
  auto view = discovery::EtcdRegistry::create(other, o);
  auto listed = [&] {
    auto set = other.block_on(view->instances(Context().with_timeout(2s), "shop"));
    return set ? set->size() : std::size_t(99);
  };
  ASSERT_TRUE(eventually([&] { return listed() == 1; }, 5s));
  std::this_thread::sleep_for(4s);  // past the lease's TTL: it is renewed
  EXPECT_EQ(listed(), 1u);
  app->request_stop();
  EXPECT_TRUE(eventually([&] { return listed() == 0; }, 400ms)) << "deregistered first";
  client_.reset();
  app->wait();
  view->close();
}

TEST_F(RegistrationTest, TheDnsBackendRegistersNothingAndFindsPeersThroughDns) {
  if (!testkit::Dnsmasq::installed()) GTEST_SKIP() << "dnsmasq is not installed (make test installs dnsmasq-base)";
  testkit::Dnsmasq dns;
  dns.set_hosts("127.0.0.1 shop.svc.test\n");
  ASSERT_TRUE(dns.start());
  std::ofstream(dir_ / "resolv.conf") << "search svc.test\n";
  // The App's HTTP port, known before it starts so that DNS mode address can name it.
  int port = testkit::free_port();
  auto app = make({"discovery.backend=dns", "discovery.dns.servers=" + dns.server(),
                   "discovery.dns.resolv_conf=" + (dir_ / "resolv.conf").string(), "discovery.dns.family=ipv4",
                   "discovery.dns.ports=http:" + std::to_string(port), "http.port=" + std::to_string(port)});
  app->router().get("/work", [](http::Request&, http::Response& res) { res.text(200, "done"); });
  ASSERT_TRUE(app->start().ok());
  EXPECT_EQ(app->registrar(), nullptr) << "DNS has nothing to register in";
  std::this_thread::sleep_for(300ms);  // several readiness intervals
  EXPECT_FALSE(app->registered());

  client_ = std::make_unique<http::Client>(app->runtime(), http::ClientOptions{.discovery = app->discovery()});
  auto called = get("discovery:///shop/work");
  ASSERT_TRUE(called) << called.error().to_string();
  EXPECT_EQ(called->body, "done");
  auto debug = get("http://127.0.0.1:" + std::to_string(app->admin_port()) + "/debug/registry");
  ASSERT_TRUE(debug) << debug.error().to_string();
  EXPECT_NE(debug->body.find(R"("backend":"dns","registered":false)"), std::string::npos) << debug->body;
  EXPECT_NE(debug->body.find(R"("shop":[{"id":"127.0.0.1:)" + std::to_string(port)), std::string::npos) << debug->body;
  client_.reset();
  app->request_stop();
  app->wait();
  std::ifstream log(dir_ / "app.log");
  std::string text((std::istreambuf_iterator<char>(log)), {});
  EXPECT_NE(text.find("discovery backend dns is read-only"), std::string::npos) << text;
  EXPECT_EQ(text.find("registered in discovery"), std::string::npos) << text;
}

}  // namespace
}  // namespace svckit::app
