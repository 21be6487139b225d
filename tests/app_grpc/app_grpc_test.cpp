// A gRPC-only service the way a user writes it: an App with no HTTP traffic port that owns its gRPC
// server (app.serve): started with the App, grpc.health.v1 following readiness without user code,
// readiness checks run as probes, NOT_SERVING from the first moment of the stop sequence, stopped after
// the on_stop hooks.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "ping.grpc.pb.h"
#include "svckit/app/app.hpp"
#include "svckit/grpc/grpc.hpp"
#include "svckit/grpc/service.hpp"
#include "svckit/testing/grpc/health_check.hpp"

using namespace std::chrono_literals;

namespace svckit {
namespace {

using svckit::test::v1::PingReply;
using svckit::test::v1::PingRequest;

const std::string kServing("\x08\x01", 2);
const std::string kNotServing("\x08\x02", 2);

// Polls grpc.health.v1 until it answers `want` (or 5 s pass); returns the last answer.
std::string await_health(const std::shared_ptr<::grpc::Channel>& channel, const std::string& want) {
  std::string answer;
  for (int i = 0; i < 250; ++i) {
    if (grpc::testing::health_check(channel, &answer).ok() && answer == want) return answer;
    std::this_thread::sleep_for(20ms);
  }
  return answer;
}

TEST(AppGrpc, TheAppOwnsTheServerHealthFollowsReadinessAndNoHttpPortOpens) {
  metrics::Registry registry;
  app::App app({.name = "pinger", .registry = &registry, .http = false});
  app.define<grpc::ServerSettings>("grpc");
  std::vector<std::string> args = {"pinger",
                                   "--config-dir",
                                   "none",
                                   "--set",
                                   "admin.port=0",
                                   "--set",
                                   "grpc.port=0",
                                   "--set",
                                   "grpc.host=127.0.0.1",
                                   "--set",
                                   "admin.readiness_interval=20ms",
                                   "--set",
                                   "log.level=error"};
  std::vector<const char*> argv;
  for (auto& a : args) argv.push_back(a.c_str());
  ASSERT_FALSE(app.init(static_cast<int>(argv.size()), argv.data()).has_value());

  std::atomic<bool> ready{true};
  std::atomic<bool> checked_as_probe{false};
  app.readiness().add("dependency", [&](const Context& ctx) -> Task<Status> {
    checked_as_probe = is_probe(ctx);
    co_return ready ? Status() : Status(Code::kUnavailable, "dependency down");
  });

  grpc::Service ping("svckit.test.v1.Ping");
  ping.unary<PingRequest, PingReply>("Ping", [](Context&, const PingRequest& in, PingReply& out) {
    out.set_text(in.text());
    return Status();
  });
  grpc::Server server(app.settings<grpc::ServerSettings>("grpc"), app.logger(), registry);
  server.add_service(&ping);
  app.serve(server);
  std::atomic<bool> hook_ran_while_serving{false};
  app.on_stop([&]() -> Task<void> {
    // The hooks run before the gRPC server stops: a call still goes through here.
    auto stub = svckit::test::v1::Ping::NewStub(
        ::grpc::CreateChannel("127.0.0.1:" + std::to_string(server.port()), ::grpc::InsecureChannelCredentials()));
    auto call = [&stub] {
      PingRequest req;
      req.set_text("during stop");
      PingReply reply;
      ::grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + 5s);
      return stub->Ping(&ctx, req, &reply).ok() && reply.text() == "during stop";
    };
    Context ctx = Context().with_timeout(10s);
    auto ok = co_await run_blocking(ctx, call);
    hook_ran_while_serving = ok && *ok;
  });

  ASSERT_TRUE(app.start().ok());
  EXPECT_EQ(app.http_port(), 0);  // no HTTP traffic port
  EXPECT_NE(app.admin_port(), 0);
  ASSERT_NE(server.port(), 0);
  auto channel =
      ::grpc::CreateChannel("127.0.0.1:" + std::to_string(server.port()), ::grpc::InsecureChannelCredentials());

  EXPECT_EQ(await_health(channel, kServing), kServing);
  EXPECT_TRUE(checked_as_probe.load());
  ready = false;
  EXPECT_EQ(await_health(channel, kNotServing), kNotServing);
  ready = true;
  EXPECT_EQ(await_health(channel, kServing), kServing);

  // Calls work and are the service's (counted); health checks are not.
  auto stub = svckit::test::v1::Ping::NewStub(channel);
  PingRequest req;
  req.set_text("hi");
  PingReply reply;
  ::grpc::ClientContext cctx;
  ASSERT_TRUE(stub->Ping(&cctx, req, &reply).ok());
  EXPECT_EQ(reply.text(), "hi");
  std::string m = registry.render();
  EXPECT_NE(m.find(R"(grpc_server_handled_total{grpc_service="svckit.test.v1.Ping",grpc_method="Ping",)"),
            std::string::npos)
      << m;
  EXPECT_EQ(m.find("grpc.health"), std::string::npos) << m;

  app.request_stop();
  app.wait();
  EXPECT_TRUE(hook_ran_while_serving.load());
  // Stopped: nothing answers on the port any more.
  std::string answer;
  EXPECT_FALSE(grpc::testing::health_check(channel, &answer).ok());
}

TEST(AppGrpc, ServeBeforeInitIsAProgrammerError) {
  app::App app({.name = "early", .http = false});
  app::ServedServer nothing;
  EXPECT_THROW(app.serve(std::move(nothing)), std::logic_error);
}

}  // namespace
}  // namespace svckit
