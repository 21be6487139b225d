// svckit::grpc::Service (svckit's own dispatch) end to end over real HTTP/2 on 127.0.0.1: typed
// handlers of every call kind, observation without grpc++ interceptors (each call counted once),
// admission decided before the handler runs, throws answered INTERNAL, the async unary responder,
// and registrations checked against the .proto.
#include "svckit/grpc/service.hpp"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <latch>
#include <mutex>
#include <thread>

#include "ping.grpc.pb.h"
#include "svckit/log/sink.hpp"
#include "svckit/testing/grpc/health_check.hpp"
#include "svckit/trace/tracer.hpp"

namespace svckit::grpc {
namespace {

using svckit::test::v1::Ping;
using svckit::test::v1::PingReply;
using svckit::test::v1::PingRequest;

class CaptureSink : public log::Sink {
 public:
  void write(std::string_view line) override {
    std::lock_guard lock(mu);
    text += line;
  }
  std::string all() {
    std::lock_guard lock(mu);
    return text;
  }
  std::mutex mu;
  std::string text;
};

// Replies to every message with how many it has seen; "finish" ends the call with that count as
// INVALID_ARGUMENT's message, "throw" throws.
class Counter final : public ServerStream<PingRequest, PingReply> {
  void on_message(PingRequest& m) override {
    if (m.text() == "throw") throw std::runtime_error("told to throw");
    out_.set_text(std::to_string(++n_));
    write(out_);
  }
  void on_write_done(bool ok) override {
    if (ok) read();
  }

  PingReply out_;
  int n_ = 0;
};

// Server streaming: the one request, then a reply per word.
class Watcher final : public ServerStream<PingRequest, PingReply> {
  void on_message(PingRequest& m) override {
    std::istringstream in(m.text());
    for (std::string w; in >> w;) words_.push_back(w);
    next();
  }
  void on_read_end() override {}  // a server-streaming client half-closes at once: keep writing
  void on_write_done(bool ok) override {
    if (!ok) return finish(Status(Code::kCancelled, "gone"));
    next();
  }
  void next() {
    if (i_ == words_.size()) return finish(Status());
    out_.set_text(words_[i_++]);
    write(out_);
  }
  std::vector<std::string> words_;
  std::size_t i_ = 0;
  PingReply out_;
};

// Client streaming: joins what it got, answers once at the end.
class Joiner final : public ServerStream<PingRequest, PingReply> {
  void on_message(PingRequest& m) override {
    if (!all_.empty()) all_ += ",";
    all_ += m.text();
    read();
  }
  void on_read_end() override {
    out_.set_text(all_);
    write_last(out_);
  }
  std::string all_;
  PingReply out_;
};

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ring_ = std::make_shared<trace::RingBufferProcessor>(100);
    tracer_ = std::make_shared<trace::Tracer>(trace::TracerOptions{
        .resource = trace::Resource::detect("grpc-test"), .propagation = {trace::Format::kW3C}, .processors = {ring_}});
    trace::Tracer::set_global(tracer_);
    service_.unary<PingRequest, PingReply>("Ping", [this](Context& ctx, const PingRequest& in, PingReply& out) {
      handled_.fetch_add(1);
      if (in.text() == "throw") throw std::runtime_error("told to throw");
      out.set_text(in.text());
      out.set_deadline_left_ms(
          ctx.deadline() ? std::chrono::duration_cast<std::chrono::milliseconds>(ctx.remaining()).count() : -1);
      if (auto span = trace::span_from(ctx)) {
        out.set_trace_id(span->trace_id.hex());
        out.set_span_id(span->span_id.hex());
      }
      if (in.fail_code() != 0) return Status(code_from_grpc(in.fail_code()), "told to fail");
      return Status();
    });
    service_.stream<PingRequest, PingReply>("Count", [this](Context&) {
      handled_.fetch_add(1);
      return std::make_unique<Counter>();
    });
    service_.stream<PingRequest, PingReply>("Watch", [](Context&) { return std::make_unique<Watcher>(); });
    service_.stream<PingRequest, PingReply>("Join", [](Context&) { return std::make_unique<Joiner>(); });
    ServerSettings s = settings();
    s.host = "127.0.0.1";
    s.port = 0;
    server_ = std::make_unique<Server>(s, log::Logger(log::LoggerOptions{.sink = sink_}), registry_);
    server_->add_service(&service_);
    ASSERT_TRUE(server_->start().ok());
    pool_ = std::make_unique<ChannelPool>("127.0.0.1:" + std::to_string(server_->port()));
    stub_ = Ping::NewStub(pool_->get());
  }
  void TearDown() override {
    stub_.reset();
    pool_.reset();
    server_->shutdown();
    trace::Tracer::set_global(nullptr);
  }
  virtual ServerSettings settings() { return {}; }
  std::string metrics() const { return registry_.render(); }
  // A stream is observed when its last operation completes, just after the client has its status.
  std::string wait_for_metric(const std::string& series) const {
    std::string m;
    for (int i = 0; i < 500; ++i) {
      m = metrics();
      if (m.find(series) != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return m;
  }
  ::grpc::Status ping(const std::string& text, PingReply* reply, int fail_code = 0,
                      Context ctx = Context().with_timeout(std::chrono::seconds(30))) {
    PingRequest req;
    req.set_text(text);
    req.set_fail_code(fail_code);
    auto cctx = client_context(ctx);
    return stub_->Ping(cctx.get(), req, reply);
  }

  std::shared_ptr<CaptureSink> sink_ = std::make_shared<CaptureSink>();
  metrics::Registry registry_;
  Service service_{"svckit.test.v1.Ping"};
  std::atomic<int> handled_{0};
  std::unique_ptr<Server> server_;
  std::unique_ptr<ChannelPool> pool_;
  std::unique_ptr<Ping::Stub> stub_;
  std::shared_ptr<trace::RingBufferProcessor> ring_;
  std::shared_ptr<trace::Tracer> tracer_;
};

const std::string kPing = R"(grpc_service="svckit.test.v1.Ping",grpc_method="Ping",grpc_type="unary")";

TEST_F(ServiceTest, UnaryCallsAreAnsweredAndCountedOnceByCode) {
  PingReply reply;
  ASSERT_TRUE(ping("hi", &reply).ok());
  EXPECT_EQ(reply.text(), "hi");
  auto st = ping("x", &reply, static_cast<int>(::grpc::StatusCode::NOT_FOUND));
  EXPECT_EQ(st.error_code(), ::grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(st.error_message(), "told to fail");
  std::string m = metrics();
  // Once each: were grpc++'s interceptor also observing these calls, every count would be doubled.
  EXPECT_NE(m.find("grpc_server_started_total{" + kPing + "} 2"), std::string::npos) << m;
  EXPECT_NE(m.find("grpc_server_handled_total{" + kPing + R"(,grpc_code="OK"} 1)"), std::string::npos) << m;
  EXPECT_NE(m.find("grpc_server_handled_total{" + kPing + R"(,grpc_code="NOT_FOUND"} 1)"), std::string::npos) << m;
  EXPECT_NE(m.find("grpc_server_handling_seconds_count{" + kPing + "} 2"), std::string::npos) << m;
  // One message in per call, one out per successful call (go-grpc-prometheus' unary counting).
  EXPECT_NE(m.find("grpc_server_msg_received_total{" + kPing + "} 2"), std::string::npos) << m;
  EXPECT_NE(m.find("grpc_server_msg_sent_total{" + kPing + "} 1"), std::string::npos) << m;
  EXPECT_NE(m.find(R"(grpc_server_streams_in_flight{grpc_service="svckit.test.v1.Ping",grpc_method="Ping"} 0)"),
            std::string::npos)
      << m;
  std::string log = sink_->all();
  EXPECT_NE(log.find(R"("grpc_service":"svckit.test.v1.Ping","grpc_method":"Ping","grpc_code":"NOT_FOUND")"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find(R"("error":"told to fail","peer":"ipv4:127.0.0.1:)"), std::string::npos) << log;
  // Both call lines: OK with its code and duration, neither naming a source line of the framework's.
  EXPECT_NE(log.find(R"("grpc_method":"Ping","grpc_code":"OK","duration":)"), std::string::npos) << log;
  EXPECT_EQ(log.find(R"("msg":"grpc call","caller")"), std::string::npos) << log;
}

// A server of svckit Services only installs no grpc++ interceptor factory; health checks are answered
// (following readiness) and, like reflection, not counted, traced or logged as the service's calls.
TEST_F(ServiceTest, HealthChecksAreAnsweredButNotObserved) {
  std::string answer;
  ASSERT_TRUE(testing::health_check(pool_->get(), &answer).ok());
  EXPECT_EQ(answer, std::string("\x08\x01", 2));  // SERVING
  PingReply reply;
  ASSERT_TRUE(ping("hi", &reply).ok());
  std::string m = metrics();
  EXPECT_EQ(m.find("grpc.health"), std::string::npos) << m;
  EXPECT_NE(m.find("grpc_server_handled_total{" + kPing + R"(,grpc_code="OK"} 1)"), std::string::npos) << m;
  EXPECT_EQ(sink_->all().find("grpc.health"), std::string::npos) << sink_->all();
  server_->set_serving(false);
  ASSERT_TRUE(testing::health_check(pool_->get(), &answer).ok());
  EXPECT_EQ(answer, std::string("\x08\x02", 2));  // NOT_SERVING
}

TEST_F(ServiceTest, TheHandlersContextHasTheDeadlineAndTheServerSpan) {
  auto caller = tracer_->start_span("caller", trace::SpanKind::kInternal, std::nullopt);
  PingReply reply;
  ASSERT_TRUE(
      ping("", &reply, 0, trace::with_span(Context().with_timeout(std::chrono::seconds(5)), caller.context())).ok());
  caller.end();
  EXPECT_GT(reply.deadline_left_ms(), 2500);
  EXPECT_LE(reply.deadline_left_ms(), 5050);
  std::vector<trace::SpanData> servers;
  for (auto& s : ring_->recent())
    if (s.kind == trace::SpanKind::kServer) servers.push_back(s);
  ASSERT_EQ(servers.size(), 1u);
  EXPECT_EQ(servers[0].name, "svckit.test.v1.Ping/Ping");
  EXPECT_EQ(servers[0].context.trace_id, caller.context().trace_id);
  EXPECT_EQ(reply.trace_id(), caller.context().trace_id.hex());
  EXPECT_EQ(reply.span_id(), servers[0].context.span_id.hex());
}

TEST_F(ServiceTest, B3AndJaegerParentsBaggageAndRequestIdsArriveFromMetadata) {
  auto tracer = std::make_shared<trace::Tracer>(
      trace::TracerOptions{.resource = trace::Resource::detect("grpc-test"),
                           .propagation = {trace::Format::kB3Multi, trace::Format::kJaeger},
                           .processors = {ring_}});
  trace::Tracer::set_global(tracer);
  struct Case {
    std::vector<std::pair<std::string, std::string>> metadata;
    std::string trace_id;  // the parent's, as the server span must carry it
  };
  const std::string b3_trace = "463ac35c9f6413ad48485a3953bb6124", jaeger_trace = "0000000000000000a7ad6b7169203331";
  std::vector<Case> cases = {
      {{{"x-b3-traceid", b3_trace}, {"x-b3-spanid", "a2fb4a1d1a96d312"}, {"x-b3-sampled", "1"}}, b3_trace},
      {{{"uber-trace-id", "a7ad6b7169203331:0062ef9fc4f1e2a1:0:1"}}, jaeger_trace},
  };
  for (const auto& c : cases) {
    PingRequest req;
    PingReply reply;
    ::grpc::ClientContext cctx;
    cctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    for (const auto& [k, v] : c.metadata) cctx.AddMetadata(k, v);
    // A raw channel: svckit's client interceptor would rewrite the propagation headers.
    auto plain = Ping::NewStub(
        ::grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()), ::grpc::InsecureChannelCredentials()));
    ASSERT_TRUE(plain->Ping(&cctx, req, &reply).ok());
    EXPECT_EQ(reply.trace_id(), c.trace_id);
  }
  // Baggage and x-request-id: the request id lands in the call's log line.
  ::grpc::ClientContext cctx;
  cctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  cctx.AddMetadata("x-request-id", "req-42");
  cctx.AddMetadata("baggage", "tenant=acme");
  auto plain = Ping::NewStub(
      ::grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()), ::grpc::InsecureChannelCredentials()));
  PingRequest req;
  PingReply reply;
  ASSERT_TRUE(plain->Ping(&cctx, req, &reply).ok());
  EXPECT_NE(sink_->all().find(R"("request_id":"req-42")"), std::string::npos) << sink_->all();
}

TEST_F(ServiceTest, AThrowingHandlerAnswersInternalLogsAndTheServerKeepsServing) {
  PingReply reply;
  auto st = ping("throw", &reply);
  EXPECT_EQ(st.error_code(), ::grpc::StatusCode::INTERNAL);
  EXPECT_NE(sink_->all().find("told to throw"), std::string::npos) << sink_->all();
  EXPECT_TRUE(ping("after", &reply).ok());
  // A stream whose hook throws ends INTERNAL too.
  auto cctx = client_context(Context().with_timeout(std::chrono::seconds(30)));
  auto stream = stub_->Count(cctx.get());
  PingRequest req;
  req.set_text("throw");
  stream->Write(req);
  EXPECT_FALSE(stream->Read(&reply));
  EXPECT_EQ(stream->Finish().error_code(), ::grpc::StatusCode::INTERNAL);
  const std::string internal = R"(grpc_method="Count",grpc_type="bidi_stream",grpc_code="INTERNAL"} 1)";
  std::string m = wait_for_metric(internal);
  EXPECT_NE(m.find(internal), std::string::npos) << m;
}

TEST_F(ServiceTest, EveryStreamingKindIsServed) {
  const std::string count = R"(grpc_service="svckit.test.v1.Ping",grpc_method="Count",grpc_type="bidi_stream")";
  {
    auto cctx = client_context(Context().with_timeout(std::chrono::seconds(30)));
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
  }
  {
    auto cctx = client_context(Context().with_timeout(std::chrono::seconds(30)));
    PingRequest req;
    req.set_text("one two three");
    auto reader = stub_->Watch(cctx.get(), req);
    std::vector<std::string> got;
    for (PingReply r; reader->Read(&r);) got.push_back(r.text());
    EXPECT_TRUE(reader->Finish().ok());
    EXPECT_EQ(got, (std::vector<std::string>{"one", "two", "three"}));
  }
  {
    auto cctx = client_context(Context().with_timeout(std::chrono::seconds(30)));
    PingReply reply;
    auto writer = stub_->Join(cctx.get(), &reply);
    for (const char* t : {"a", "b", "c"}) {
      PingRequest req;
      req.set_text(t);
      ASSERT_TRUE(writer->Write(req));
    }
    writer->WritesDone();
    EXPECT_TRUE(writer->Finish().ok());
    EXPECT_EQ(reply.text(), "a,b,c");
  }
  // A call's metrics are recorded as its handler finishes, which may be just after the client saw the
  // call end: wait for each series rather than for the last call's.
  for (const std::string& series :
       {std::string(R"(grpc_method="Join",grpc_type="client_stream",grpc_code="OK"} 1)"),
        "grpc_server_msg_received_total{" + count + "} 5", "grpc_server_msg_sent_total{" + count + "} 5",
        "grpc_server_handled_total{" + count + R"(,grpc_code="OK"} 1)",
        std::string(R"(grpc_method="Watch",grpc_type="server_stream"} 3)"),
        std::string(R"(grpc_method="Join",grpc_type="client_stream"} 3)")}) {
    std::string m = wait_for_metric(series);
    EXPECT_NE(m.find(series), std::string::npos) << m;
  }
}

TEST_F(ServiceTest, ACancelledStreamEndsCancelled) {
  auto cctx = client_context(Context().with_timeout(std::chrono::seconds(30)));
  auto stream = stub_->Count(cctx.get());
  PingRequest req;
  PingReply reply;
  ASSERT_TRUE(stream->Write(req));
  ASSERT_TRUE(stream->Read(&reply));
  cctx->TryCancel();
  EXPECT_EQ(stream->Finish().error_code(), ::grpc::StatusCode::CANCELLED);
  std::string m = wait_for_metric(R"(grpc_method="Count",grpc_type="bidi_stream",grpc_code="CANCELLED"} 1)");
  EXPECT_NE(m.find(R"(grpc_method="Count",grpc_type="bidi_stream",grpc_code="CANCELLED"} 1)"), std::string::npos) << m;
  EXPECT_NE(m.find(R"(grpc_server_streams_in_flight{grpc_service="svckit.test.v1.Ping",grpc_method="Count"} 0)"),
            std::string::npos)
      << m;
}

class LimitedServiceTest : public ServiceTest {
 protected:
  ServerSettings settings() override {
    ServerSettings s;
    s.limits = {{.method = "/svckit.test.v1.Ping/Ping", .rate = 0.001, .burst = 2},
                {.method = "/svckit.test.v1.Ping/Count", .max_in_flight = 1}};
    return s;
  }
};

TEST_F(LimitedServiceTest, LimitsRefuseBeforeTheHandlerRuns) {
  PingReply reply;
  EXPECT_TRUE(ping("1", &reply).ok());
  EXPECT_TRUE(ping("2", &reply).ok());
  // A client without a retry policy sees the refusal, and the time to the next token as the gRFC A6
  // pushback in the trailers.
  auto plain = Ping::NewStub(
      ::grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()), ::grpc::InsecureChannelCredentials()));
  PingRequest three;
  three.set_text("3");
  auto cctx = client_context(Context().with_timeout(std::chrono::seconds(30)));
  auto refused = plain->Ping(cctx.get(), three, &reply);
  EXPECT_EQ(refused.error_code(), ::grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(refused.error_message().find("RATE_LIMITED"), std::string::npos) << refused.error_message();
  auto pushback = cctx->GetServerTrailingMetadata().find("grpc-retry-pushback-ms");
  ASSERT_NE(pushback, cctx->GetServerTrailingMetadata().end());
  EXPECT_GT(std::stoll(std::string(pushback->second.data(), pushback->second.size())), 1000);
  EXPECT_EQ(handled_.load(), 2);  // the refused call never reached the handler: no admit() needed
  // A second stream while one is open: refused, its factory never called.
  auto first_ctx = client_context(Context().with_timeout(std::chrono::seconds(30)));
  auto first = stub_->Count(first_ctx.get());
  PingRequest req;
  ASSERT_TRUE(first->Write(req));
  ASSERT_TRUE(first->Read(&reply));
  auto second_ctx = client_context(Context().with_timeout(std::chrono::seconds(30)));
  auto second = stub_->Count(second_ctx.get());
  second->Write(req);
  EXPECT_FALSE(second->Read(&reply));
  auto st = second->Finish();
  EXPECT_EQ(st.error_code(), ::grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(st.error_message().find("CONCURRENCY_LIMITED"), std::string::npos) << st.error_message();
  EXPECT_EQ(handled_.load(), 3);
  first->WritesDone();
  EXPECT_TRUE(first->Finish().ok());
  std::string m = metrics();
  EXPECT_NE(m.find(R"(grpc_server_limited_total{grpc_service="svckit.test.v1.Ping",grpc_method="Ping"} 1)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find(R"(grpc_server_limited_total{grpc_service="svckit.test.v1.Ping",grpc_method="Count"} 1)"),
            std::string::npos)
      << m;
}

// A server on a free port of 127.0.0.1 with one service, and a stub on a ChannelPool to it.
struct Served {
  Served(Service& service, metrics::Registry& registry) : server(settings(), log::Logger(), registry) {
    server.add_service(&service);
    started = server.start().ok();
    pool =
        std::make_unique<ChannelPool>("127.0.0.1:" + std::to_string(server.port()), ChannelOptions{.max_attempts = 2});
    stub = Ping::NewStub(pool->get());
  }
  static ServerSettings settings() {
    ServerSettings s;
    s.host = "127.0.0.1";
    s.port = 0;
    return s;
  }
  Server server;
  bool started = false;
  std::unique_ptr<ChannelPool> pool;
  std::unique_ptr<Ping::Stub> stub;
};

// A value the call check puts in the Context (what auth_grpc's check does with the principal).
struct Caller {
  std::string name;
};

TEST(ServiceCallCheckTest, ChecksSeeMetadataRefuseBeforeTheHandlerAndPassValuesToIt) {
  metrics::Registry registry;
  Service service("svckit.test.v1.Ping");
  std::atomic<int> handled{0};
  service.unary<PingRequest, PingReply>("Ping", [&](Context& ctx, const PingRequest&, PingReply& out) {
    ++handled;
    const Caller* c = ctx.value<Caller>();
    out.set_text(c ? c->name : "none");
    return Status();
  });
  service.stream<PingRequest, PingReply>("Count", [&](Context& ctx) {
    ++handled;
    EXPECT_NE(ctx.value<Caller>(), nullptr);
    return std::make_unique<Counter>();
  });
  std::vector<std::string> seen;
  std::mutex mu;
  Server server(Served::settings(), log::Logger(), registry);
  server.add_service(&service);
  server.add_call_check([&](IncomingCall& call) {
    {
      std::lock_guard lock(mu);
      seen.emplace_back(call.method());
    }
    auto who = call.metadata("x-caller");
    if (!who) return Status(Code::kUnauthenticated, "NO_CALLER", "who are you?");
    call.context() = call.context().with_value(Caller{std::string(*who)});
    return Status();
  });
  ASSERT_TRUE(server.start().ok());
  auto stub = Ping::NewStub(
      ::grpc::CreateChannel("127.0.0.1:" + std::to_string(server.port()), ::grpc::InsecureChannelCredentials()));
  PingRequest in;
  PingReply out;
  {
    ::grpc::ClientContext ctx;
    auto st = stub->Ping(&ctx, in, &out);
    EXPECT_EQ(st.error_code(), ::grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_NE(st.error_message().find("NO_CALLER"), std::string::npos) << st.error_message();
    EXPECT_EQ(handled.load(), 0);
  }
  {
    ::grpc::ClientContext ctx;
    ctx.AddMetadata("x-caller", "alice");
    ASSERT_TRUE(stub->Ping(&ctx, in, &out).ok());
    EXPECT_EQ(out.text(), "alice");
  }
  {
    ::grpc::ClientContext ctx;
    ctx.AddMetadata("x-caller", "bob");
    auto stream = stub->Count(&ctx);
    ASSERT_TRUE(stream->Write(in));
    ASSERT_TRUE(stream->Read(&out));
    stream->WritesDone();
    while (stream->Read(&out)) {
    }
    EXPECT_TRUE(stream->Finish().ok());
  }
  EXPECT_EQ(handled.load(), 2);
  std::lock_guard lock(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{"/svckit.test.v1.Ping/Ping", "/svckit.test.v1.Ping/Ping",
                                            "/svckit.test.v1.Ping/Count"}));
  server.shutdown();
}

TEST(ServiceAsyncTest, TheResponderAnswersFromAnotherThreadAndADroppedOneAnswersInternal) {
  metrics::Registry registry;
  Service service("svckit.test.v1.Ping");
  std::vector<std::jthread> workers;
  std::mutex mu;
  service.unary_async<PingRequest, PingReply>("Ping", [&](const PingRequest& in, UnaryResponder<PingReply> r) {
    std::lock_guard lock(mu);
    if (in.text() == "drop") return;  // r is destroyed unanswered
    workers.emplace_back([text = in.text(), r = std::move(r)]() mutable {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      r.response().set_text(text + "!");
      r.finish(text == "fail" ? Status(Code::kUnavailable, "later") : Status());
    });
  });
  Served served(service, registry);
  ASSERT_TRUE(served.started);
  auto& stub = served.stub;
  auto call = [&](const std::string& text, PingReply* reply) {
    PingRequest req;
    req.set_text(text);
    auto cctx = client_context(Context().with_timeout(std::chrono::seconds(30)));
    return stub->Ping(cctx.get(), req, reply);
  };
  PingReply reply;
  auto hello = call("hello", &reply);
  ASSERT_TRUE(hello.ok()) << hello.error_code() << " " << hello.error_message();
  EXPECT_EQ(reply.text(), "hello!");
  EXPECT_EQ(call("drop", &reply).error_code(), ::grpc::StatusCode::INTERNAL);
  auto later = call("fail", &reply);
  EXPECT_EQ(later.error_code(), ::grpc::StatusCode::UNAVAILABLE);
  {
    std::lock_guard lock(mu);
    workers.clear();  // joins
  }
  served.server.shutdown();
  std::string m = registry.render();
  EXPECT_NE(m.find("grpc_server_handled_total{" + kPing + R"(,grpc_code="INTERNAL"} 1)"), std::string::npos) << m;
  EXPECT_NE(m.find("grpc_server_handled_total{" + kPing + R"(,grpc_code="OK"} 1)"), std::string::npos) << m;
  // unary_async: a request in per call started (the channel retries the UNAVAILABLE one), one answer
  // out for the one call that succeeded.
  auto count = [&](const std::string& series) {
    auto at = m.find(series + " ");
    return at == std::string::npos ? -1.0 : std::strtod(m.c_str() + at + series.size() + 1, nullptr);
  };
  EXPECT_GE(count("grpc_server_started_total{" + kPing + "}"), 3);
  EXPECT_EQ(count("grpc_server_msg_received_total{" + kPing + "}"), count("grpc_server_started_total{" + kPing + "}"))
      << m;
  EXPECT_EQ(count("grpc_server_msg_sent_total{" + kPing + "}"), 1) << m;
}

TEST(ServiceTaskTest, CoroutineHandlersRunOnTheRuntimeWithTheCallsContext) {
  metrics::Registry registry;
  Runtime rt({.workers = 1});
  Service service("svckit.test.v1.Ping");
  service.unary_task<PingRequest, PingReply>(
      "Ping", rt, [](Context ctx, const PingRequest& in) -> Task<Result<PingReply>> {
        if (!Loop::current()) co_return make_error(Code::kInternal, "not on a loop");
        // Waits for sleep_ms or until the call's deadline, whichever comes first.
        Status slept = co_await sleep_for(ctx, std::chrono::milliseconds(in.sleep_ms()));
        if (!slept.ok()) co_return make_error(Code::kDeadlineExceeded, "gave up at the deadline");
        if (in.text() == "throw") throw std::runtime_error("told to throw");
        if (in.fail_code() != 0) co_return make_error(code_from_grpc(in.fail_code()), "told to fail");
        PingReply reply;
        reply.set_text(in.text() + "!");
        reply.set_deadline_left_ms(std::chrono::duration_cast<std::chrono::milliseconds>(ctx.remaining()).count());
        co_return reply;
      });
  Served served(service, registry);
  ASSERT_TRUE(served.started);
  auto& stub = served.stub;
  auto call = [&](const std::string& text, int sleep_ms, int fail_code, std::chrono::milliseconds deadline,
                  PingReply* reply) {
    PingRequest req;
    req.set_text(text);
    req.set_sleep_ms(sleep_ms);
    req.set_fail_code(fail_code);
    auto cctx = client_context(Context().with_timeout(deadline));
    return stub->Ping(cctx.get(), req, reply);
  };
  PingReply reply;
  auto ok = call("hi", 20, 0, std::chrono::seconds(5), &reply);
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(reply.text(), "hi!");
  EXPECT_GT(reply.deadline_left_ms(), 2500);
  EXPECT_LE(reply.deadline_left_ms(), 5050);
  EXPECT_EQ(call("x", 0, static_cast<int>(::grpc::StatusCode::NOT_FOUND), std::chrono::seconds(5), &reply).error_code(),
            ::grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(call("throw", 0, 0, std::chrono::seconds(5), &reply).error_code(), ::grpc::StatusCode::INTERNAL);
  // The call's deadline wakes the coroutine's sleep: it answers long before its 20 s.
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(call("slow", 20000, 0, std::chrono::milliseconds(1500), &reply).error_code(),
            ::grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  std::string m;
  const std::string expired = "grpc_server_handled_total{" + kPing + R"(,grpc_code="DEADLINE_EXCEEDED"} 1)";
  for (int i = 0; i < 1000 && m.find(expired) == std::string::npos; ++i) {
    m = registry.render();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NE(m.find(expired), std::string::npos) << m;
  EXPECT_NE(m.find("grpc_server_handled_total{" + kPing + R"(,grpc_code="INTERNAL"} 1)"), std::string::npos) << m;
  // A runtime that has stopped answers UNAVAILABLE instead of leaving calls to hang.
  rt.request_stop();
  rt.wait();
  EXPECT_EQ(call("late", 0, 0, std::chrono::seconds(5), &reply).error_code(), ::grpc::StatusCode::UNAVAILABLE);
  served.server.shutdown();
}

TEST(ServiceRegistrationTest, MethodsAreCheckedAgainstTheProto) {
  Service ping("svckit.test.v1.Ping");
  auto unary = [](Context&, const PingRequest&, PingReply&) { return Status(); };
  auto stream = [](Context&) { return std::unique_ptr<ServerStream<PingRequest, PingReply>>(); };
  EXPECT_THROW((ping.unary<PingRequest, PingReply>("Pong", unary)), std::invalid_argument);
  EXPECT_THROW(
      (ping.unary<PingReply, PingReply>("Ping", [](Context&, const PingReply&, PingReply&) { return Status(); })),
      std::invalid_argument);
  EXPECT_THROW((ping.unary<PingRequest, PingReply>("Count", unary)), std::invalid_argument);
  EXPECT_THROW((ping.stream<PingRequest, PingReply>("Ping", stream)), std::invalid_argument);
  ping.unary<PingRequest, PingReply>("Ping", unary);
  EXPECT_THROW((ping.unary<PingRequest, PingReply>("Ping", unary)), std::invalid_argument);
  Service missing("svckit.test.v1.Nope");
  EXPECT_THROW((missing.unary<PingRequest, PingReply>("Ping", unary)), std::invalid_argument);
}

}  // namespace
}  // namespace svckit::grpc
