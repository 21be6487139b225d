// The grpc: section from YAML: grpc.limits as a list of per-method items, each item's errors named
// grpc.limits[i].field with file:line, and a server given bad limits in code refusing to start.
#include "svckit/grpc/settings.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "svckit/config/config.hpp"
#include "svckit/grpc/grpc.hpp"

namespace svckit::grpc {
namespace {

namespace fs = std::filesystem;

class GrpcSettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("svckit-grpc-settings-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "test");
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result<ServerSettings> load(const std::string& yaml) {
    std::ofstream(dir_ / "base.yaml") << yaml;
    config::ConfigOptions o;
    o.dir = dir_.string();
    o.env = "test";
    config::Config cfg(o);
    cfg.define<ServerSettings>("grpc");
    if (Status st = cfg.load(); !st.ok()) return std::unexpected(st);
    return cfg.get<ServerSettings>("grpc");
  }

  fs::path dir_;
};

TEST_F(GrpcSettingsTest, LimitsBindFromAListOfMethods) {
  auto s = load(
      "grpc:\n"
      "  limits:\n"
      "    - method: /svckit.chat.v1.ChatService/BidirectionalChat\n"
      "      rate: 100\n"
      "      burst: 200\n"
      "      max_in_flight: 10\n"
      "    - {method: /Ping/Ping, rate: 0.5}\n");
  ASSERT_TRUE(s) << s.error().to_string();
  ASSERT_EQ(s->limits.size(), 2u);
  EXPECT_EQ(s->limits[0].method, "/svckit.chat.v1.ChatService/BidirectionalChat");
  EXPECT_EQ(s->limits[0].rate, 100);
  EXPECT_EQ(s->limits[0].burst, 200);
  EXPECT_EQ(s->limits[0].max_in_flight, 10u);
  EXPECT_EQ(s->limits[1].method, "/Ping/Ping");  // a service without a package
  EXPECT_EQ(s->limits[1].rate, 0.5);
  EXPECT_EQ(s->limits[1].burst, 0);  // the rate's, when the server builds the bucket
  EXPECT_EQ(s->limits[1].max_in_flight, 0u);
}

TEST_F(GrpcSettingsTest, NoLimitsByDefault) {
  auto s = load("grpc:\n  port: 0\n");
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_TRUE(s->limits.empty());
}

TEST_F(GrpcSettingsTest, EachItemsErrorsNameItsFieldAndLine) {
  auto s = load(
      "grpc:\n"                                // 1
      "  limits:\n"                            // 2
      "    - method: /chat.Chat/Join\n"        // 3
      "      rate: 100\n"                      // 4
      "    - method: chat.Chat/Join\n"         // 5
      "      rate: 1\n"                        // 6
      "    - method: /chat.Chat/Join/extra\n"  // 7
      "      max_in_flight: 1\n"               // 8
      "    - method: /chat.Chat/Leave\n"       // 9
      "      rate: -1\n"                       // 10
      "      max_in_flight: lots\n"            // 11
      "    - method: /chat.Chat/Say\n"         // 12
      "      speed: 1\n"                       // 13
      "      rate: 1\n"                        // 14
      "    - rate: 1\n");                      // 15
  ASSERT_FALSE(s);
  std::string msg(s.error().message());
  EXPECT_NE(msg.find("grpc.limits[1].method: expected the method's full name, /package.Service/Method ("),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("base.yaml:5)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("grpc.limits[2].method: expected the method's full name"), std::string::npos) << msg;
  EXPECT_NE(msg.find("base.yaml:7)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("grpc.limits[3].rate: -1 is outside [0, "), std::string::npos) << msg;
  EXPECT_NE(msg.find("base.yaml:10)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("grpc.limits[3].max_in_flight: \"lots\" is not an integer"), std::string::npos) << msg;
  EXPECT_NE(msg.find("base.yaml:11)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("grpc.limits[4].speed: unknown key"), std::string::npos) << msg;
  EXPECT_NE(msg.find("grpc.limits[5].method: required but not set"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("grpc.limits[0]"), std::string::npos) << msg;
}

TEST_F(GrpcSettingsTest, AnItemWithNeitherRateNorConcurrencyIsRejected) {
  auto s = load("grpc:\n  limits:\n    - {method: /chat.Chat/Join, burst: 5}\n");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("grpc.limits[0]: set rate, max_in_flight or both"), std::string_view::npos)
      << s.error().message();
}

TEST(GrpcLimits, AServerGivenBadLimitsInCodeDoesNotStart) {
  for (const MethodLimit& bad : {MethodLimit{.method = "Chat", .rate = 1}, MethodLimit{.method = "/a/b/c", .rate = 1},
                                 MethodLimit{.method = "/svc/M"}, MethodLimit{.method = "/svc/M", .rate = -1}}) {
    ServerSettings s;
    s.port = 0;
    s.host = "127.0.0.1";
    s.limits = {{.method = "/svc/Fine", .rate = 1}, bad};
    Server server(s);
    Status st = server.start();
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << bad.method;
    EXPECT_NE(st.message().find("grpc.limits[1]: "), std::string_view::npos) << st.message();
  }
}

}  // namespace
}  // namespace svckit::grpc
