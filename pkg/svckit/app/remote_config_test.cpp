// config.remote on a real etcd: the YAML in /config/<service> lies over the files from the start,
// changes are applied live through the same binder, and a bad value (out of range, or YAML that
// does not parse) is refused with the configuration in force kept, logged and counted.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "svckit/app/app.hpp"
#include "svckit/http/client.hpp"
#include "svckit/testing/etcd_fixture.hpp"

using namespace std::chrono_literals;

namespace svckit::app {
namespace {

namespace fs = std::filesystem;

struct ShopSettings {
  std::string greeting = "welcome";
  int limit = 10;
  static void describe(config::Binder<ShopSettings>& b) {
    b.field("greeting", &ShopSettings::greeting).non_empty();
    b.field("limit", &ShopSettings::limit).range(1, 100);
  }
};

class RemoteConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testkit::EtcdServer::installed()) GTEST_SKIP() << "etcd is not installed (make test installs etcd-server)";
    dir_ = fs::temp_directory_path() / ("svckit_remote_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "dev");
    std::ofstream(dir_ / "base.yaml") << "log:\n  level: warn\n  async: false\n  output: "
                                      << (dir_ / "app.log").string()
                                      << "\nhttp:\n  host: 127.0.0.1\n  port: 0\nadmin:\n  port: 0\n"
                                      << "discovery:\n  register: false\nshop:\n  greeting: from-file\n";
    etcd_ = std::make_unique<testkit::EtcdServer>();
  }
  void TearDown() override {
    if (app_) {
      app_->request_stop();
      app_->wait();
    }
    app_.reset();
    etcd_.reset();
    fs::remove_all(dir_);
  }
  void put(const std::string& yaml) {
    std::ofstream(dir_ / "value.yaml") << yaml;
    ASSERT_EQ(etcd_->ctl("put /config/shop < " + (dir_ / "value.yaml").string()), 0);
  }
  std::optional<int> init(std::vector<std::string> sets) {
    app_ = std::make_unique<App>(AppOptions{.name = "shop", .registry = &registry_});
    app_->define<ShopSettings>("shop");
    std::vector<std::string> args = {"shop",
                                     "--config-dir",
                                     dir_.string(),
                                     "--set",
                                     "app.workers=1",
                                     "--set",
                                     "config.remote.enabled=true",
                                     "--set",
                                     "config.remote.endpoints=" + etcd_->url(),
                                     "--set",
                                     "config.remote.backoff_min=50ms"};
    for (auto& s : sets) {
      args.push_back("--set");
      args.push_back(s);
    }
    std::vector<const char*> argv;
    for (auto& a : args) argv.push_back(a.c_str());
    testing::internal::CaptureStderr();
    auto exit = app_->init(static_cast<int>(argv.size()), argv.data());
    stderr_ = testing::internal::GetCapturedStderr();
    return exit;
  }
  ShopSettings shop() { return app_->settings<ShopSettings>("shop"); }
  template <class F>
  static bool eventually(F f, std::chrono::milliseconds limit = 5s) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (f()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return f();
  }
  std::string metrics() {
    http::Client c(app_->runtime());
    auto r = app_->runtime().block_on(
        c.get(Context().with_timeout(5s), "http://127.0.0.1:" + std::to_string(app_->admin_port()) + "/metrics"));
    return r ? r->body : r.error().to_string();
  }

  fs::path dir_;
  metrics::Registry registry_;
  std::unique_ptr<testkit::EtcdServer> etcd_;
  std::unique_ptr<App> app_;
  std::string stderr_;
};

TEST_F(RemoteConfigTest, TheRemoteLayerAppliesFromTheStartAndLiveAndABadValueIsRefused) {
  ASSERT_TRUE(etcd_->start());
  put("shop:\n  greeting: from-etcd\n");
  ASSERT_FALSE(init({})) << stderr_;
  EXPECT_EQ(shop().greeting, "from-etcd");
  std::string printed = app_->config().print();
  auto line = printed.find("shop.greeting = from-etcd");
  ASSERT_NE(line, std::string::npos) << printed;
  EXPECT_NE(printed.substr(line, printed.find('\n', line) - line).find("# etcd /config/shop:2"), std::string::npos)
      << printed;  // the origin names the key and the line
  std::atomic<int> changes{0};
  auto sub = app_->config().on_change<ShopSettings>("shop", [&](const ShopSettings&) { ++changes; });
  ASSERT_TRUE(app_->start().ok());

  put("shop:\n  greeting: live\n  limit: 42\n");
  ASSERT_TRUE(eventually([&] { return shop().limit == 42; })) << "the change was never applied";
  EXPECT_EQ(shop().greeting, "live");
  EXPECT_GE(changes.load(), 1);

  // Out of range: refused, the configuration in force stays, the refusal is counted.
  put("shop:\n  greeting: bad\n  limit: 500\n");
  ASSERT_TRUE(eventually([&] { return app_->config().reload_failures() >= 1; })) << "the bad value was not refused";
  EXPECT_EQ(shop().limit, 42);
  EXPECT_EQ(shop().greeting, "live");
  // YAML that does not parse: refused too.
  put("shop: {greeting: [\n");
  ASSERT_TRUE(eventually([&] { return app_->config().reload_failures() >= 2; }));
  EXPECT_EQ(shop().greeting, "live");
  std::string m = metrics();
  EXPECT_NE(m.find("svckit_config_reload_failures_total 2"), std::string::npos) << m;
  EXPECT_NE(m.find("svckit_config_remote_updates_total"), std::string::npos) << m;
  std::ifstream log(dir_ / "app.log");
  std::string lines((std::istreambuf_iterator<char>(log)), {});
  EXPECT_NE(lines.find("config reload rejected"), std::string::npos) << lines;
  EXPECT_NE(lines.find("shop.limit"), std::string::npos) << lines;

  // A good value again is taken; deleting the key falls back to the files.
  put("shop:\n  greeting: fixed\n");
  ASSERT_TRUE(eventually([&] { return shop().greeting == "fixed"; }));
  EXPECT_EQ(shop().limit, 10);
  ASSERT_EQ(etcd_->ctl("del /config/shop"), 0);
  ASSERT_TRUE(eventually([&] { return shop().greeting == "from-file"; }));
}

TEST_F(RemoteConfigTest, AWatchSurvivesAnEtcdRestart) {
  ASSERT_TRUE(etcd_->start());
  put("shop:\n  limit: 3\n");
  ASSERT_FALSE(init({})) << stderr_;
  ASSERT_TRUE(app_->start().ok());
  EXPECT_EQ(shop().limit, 3);
  etcd_->stop();
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(shop().limit, 3);  // an outage changes nothing
  ASSERT_TRUE(etcd_->start());
  put("shop:\n  limit: 4\n");
  ASSERT_TRUE(eventually([&] { return shop().limit == 4; }, 15s)) << "the watch did not come back after the restart";
}

TEST_F(RemoteConfigTest, AnUnreachableEtcdFailsTheStartOnlyWhenRequired) {
  // etcd not started.
  ASSERT_FALSE(init({})) << stderr_;
  EXPECT_EQ(shop().greeting, "from-file");
  app_.reset();
  auto exit = init({"config.remote.required=true", "config.remote.timeout=200ms"});
  ASSERT_TRUE(exit);
  EXPECT_EQ(*exit, 2);
  EXPECT_NE(stderr_.find("config.remote: etcd /config/shop"), std::string::npos) << stderr_;
  app_.reset();
}

TEST_F(RemoteConfigTest, ABadRemoteValueRefusesTheStart) {
  ASSERT_TRUE(etcd_->start());
  put("shop:\n  limit: 0\n");
  auto exit = init({});
  ASSERT_TRUE(exit);
  EXPECT_EQ(*exit, 2);
  EXPECT_NE(stderr_.find("shop.limit"), std::string::npos) << stderr_;
  EXPECT_NE(stderr_.find("etcd /config/shop"), std::string::npos) << stderr_;
  app_.reset();
}

}  // namespace
}  // namespace svckit::app
