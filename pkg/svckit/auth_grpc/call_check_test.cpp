// The gRPC call check over real HTTP/2 on 127.0.0.1 with svckit's own dispatch: the principal in the
// handler's Context (unary and streaming), UNAUTHENTICATED with the verifier's reason, roles per
// method, public methods, and the health service left alone.
#include "svckit/auth_grpc/call_check.hpp"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "ping.grpc.pb.h"
#include "svckit/auth/issuer.hpp"
#include "svckit/grpc/service.hpp"
#include "svckit/testing/grpc/health_check.hpp"

using namespace std::chrono_literals;

namespace svckit::auth {
namespace {

using svckit::test::v1::Ping;
using svckit::test::v1::PingReply;
using svckit::test::v1::PingRequest;

// Replies with the principal's subject to each word of the request (server streaming).
class Whoami final : public grpc::ServerStream<PingRequest, PingReply> {
  void on_message(PingRequest&) override {
    const Principal* p = principal_of(context());
    out_.set_text(p ? p->subject : "anonymous");
    write_last(out_);
  }
  void on_read_end() override {}
  PingReply out_;
};

class CallCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KeySet keys;
    ASSERT_TRUE(keys.add(key_).ok());
    issuer_ = std::make_unique<Issuer>(Issuer::create(keys, "k", {.issuer = "https://id.example"}).value());
    auto verifier = std::make_shared<Verifier>(
        std::make_shared<StaticKeys>(keys.public_set()),
        VerifierOptions{.algorithms = {Algorithm::kES256}, .issuer = "https://id.example", .typ = "at+jwt"});
    service_.unary<PingRequest, PingReply>("Ping", [](Context& ctx, const PingRequest&, PingReply& out) {
      const Principal* p = principal_of(ctx);
      out.set_text(p ? p->subject + ":" + (p->roles.empty() ? "" : p->roles[0]) : "anonymous");
      return Status();
    });
    service_.stream<PingRequest, PingReply>("Watch", [](Context&) { return std::make_unique<Whoami>(); });
    service_.stream<PingRequest, PingReply>("Count", [](Context&) { return std::make_unique<Whoami>(); });
    grpc::ServerSettings s;
    s.host = "127.0.0.1";
    s.port = 0;
    server_ = std::make_unique<grpc::Server>(s, log::Logger({.level = log::Level::kOff}));
    server_->add_service(&service_);
    server_->add_call_check(grpc_check(verifier, {.public_methods = {"/svckit.test.v1.Ping/Count"},
                                                  .method_roles = {{"/svckit.test.v1.Ping/Watch", {"admin"}}}}));
    ASSERT_TRUE(server_->start().ok());
    channel_ =
        ::grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()), ::grpc::InsecureChannelCredentials());
    stub_ = Ping::NewStub(channel_);
  }
  void TearDown() override {
    stub_.reset();
    server_->shutdown();
  }
  std::string token(std::vector<std::string> roles = {"reader"}, std::string typ = "at+jwt") {
    Claims c;
    c.set_subject("user-42").set("roles", roles);
    if (typ == "at+jwt") return issuer_->issue(c).value();
    c.set_issuer("https://id.example");
    c.set_expires_at(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) + 60s);
    return sign_jwt(key_, c, {.typ = typ}).value();
  }
  ::grpc::Status ping(const std::string& authorization, PingReply& out) {
    ::grpc::ClientContext ctx;
    if (!authorization.empty()) ctx.AddMetadata("authorization", authorization);
    PingRequest in;
    in.set_text("hi");
    return stub_->Ping(&ctx, in, &out);
  }
  ::grpc::Status watch(const std::string& method, const std::string& authorization, std::string& text) {
    ::grpc::ClientContext ctx;
    if (!authorization.empty()) ctx.AddMetadata("authorization", authorization);
    PingRequest in;
    in.set_text("hi");
    PingReply out;
    if (method == "Watch") {
      auto reader = stub_->Watch(&ctx, in);
      while (reader->Read(&out)) text = out.text();
      return reader->Finish();
    }
    auto stream = stub_->Count(&ctx);
    stream->Write(in);
    stream->WritesDone();
    while (stream->Read(&out)) text = out.text();
    return stream->Finish();
  }

  Key key_ = Key::generate(Algorithm::kES256, "k").value();
  std::unique_ptr<Issuer> issuer_;
  grpc::Service service_{"svckit.test.v1.Ping"};
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<::grpc::Channel> channel_;
  std::unique_ptr<Ping::Stub> stub_;
};

TEST_F(CallCheckTest, VerifiedCallsCarryThePrincipalOthersAreRefusedWithTheReason) {
  PingReply out;
  auto ok = ping("Bearer " + token(), out);
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(out.text(), "user-42:reader");

  auto none = ping("", out);
  EXPECT_EQ(none.error_code(), ::grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(none.error_message().find("NO_TOKEN"), std::string::npos) << none.error_message();
  auto typed = ping("Bearer " + token({"reader"}, "JWT"), out);
  EXPECT_EQ(typed.error_code(), ::grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(typed.error_message().find("WRONG_TYPE"), std::string::npos) << typed.error_message();
  std::string t = token();
  t.back() = t.back() == 'A' ? 'Q' : 'A';
  auto bad = ping("Bearer " + t, out);
  EXPECT_EQ(bad.error_code(), ::grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ping("Basic abc", out).error_code(), ::grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(CallCheckTest, RolesPerMethodPublicMethodsAndHealth) {
  std::string text;
  auto denied = watch("Watch", "Bearer " + token(), text);
  EXPECT_EQ(denied.error_code(), ::grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(denied.error_message().find("MISSING_ROLE"), std::string::npos) << denied.error_message();
  auto admin = watch("Watch", "Bearer " + token({"admin"}), text);
  ASSERT_TRUE(admin.ok()) << admin.error_message();
  EXPECT_EQ(text, "user-42");  // the streaming handler's Context has the principal
  text.clear();
  auto open = watch("Count", "", text);
  ASSERT_TRUE(open.ok()) << open.error_message();
  EXPECT_EQ(text, "anonymous");
  std::string answer;
  EXPECT_TRUE(grpc::testing::health_check(channel_, &answer).ok());  // no token, not checked
  EXPECT_EQ(answer, std::string("\x08\x01", 2));
}

}  // namespace
}  // namespace svckit::auth
