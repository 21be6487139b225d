// svckit::grpc end to end in one process: a svckit Server and clients on ChannelPool, over real
// HTTP/2 on 127.0.0.1. What the interceptors promise: RED metrics by code, the deadline carried as
// grpc-timeout into the handler's Context and on to the next hop, a caller → client → server span
// chain, and Status ↔ gRPC codes both ways.
#include "svckit/grpc/grpc.hpp"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <thread>

#include "ping.grpc.pb.h"
#include "svckit/grpc/admission.hpp"
#include "svckit/resilience/shedder.hpp"
#include "svckit/testing/grpc/health_check.hpp"
#include "svckit/trace/tracer.hpp"

namespace svckit::grpc {
namespace {

using svckit::test::v1::Ping;
using svckit::test::v1::PingReply;
using svckit::test::v1::PingRequest;

class PingService final : public Ping::CallbackService {
  ::grpc::ServerUnaryReactor* Ping(::grpc::CallbackServerContext* call, const PingRequest* req,
                                   PingReply* reply) override {
    if (auto* refused = refuse_if_limited(call)) return refused;
    auto* reactor = call->DefaultReactor();
    Context ctx = context_of(call);
    reply->set_deadline_left_ms(
        ctx.deadline() ? std::chrono::duration_cast<std::chrono::milliseconds>(ctx.remaining()).count() : -1);
    if (req->sleep_ms() > 0) {
      auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(req->sleep_ms());
      while (std::chrono::steady_clock::now() < until && !ctx.done())
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      // Noticed the deadline: answer a little late, as real handlers do, so the answer cannot race the
      // client's own deadline timer (the Context's deadline is the client's minus the transit).
      if (ctx.done()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    reply->set_text(req->text());
    if (auto span = trace::span_from(ctx)) {
      reply->set_trace_id(span->trace_id.hex());
      reply->set_span_id(span->span_id.hex());
    }
    if (!req->forward_to().empty()) {
      // The next hop, called with this handler's Context: its deadline and trace go along.
      ChannelPool pool(req->forward_to());
      auto stub = Ping::NewStub(pool.get());
      auto cctx = client_context(ctx);
      PingRequest next;
      next.set_text("forwarded");
      PingReply down;
      auto st = stub->Ping(cctx.get(), next, &down);
      if (!st.ok()) {
        reactor->Finish(st);
        return reactor;
      }
      reply->set_text(std::to_string(down.deadline_left_ms()) + " " + down.trace_id() + " " + down.span_id());
    }
    if (req->fail_code() != 0)
      reactor->Finish(::grpc::Status(static_cast<::grpc::StatusCode>(req->fail_code()), "told to fail"));
    else
      reactor->Finish(::grpc::Status::OK);
    return reactor;
  }

  // Replies to every message with how many it has seen.
  ::grpc::ServerBidiReactor<PingRequest, PingReply>* Count(::grpc::CallbackServerContext* call) override {
    if (Status st = admit(call); !st.ok()) return refused_stream<PingRequest, PingReply>(st);
    class Counter final : public ::grpc::ServerBidiReactor<PingRequest, PingReply> {
     public:
      Counter() { StartRead(&in_); }
      void OnReadDone(bool ok) override {
        if (!ok) return Finish(::grpc::Status::OK);
        out_.set_text(std::to_string(++n_));
        StartWrite(&out_);
      }
      void OnWriteDone(bool ok) override {
        if (!ok) return Finish(::grpc::Status::CANCELLED);
        StartRead(&in_);
      }
      void OnDone() override { delete this; }

     private:
      PingRequest in_;
      PingReply out_;
      int n_ = 0;
    };
    return new Counter();
  }
};

class GrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ring_ = std::make_shared<trace::RingBufferProcessor>(100);
    tracer_ = std::make_shared<trace::Tracer>(trace::TracerOptions{
        .resource = trace::Resource::detect("grpc-test"), .propagation = {trace::Format::kW3C}, .processors = {ring_}});
    trace::Tracer::set_global(tracer_);
    ServerSettings s = settings();
    s.host = "127.0.0.1";
    s.port = 0;
    server_ = std::make_unique<Server>(s, log::Logger(), registry_);
    server_->add_service(&service_);
    configure(*server_);
    ASSERT_TRUE(server_->start().ok());
    target_ = "127.0.0.1:" + std::to_string(server_->port());
    pool_ = std::make_unique<ChannelPool>(target_);
    stub_ = Ping::NewStub(pool_->get());
  }
  void TearDown() override {
    stub_.reset();
    pool_.reset();
    server_->shutdown();
    trace::Tracer::set_global(nullptr);
  }
  virtual ServerSettings settings() { return {}; }
  virtual void configure(Server&) {}
  std::string metrics() const { return registry_.render(); }
  // The spans the ring holds, of one kind.
  std::vector<trace::SpanData> spans(trace::SpanKind kind) const {
    std::vector<trace::SpanData> out;
    for (auto& s : ring_->recent())
      if (s.kind == kind) out.push_back(s);
    return out;
  }

  metrics::Registry registry_;
  PingService service_;
  std::unique_ptr<Server> server_;
  std::string target_;
  std::unique_ptr<ChannelPool> pool_;
  std::unique_ptr<Ping::Stub> stub_;
  std::shared_ptr<trace::RingBufferProcessor> ring_;
  std::shared_ptr<trace::Tracer> tracer_;
};

TEST_F(GrpcTest, UnaryCallIsCountedByCode) {
  PingRequest req;
  req.set_text("hi");
  PingReply reply;
  auto cctx = client_context(Context());
  ASSERT_TRUE(stub_->Ping(cctx.get(), req, &reply).ok());
  EXPECT_EQ(reply.text(), "hi");
  req.set_fail_code(static_cast<int>(::grpc::StatusCode::NOT_FOUND));
  auto cctx2 = client_context(Context());
  auto st = stub_->Ping(cctx2.get(), req, &reply);
  EXPECT_EQ(st.error_code(), ::grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(from_grpc(st).code(), Code::kNotFound);
  std::string m = metrics();
  const std::string labels = R"(grpc_service="svckit.test.v1.Ping",grpc_method="Ping",grpc_type="unary")";
  EXPECT_NE(m.find("grpc_server_handled_total{" + labels + R"(,grpc_code="OK"} 1)"), std::string::npos) << m;
  EXPECT_NE(m.find("grpc_server_handled_total{" + labels + R"(,grpc_code="NOT_FOUND"} 1)"), std::string::npos) << m;
  EXPECT_NE(m.find("grpc_server_started_total{" + labels + "} 2"), std::string::npos) << m;
  EXPECT_NE(m.find("grpc_server_handling_seconds_count{" + labels + "} 2"), std::string::npos) << m;
  // One message each way per call, as go-grpc-prometheus counts them: the failed call sent none.
  EXPECT_NE(m.find("grpc_server_msg_received_total{" + labels + "} 2"), std::string::npos) << m;
  EXPECT_NE(m.find("grpc_server_msg_sent_total{" + labels + "} 1"), std::string::npos) << m;
  EXPECT_NE(m.find(R"(grpc_server_streams_in_flight{grpc_service="svckit.test.v1.Ping",grpc_method="Ping"} 0)"),
            std::string::npos)
      << m;
  std::string client = metrics::Registry::global().render();
  EXPECT_NE(client.find(R"(grpc_client_handled_total{grpc_service="svckit.test.v1.Ping",grpc_method="Ping",)"
                        R"(grpc_code="NOT_FOUND"})"),
            std::string::npos)
      << client;
}

TEST_F(GrpcTest, APortAnotherServerListensOnFailsStart) {
  ServerSettings s;
  s.host = "127.0.0.1";
  s.port = server_->port();
  Server second(s, log::Logger(), registry_);
  PingService other;
  second.add_service(&other);
  Status st = second.start();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_NE(st.message().find("share_port"), std::string::npos) << st.to_string();
  // The first server still answers every call.
  for (int i = 0; i < 4; ++i) {
    PingRequest req;
    req.set_text("still here");
    PingReply reply;
    ::grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->Ping(&ctx, req, &reply).ok());
    EXPECT_EQ(reply.text(), "still here");
  }
}

// With a generated service the interceptor factory is installed; it still leaves health checks alone.
TEST_F(GrpcTest, HealthChecksAreNotObservedBesideAGeneratedService) {
  std::string answer;
  ASSERT_TRUE(testing::health_check(pool_->get(), &answer).ok());
  EXPECT_EQ(answer, std::string("\x08\x01", 2));
  PingRequest req;
  req.set_text("hi");
  PingReply reply;
  ::grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->Ping(&ctx, req, &reply).ok());
  std::string m = metrics();
  EXPECT_EQ(m.find("grpc.health"), std::string::npos) << m;
  EXPECT_NE(m.find(R"(grpc_server_handled_total{grpc_service="svckit.test.v1.Ping",grpc_method="Ping")"),
            std::string::npos)
      << m;
}

TEST_F(GrpcTest, StatusCodesMapBothWays) {
  for (Code c : {Code::kInvalidArgument, Code::kNotFound, Code::kAlreadyExists, Code::kUnavailable,
                 Code::kDeadlineExceeded, Code::kResourceExhausted, Code::kFailedPrecondition, Code::kAborted}) {
    Status st(c, "x");
    EXPECT_EQ(from_grpc(to_grpc(st)).code(), c) << code_name(c);
  }
  EXPECT_TRUE(to_grpc(Status()).ok());
  auto g = to_grpc(Status(Code::kResourceExhausted, "slow down").with_reason("RATE_LIMITED"));
  EXPECT_EQ(g.error_code(), ::grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(g.error_message(), "RATE_LIMITED: slow down");
}

TEST_F(GrpcTest, DeadlineArrivesAsTheHandlersContextDeadline) {
  PingRequest req;
  PingReply reply;
  auto cctx = client_context(Context().with_timeout(std::chrono::milliseconds(5000)));
  ASSERT_TRUE(stub_->Ping(cctx.get(), req, &reply).ok());
  // grpc-timeout has a unit and rounds up: a few ms of slack above the caller's figure. The lower
  // bounds leave seconds for a loaded sanitizer run.
  EXPECT_GT(reply.deadline_left_ms(), 2500);
  EXPECT_LE(reply.deadline_left_ms(), 5050);
  // Without a deadline in the caller's Context the fallback bounds the call.
  auto fallback = client_context(Context(), std::chrono::milliseconds(9000));
  ASSERT_TRUE(stub_->Ping(fallback.get(), req, &reply).ok());
  EXPECT_GT(reply.deadline_left_ms(), 6500);
  EXPECT_LE(reply.deadline_left_ms(), 9050);
}

TEST_F(GrpcTest, ExpiredDeadlineEndsTheCallAndTheHandlersContext) {
  PingRequest req;
  PingReply reply;
  // Connect first (a call answered NOT_FOUND, so no OK is counted): under a sanitizer the connection
  // set-up alone can outlast a short deadline, and then the server never sees the call at all.
  req.set_fail_code(static_cast<int>(::grpc::StatusCode::NOT_FOUND));
  auto warm = client_context(Context().with_timeout(std::chrono::seconds(30)));
  ASSERT_EQ(stub_->Ping(warm.get(), req, &reply).error_code(), ::grpc::StatusCode::NOT_FOUND);
  req.set_fail_code(0);
  req.set_sleep_ms(20000);  // the handler watches its Context and stops early
  auto cctx = client_context(Context().with_timeout(std::chrono::milliseconds(1000)));
  auto t0 = std::chrono::steady_clock::now();
  auto st = stub_->Ping(cctx.get(), req, &reply);
  EXPECT_EQ(st.error_code(), ::grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  // The handler stopped at its Context's deadline and answered OK to nobody: the server counts what
  // the client got.
  const std::string labels = R"(grpc_service="svckit.test.v1.Ping",grpc_method="Ping",grpc_type="unary")";
  const std::string expired = "grpc_server_handled_total{" + labels + R"(,grpc_code="DEADLINE_EXCEEDED"} 1)";
  std::string m;
  for (int i = 0; i < 1000; ++i) {  // the handler's answer lands just after the client's deadline
    m = metrics();
    if (m.find(expired) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NE(m.find(expired), std::string::npos) << m;
  EXPECT_EQ(m.find(R"(grpc_code="OK"} 1)"), std::string::npos) << m;
}

TEST_F(GrpcTest, CallerClientAndServerSpansFormOneTrace) {
  auto caller = tracer_->start_span("caller", trace::SpanKind::kInternal, std::nullopt);
  Context ctx = trace::with_span(Context(), caller.context());
  PingRequest req;
  PingReply reply;
  auto cctx = client_context(ctx);
  ASSERT_TRUE(stub_->Ping(cctx.get(), req, &reply).ok());
  caller.end();
  auto clients = spans(trace::SpanKind::kClient);
  auto servers = spans(trace::SpanKind::kServer);
  ASSERT_EQ(clients.size(), 1u);
  ASSERT_EQ(servers.size(), 1u);
  EXPECT_EQ(clients[0].name, "svckit.test.v1.Ping/Ping");
  EXPECT_EQ(clients[0].context.trace_id, caller.context().trace_id);
  EXPECT_EQ(clients[0].parent_span_id, caller.context().span_id);
  EXPECT_EQ(servers[0].context.trace_id, caller.context().trace_id);
  EXPECT_EQ(servers[0].parent_span_id, clients[0].context.span_id);  // not the caller's: the client span's
  EXPECT_EQ(reply.trace_id(), caller.context().trace_id.hex());
  EXPECT_EQ(reply.span_id(), servers[0].context.span_id.hex());
}

// A sampled call's server span is the exemplar of its handling-time bucket (OpenMetrics only); an
// unsampled caller's trace never is.
TEST_F(GrpcTest, SampledCallsLeaveExemplarsOnTheirHandlingTimeBucket) {
  trace::SpanContext unsampled{.trace_id = trace::TraceId::random(), .span_id = trace::SpanId::random()};
  PingRequest req;
  PingReply reply;
  auto quiet = client_context(trace::with_span(Context(), unsampled));
  ASSERT_TRUE(stub_->Ping(quiet.get(), req, &reply).ok());
  auto caller = tracer_->start_span("caller", trace::SpanKind::kInternal, std::nullopt);
  auto traced = client_context(trace::with_span(Context(), caller.context()));
  ASSERT_TRUE(stub_->Ping(traced.get(), req, &reply).ok());
  caller.end();
  auto servers = spans(trace::SpanKind::kServer);
  ASSERT_EQ(servers.size(), 1u);
  std::string om = registry_.render(metrics::Format::kOpenMetrics);
  const std::string exemplar =
      " # {trace_id=\"" + caller.context().trace_id.hex() + "\",span_id=\"" + servers[0].context.span_id.hex() + "\"} ";
  auto at = om.find(exemplar);
  ASSERT_NE(at, std::string::npos) << om;
  const std::string bucket = "grpc_server_handling_seconds_bucket{grpc_service=\"svckit.test.v1.Ping\"";
  EXPECT_EQ(om.substr(om.rfind('\n', at) + 1, bucket.size()), bucket);
  EXPECT_EQ(om.find(unsampled.trace_id.hex()), std::string::npos) << om;
  EXPECT_EQ(om.find(" # {"), at);  // the only exemplar
  EXPECT_EQ(om.find(" # {", at + 1), std::string::npos) << om;
  EXPECT_EQ(registry_.render().find(" # {"), std::string::npos);  // none in the Prometheus text
}

TEST_F(GrpcTest, ClientSpanRecordsTheErrorCode) {
  PingRequest req;
  req.set_fail_code(static_cast<int>(::grpc::StatusCode::UNAVAILABLE));
  PingReply reply;
  auto cctx = client_context(Context());
  EXPECT_FALSE(stub_->Ping(cctx.get(), req, &reply).ok());
  auto clients = spans(trace::SpanKind::kClient);
  ASSERT_EQ(clients.size(), 1u);
  EXPECT_EQ(clients[0].status, trace::StatusCode::kError);
  EXPECT_NE(clients[0].status_message.find("UNAVAILABLE"), std::string::npos);
}

TEST_F(GrpcTest, NextHopGetsTheRemainingDeadlineAndTheTrace) {
  ServerSettings s;
  s.host = "127.0.0.1";
  s.port = 0;
  metrics::Registry second_registry;
  PingService second_service;
  Server second(s, log::Logger(), second_registry);
  second.add_service(&second_service);
  ASSERT_TRUE(second.start().ok());
  PingRequest req;
  req.set_forward_to("127.0.0.1:" + std::to_string(second.port()));
  req.set_sleep_ms(1500);  // hop 1 spends 1.5 s before it calls hop 2
  PingReply reply;
  auto cctx = client_context(Context().with_timeout(std::chrono::milliseconds(6000)));
  ASSERT_TRUE(stub_->Ping(cctx.get(), req, &reply).ok());
  // "<deadline left at hop 2> <trace id at hop 2> <span id at hop 2>"
  std::istringstream in(reply.text());
  long long left = 0;
  std::string trace_id, span_id;
  in >> left >> trace_id >> span_id;
  EXPECT_GT(reply.deadline_left_ms(), 3500);  // hop 1 at entry
  EXPECT_GT(left, 1000);
  EXPECT_LT(left, reply.deadline_left_ms() - 1200);  // hop 2 got what remained, not a fresh budget
  EXPECT_EQ(trace_id, reply.trace_id());
  EXPECT_NE(span_id, reply.span_id());
  second.shutdown();
}

TEST_F(GrpcTest, StreamMessagesAreCounted) {
  auto cctx = client_context(Context());
  auto stream = stub_->Count(cctx.get());
  PingRequest req;
  PingReply reply;
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(stream->Write(req));
    ASSERT_TRUE(stream->Read(&reply));
    EXPECT_EQ(reply.text(), std::to_string(i));
  }
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
  std::string m = metrics();
  const std::string labels = R"(grpc_service="svckit.test.v1.Ping",grpc_method="Count",grpc_type="bidi_stream")";
  EXPECT_NE(m.find("grpc_server_msg_received_total{" + labels + "} 5"), std::string::npos) << m;
  EXPECT_NE(m.find("grpc_server_msg_sent_total{" + labels + "} 5"), std::string::npos) << m;
  EXPECT_NE(m.find("grpc_server_handled_total{" + labels + R"(,grpc_code="OK"} 1)"), std::string::npos) << m;
}

// A shedder whose CPU reading the test sets: hot, it refuses calls beyond what it has seen pass.
class ShedGrpcTest : public GrpcTest {
 protected:
  void configure(Server& server) override {
    shedder_ =
        std::make_shared<resilience::Shedder>(resilience::ShedderSettings{.cpu = [this] { return cpu_.load(); }});
    server.set_shedder(shedder_);
  }
  // Starts a call that stays in its handler for `ms`, and waits until the shedder counts it.
  std::jthread slow_call(int ms, ::grpc::StatusCode* code) {
    std::jthread t([this, ms, code] {
      PingRequest req;
      req.set_sleep_ms(ms);
      PingReply reply;
      auto cctx = client_context(Context().with_timeout(std::chrono::seconds(30)));
      *code = stub_->Ping(cctx.get(), req, &reply).error_code();
    });
    for (int i = 0; i < 3000 && shedder_->in_flight() < 1; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return t;
  }
  ::grpc::Status quick_call() {
    PingRequest req;
    PingReply reply;
    auto cctx = client_context(Context().with_timeout(std::chrono::seconds(30)));
    return stub_->Ping(cctx.get(), req, &reply);
  }
  std::atomic<double> cpu_{0.99};
  std::shared_ptr<resilience::Shedder> shedder_;
};

TEST_F(ShedGrpcTest, AHotServerOverItsProvenConcurrencyRefusesWithUnavailable) {
  ::grpc::StatusCode slow_code = ::grpc::StatusCode::UNKNOWN;
  std::jthread slow = slow_call(3000, &slow_code);
  ASSERT_EQ(shedder_->in_flight(), 1);
  // Hot, and nothing has passed yet: one call in flight is all it allows. A client without a retry
  // policy sees the refusal, with a 1 s retry pushback (gRFC A6) in the trailers.
  PingRequest req;
  PingReply reply;
  auto plain = Ping::NewStub(::grpc::CreateChannel(target_, ::grpc::InsecureChannelCredentials()));
  auto cctx = client_context(Context().with_timeout(std::chrono::seconds(30)));
  auto refused = plain->Ping(cctx.get(), req, &reply);
  EXPECT_EQ(refused.error_code(), ::grpc::StatusCode::UNAVAILABLE) << refused.error_message();
  EXPECT_NE(refused.error_message().find("OVERLOADED"), std::string::npos) << refused.error_message();
  auto pushback = cctx->GetServerTrailingMetadata().find("grpc-retry-pushback-ms");
  ASSERT_NE(pushback, cctx->GetServerTrailingMetadata().end());
  EXPECT_EQ(std::string(pushback->second.data(), pushback->second.size()), "1000");
  // svckit's channels retry UNAVAILABLE: they wait out the pushback instead of retrying at once, so
  // a call with 800 ms to live is shed once and then runs out of time waiting.
  auto retrying = client_context(Context().with_timeout(std::chrono::milliseconds(800)));
  EXPECT_EQ(stub_->Ping(retrying.get(), req, &reply).error_code(), ::grpc::StatusCode::DEADLINE_EXCEEDED);
  slow.join();
  EXPECT_EQ(slow_code, ::grpc::StatusCode::OK);  // what was admitted finishes
  EXPECT_TRUE(quick_call().ok());                // nothing in flight: admitted again
  EXPECT_EQ(shedder_->in_flight(), 0);
  std::string m = metrics();
  EXPECT_NE(m.find(R"(grpc_server_shed_total{grpc_service="svckit.test.v1.Ping",grpc_method="Ping"} 2)"),
            std::string::npos)
      << m;
}

TEST_F(ShedGrpcTest, ACoolServerDoesNotShed) {
  cpu_ = 0.2;
  ::grpc::StatusCode slow_code = ::grpc::StatusCode::UNKNOWN;
  std::jthread slow = slow_call(500, &slow_code);
  EXPECT_TRUE(quick_call().ok());
  slow.join();
  EXPECT_EQ(slow_code, ::grpc::StatusCode::OK);
  EXPECT_EQ(shedder_->dropped(), 0u);
}

class LimitedGrpcTest : public GrpcTest {
 protected:
  ServerSettings settings() override {
    ServerSettings s;
    s.limits = {{.method = "/svckit.test.v1.Ping/Ping", .rate = 0.001, .burst = 2},
                {.method = "/svckit.test.v1.Ping/Count", .max_in_flight = 1}};
    return s;
  }
};

TEST_F(LimitedGrpcTest, ARateLimitedMethodAnswersResourceExhausted) {
  PingRequest req;
  PingReply reply;
  std::vector<::grpc::StatusCode> codes;
  for (int i = 0; i < 3; ++i) {
    auto cctx = client_context(Context());
    auto st = stub_->Ping(cctx.get(), req, &reply);
    codes.push_back(st.error_code());
    if (!st.ok()) {
      EXPECT_NE(st.error_message().find("RATE_LIMITED"), std::string::npos) << st.error_message();
    }
  }
  EXPECT_EQ(codes, (std::vector<::grpc::StatusCode>{::grpc::StatusCode::OK, ::grpc::StatusCode::OK,
                                                    ::grpc::StatusCode::RESOURCE_EXHAUSTED}));
  std::string m = metrics();
  EXPECT_NE(m.find(R"(grpc_server_limited_total{grpc_service="svckit.test.v1.Ping",grpc_method="Ping"} 1)"),
            std::string::npos)
      << m;
}

TEST_F(LimitedGrpcTest, AConcurrencyLimitedStreamIsRefusedUntilTheOpenOneEnds) {
  PingRequest req;
  PingReply reply;
  auto first_ctx = client_context(Context());
  auto first = stub_->Count(first_ctx.get());
  ASSERT_TRUE(first->Write(req));
  ASSERT_TRUE(first->Read(&reply));  // open and admitted
  auto second_ctx = client_context(Context());
  auto second = stub_->Count(second_ctx.get());
  second->Write(req);
  EXPECT_FALSE(second->Read(&reply));
  auto refused = second->Finish();
  EXPECT_EQ(refused.error_code(), ::grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(refused.error_message().find("CONCURRENCY_LIMITED"), std::string::npos) << refused.error_message();
  first->WritesDone();
  EXPECT_TRUE(first->Finish().ok());
  // The permit is released when the first call's bookkeeping ends, just after its status is sent.
  bool admitted = false;
  for (int i = 0; i < 100 && !admitted; ++i) {
    auto ctx = client_context(Context());
    auto again = stub_->Count(ctx.get());
    again->Write(req);
    admitted = again->Read(&reply);
    again->WritesDone();
    again->Finish();
    if (!admitted) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(admitted);
}

}  // namespace
}  // namespace svckit::grpc
