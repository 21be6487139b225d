// discovery:/// channel pools over real gRPC servers: calls go round the registered instances, and
// the pool follows the registry as instances come and go.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "ping.grpc.pb.h"
#include "svckit/discovery/static_registry.hpp"
#include "svckit/grpc/grpc.hpp"

namespace svckit::grpc {
namespace {

using svckit::test::v1::Ping;
using svckit::test::v1::PingReply;
using svckit::test::v1::PingRequest;

// Answers with its own name.
class Named final : public Ping::CallbackService {
 public:
  explicit Named(std::string name) : name_(std::move(name)) {}
  ::grpc::ServerUnaryReactor* Ping(::grpc::CallbackServerContext* call, const PingRequest*, PingReply* reply) override {
    reply->set_text(name_);
    auto* r = call->DefaultReactor();
    r->Finish(::grpc::Status::OK);
    return r;
  }

 private:
  std::string name_;
};

class ChannelDiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int k = 0; k < 2; ++k) {
      services_.push_back(std::make_unique<Named>("s" + std::to_string(k)));
      ServerSettings s;
      s.host = "127.0.0.1";
      s.port = 0;
      s.reflection = false;
      servers_.push_back(std::make_unique<Server>(s, log::Logger({.level = log::Level::kOff}), registries_[k]));
      servers_.back()->add_service(services_.back().get());
      ASSERT_TRUE(servers_.back()->start().ok());
      ASSERT_TRUE(registry_->add(instance("s" + std::to_string(k), servers_.back()->port())).ok());
    }
  }
  void TearDown() override {
    for (auto& s : servers_) s->shutdown();
  }
  static discovery::Instance instance(std::string id, int port) {
    discovery::Instance i;
    i.id = std::move(id);
    i.name = "ping";
    i.endpoints = {"grpc://127.0.0.1:" + std::to_string(port)};
    return i;
  }
  std::map<std::string, int> calls(ChannelPool& pool, int n) {
    std::map<std::string, int> out;
    for (int k = 0; k < n; ++k) {
      auto stub = Ping::NewStub(pool.get());
      ::grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      PingRequest req;
      PingReply reply;
      auto st = stub->Ping(&ctx, req, &reply);
      ++out[st.ok() ? reply.text() : "error " + std::to_string(st.error_code())];
    }
    return out;
  }

  metrics::Registry registries_[2];
  std::vector<std::unique_ptr<Named>> services_;
  std::vector<std::unique_ptr<Server>> servers_;
  std::shared_ptr<discovery::StaticRegistry> registry_ = std::make_shared<discovery::StaticRegistry>();
};

TEST_F(ChannelDiscoveryTest, CallsGoRoundTheInstancesAndFollowTheRegistry) {
  ChannelPool pool("discovery:///ping", {.discovery = registry_});
  EXPECT_EQ(pool.size(), 2u);
  auto n = calls(pool, 20);
  EXPECT_EQ(n["s0"], 10);
  EXPECT_EQ(n["s1"], 10);
  registry_->remove("ping", "s0");
  EXPECT_EQ(pool.size(), 1u);
  n = calls(pool, 10);
  EXPECT_EQ(n["s1"], 10);
  registry_->remove("ping", "s1");
  n = calls(pool, 2);
  EXPECT_EQ(n["error " + std::to_string(::grpc::StatusCode::UNAVAILABLE)], 2) << "no instance: UNAVAILABLE";
  ASSERT_TRUE(registry_->add(instance("s0", servers_[0]->port())).ok());
  n = calls(pool, 4);
  EXPECT_EQ(n["s0"], 4);
}

TEST_F(ChannelDiscoveryTest, ADiscoveryTargetNeedsARegistry) {
  EXPECT_THROW(ChannelPool("discovery:///ping"), std::invalid_argument);
}

}  // namespace
}  // namespace svckit::grpc
