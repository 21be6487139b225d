#include "svckit/discovery/static_registry.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "svckit/config/config.hpp"
#include "svckit/core/runtime.hpp"
#include "svckit/discovery/settings.hpp"

namespace svckit::discovery {
namespace {

Instance inst(std::string service, std::string id, int port) {
  Instance i;
  i.id = std::move(id);
  i.name = std::move(service);
  i.endpoints = {"http://127.0.0.1:" + std::to_string(port)};
  return i;
}

std::vector<std::string> ids(const std::vector<Instance>& set) {
  std::vector<std::string> out;
  for (const auto& i : set) out.push_back(i.id);
  return out;
}

TEST(StaticRegistryTest, AWatchGetsTheWholeSetOnEveryChange) {
  StaticRegistry r;
  ASSERT_TRUE(r.add(inst("user-svc", "u1", 8001)).ok());
  std::vector<std::vector<std::string>> seen;
  auto w = r.watch("user-svc", [&](const std::vector<Instance>& set) { seen.push_back(ids(set)); });
  ASSERT_TRUE(r.add(inst("user-svc", "u2", 8002)).ok());
  ASSERT_TRUE(r.add(inst("user-svc-admin", "x", 8003)).ok());  // another service: not this watch's
  r.remove("user-svc", "u1");
  r.remove("user-svc", "nope");  // no change, no call
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], (std::vector<std::string>{"u1"}));
  EXPECT_EQ(seen[1], (std::vector<std::string>{"u1", "u2"}));
  EXPECT_EQ(seen[2], (std::vector<std::string>{"u2"}));
  w.reset();
  ASSERT_TRUE(r.add(inst("user-svc", "u3", 8004)).ok());
  EXPECT_EQ(seen.size(), 3u);  // the ended watch is not called
}

TEST(StaticRegistryTest, RefusesInstancesNoClientCouldReach) {
  StaticRegistry r;
  EXPECT_EQ(r.add(inst("user-svc", "", 8001)).code(), Code::kInvalidArgument);
  EXPECT_EQ(r.add(inst("", "u1", 8001)).code(), Code::kInvalidArgument);
  Instance wildcard = inst("user-svc", "u1", 8001);
  wildcard.endpoints = {"http://0.0.0.0:8001"};
  Status st = r.add(wildcard);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("wildcard"), std::string::npos) << st.to_string();
  EXPECT_TRUE(r.snapshot("user-svc").empty());
}

TEST(StaticRegistryTest, CoroutineFormsRegisterAndDeregister) {
  Runtime rt(RuntimeOptions{.workers = 1});
  StaticRegistry r;
  Instance u1 = inst("user-svc", "u1", 8001);
  auto got = rt.block_on([&]() -> Task<Result<std::vector<Instance>>> {
    Status st = co_await r.register_instance(Context(), u1);
    if (!st.ok()) co_return std::unexpected(st);
    auto after = co_await r.instances(Context(), "user-svc");
    co_await r.deregister(Context(), u1);
    co_return after;
  }());
  ASSERT_TRUE(got) << got.error().to_string();
  EXPECT_EQ(ids(*got), (std::vector<std::string>{"u1"}));
  EXPECT_TRUE(r.snapshot("user-svc").empty());
  Context cancelled = Context().with_cancel();
  cancelled.cancel();
  EXPECT_EQ(rt.block_on(r.register_instance(cancelled, u1)).code(), Code::kCancelled);
}

class DiscoverySettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("svckit-discovery-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_ / "dev");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  Result<DiscoverySettings> load(const std::string& yaml) {
    std::ofstream(dir_ / "base.yaml") << yaml;
    config::Config cfg(config::ConfigOptions{.dir = dir_.string(), .env = "dev"});
    cfg.define<DiscoverySettings>("discovery");
    if (Status st = cfg.load(); !st.ok()) return std::unexpected(st);
    return cfg.get<DiscoverySettings>("discovery");
  }
  std::filesystem::path dir_;
};

TEST_F(DiscoverySettingsTest, BindsTheStaticListIntoARegistry) {
  auto s = load(
      "discovery:\n"
      "  backend: static\n"
      "  static:\n"
      "    - {id: u1, name: user-svc, endpoints: [http://127.0.0.1:8001], weight: 50, zone: a}\n"
      "    - {id: u2, name: user-svc, endpoints: [http://127.0.0.1:8002, grpc://127.0.0.1:9002]}\n");
  ASSERT_TRUE(s) << s.error().to_string();
  ASSERT_EQ(s->instances.size(), 2u);
  EXPECT_EQ(s->instances[0].weight, 50u);
  EXPECT_EQ(s->instances[0].zone, "a");
  EXPECT_EQ(s->instances[1].endpoint("grpc"), "127.0.0.1:9002");
  auto r = StaticRegistry::from(s->instances);
  ASSERT_TRUE(r);
  EXPECT_EQ(ids((*r)->snapshot("user-svc")), (std::vector<std::string>{"u1", "u2"}));
}

TEST_F(DiscoverySettingsTest, ABadItemIsNamedWithItsPathAndLine) {
  auto s = load(
      "discovery:\n"
      "  static:\n"
      "    - {id: u1, name: user-svc, endpoints: [http://127.0.0.1:8001]}\n"
      "    - {id: u2, name: user-svc, endpoints: [http://0.0.0.0:8002]}\n");
  ASSERT_FALSE(s);
  std::string why = s.error().to_string();
  EXPECT_NE(why.find("static[1]"), std::string::npos) << why;
  EXPECT_NE(why.find("static[1].endpoints"), std::string::npos) << why;
  EXPECT_NE(why.find("wildcard"), std::string::npos) << why;
  EXPECT_NE(why.find("base.yaml:4"), std::string::npos) << why;
  auto no_name = load("discovery:\n  static:\n    - {id: u1, endpoints: [http://127.0.0.1:8001]}\n");
  ASSERT_FALSE(no_name);
  EXPECT_NE(no_name.error().to_string().find("service's name"), std::string::npos) << no_name.error().to_string();
  auto slow_beat = load("discovery:\n  backend: file\n  file: {dir: /tmp/r, ttl: 1s, heartbeat: 800ms}\n");
  ASSERT_FALSE(slow_beat);
  EXPECT_NE(slow_beat.error().to_string().find("half the ttl"), std::string::npos) << slow_beat.error().to_string();
  auto file = load("discovery:\n  backend: file\n  file: {dir: /tmp/r, ttl: 9s}\n");
  ASSERT_TRUE(file) << file.error().to_string();
  EXPECT_EQ(file->backend, Backend::kFile);
  EXPECT_EQ(file->file.ttl, std::chrono::milliseconds(9000));
  EXPECT_EQ(file->file.heartbeat, std::chrono::milliseconds(3000));  // the default
  auto bad_backend = load("discovery:\n  backend: zookeeper\n");
  ASSERT_FALSE(bad_backend);
  EXPECT_NE(bad_backend.error().to_string().find("static"), std::string::npos) << bad_backend.error().to_string();
}

}  // namespace
}  // namespace svckit::discovery
