#include "svckit/http/middleware.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "svckit/http/client.hpp"
#include "svckit/http/server.hpp"
#include "svckit/testing/raw_http_client.hpp"

using namespace std::chrono_literals;

namespace svckit::http {
namespace {

class LineSink : public log::Sink {
 public:
  void write(std::string_view line) override {
    std::lock_guard lock(mu);
    lines.emplace_back(line);
  }
  std::mutex mu;
  std::vector<std::string> lines;
};

// A server with the given middleware and a client to call it, all on one runtime.
class MiddlewareTest : public ::testing::Test {
 protected:
  void start() {
    ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    server_ = std::make_unique<Server>(rt_, router_, o, log::Logger({.level = log::Level::kOff}));
    ASSERT_TRUE(server_->start().ok());
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    if (server_) rt_.block_on(server_->drain());
  }
  ClientResponse call(ClientRequest req) {
    req.url = base_ + req.url;
    auto r = rt_.block_on([](Client& c, ClientRequest q) -> Task<Result<ClientResponse>> {
      co_return co_await c.send(Context().with_timeout(5s), std::move(q));
    }(client_, std::move(req)));
    EXPECT_TRUE(r) << r.error().to_string();
    return r ? *r : ClientResponse{};
  }
  ClientRequest get(std::string path, std::vector<std::pair<std::string, std::string>> headers = {}) {
    ClientRequest r;
    r.url = std::move(path);
    r.headers = std::move(headers);
    return r;
  }

  Runtime rt_{{.workers = 1}};
  Router router_;
  Client client_{rt_, {.observe = false}};  // the test's own calls: no spans of their own
  std::unique_ptr<Server> server_;
  std::string base_;
};

TEST_F(MiddlewareTest, RequestIdAndAccessLogAndRecovery) {
  auto sink = std::make_shared<LineSink>();
  log::Logger logger({.sink = sink});
  // The default order: recovery innermost, so the request id and the access log see its 500.
  router_.use(middleware::request_id());
  router_.use(middleware::access_log(logger));
  router_.use(middleware::recovery(logger));
  router_.get("/ok", [](Request&, Response& res) { res.text(200, "ok"); });
  router_.get("/boom", [](Request&, Response&) -> void { throw std::runtime_error("kaboom"); });
  start();
  auto given = call(get("/ok", {{"X-Request-Id", "abc-123"}}));
  EXPECT_EQ(given.header("X-Request-Id"), "abc-123");
  auto generated = call(get("/ok", {{"X-Request-Id", "bad id with spaces"}}));
  EXPECT_EQ(generated.header("X-Request-Id").size(), 32u);
  auto boom = call(get("/boom"));
  EXPECT_EQ(boom.status, 500);
  EXPECT_NE(boom.body.find("\"code\":\"INTERNAL\""), std::string::npos);
  EXPECT_FALSE(boom.header("X-Request-Id").empty());
  std::lock_guard lock(sink->mu);
  int access = 0, panics = 0;
  for (auto& l : sink->lines) {
    auto j = nlohmann::json::parse(l);
    if (j["msg"] == "http request") {
      ++access;
      EXPECT_TRUE(j.contains("request_id"));
      EXPECT_EQ(j["route"], j["path"]);
      EXPECT_FALSE(j.contains("caller")) << l;  // it would name the middleware on every line
    }
    if (j["msg"] == "panic recovered: handler threw") {
      ++panics;
      EXPECT_EQ(j["error"], "kaboom");
      EXPECT_TRUE(j.contains("caller"));
    }
  }
  EXPECT_EQ(access, 3);
  EXPECT_EQ(panics, 1);
}

TEST_F(MiddlewareTest, CorsPreflightAndActualRequests) {
  router_.use(middleware::cors({.allow_origins = {"https://app.example"}, .allow_credentials = true}));
  router_.post("/api", [](Request&, Response& res) { res.text(200, "posted"); });
  start();
  auto pre = call([] {
    ClientRequest r;
    r.method = Method::kOptions;
    r.url = "/api";
    r.headers = {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "POST"}};
    return r;
  }());
  EXPECT_EQ(pre.status, 204);  // answered by CORS, not the router's 405
  EXPECT_EQ(pre.header("Access-Control-Allow-Origin"), "https://app.example");
  EXPECT_NE(pre.header("Access-Control-Allow-Methods").find("POST"), std::string_view::npos);
  EXPECT_EQ(pre.header("Access-Control-Allow-Credentials"), "true");
  EXPECT_EQ(pre.header("Access-Control-Max-Age"), "600");
  ClientRequest post;
  post.method = Method::kPost;
  post.url = "/api";
  post.headers = {{"Origin", "https://app.example"}};
  auto actual = call(post);
  EXPECT_EQ(actual.body, "posted");
  EXPECT_EQ(actual.header("Access-Control-Allow-Origin"), "https://app.example");
  post.headers = {{"Origin", "https://evil.example"}};
  auto foreign = call(post);
  EXPECT_EQ(foreign.status, 200);
  EXPECT_EQ(foreign.header("Access-Control-Allow-Origin"), "");  // the browser will block it
  post.headers = {};
  EXPECT_EQ(call(post).header("Access-Control-Allow-Origin"), "");  // not a CORS request
}

TEST_F(MiddlewareTest, GzipNegotiated) {
  router_.use(middleware::gzip());
  std::string big = "{\"items\":[" + std::string(5000, '1') + "]}";
  router_.get("/json", [big](Request&, Response& res) { res.json(200, big); });
  router_.get("/small", [](Request&, Response& res) { res.json(200, "{}"); });
  router_.get("/png", [big](Request&, Response& res) {
    res.body = big;
    res.set_header("Content-Type", "image/png");
  });
  start();
  auto zipped = call(get("/json", {{"Accept-Encoding", "br, gzip;q=0.8"}}));
  EXPECT_EQ(zipped.header("Content-Encoding"), "gzip");
  EXPECT_NE(zipped.header("Vary").find("Accept-Encoding"), std::string_view::npos);
  EXPECT_LT(zipped.body.size(), big.size() / 10);
  auto plain = middleware::gunzip(zipped.body);
  ASSERT_TRUE(plain);
  EXPECT_EQ(*plain, big);
  EXPECT_EQ(call(get("/json", {{"Accept-Encoding", "gzip;q=0"}})).header("Content-Encoding"), "");
  EXPECT_EQ(call(get("/json")).body, big);
  EXPECT_EQ(call(get("/small", {{"Accept-Encoding", "gzip"}})).header("Content-Encoding"), "");
  EXPECT_EQ(call(get("/png", {{"Accept-Encoding", "gzip"}})).header("Content-Encoding"), "");
  EXPECT_FALSE(middleware::gunzip("not gzip"));
}

TEST_F(MiddlewareTest, RealIpOnlyBehindTrustedProxies) {
  router_.use(middleware::real_ip({"127.0.0.0/8"}));
  router_.get("/ip", [](Request& req, Response& res) { res.text(200, req.client_ip()); });
  start();
  EXPECT_EQ(call(get("/ip", {{"X-Forwarded-For", "203.0.113.9, 10.1.1.1, 127.0.0.5"}})).body, "10.1.1.1");
  EXPECT_EQ(call(get("/ip", {{"X-Real-IP", "198.51.100.2"}})).body, "198.51.100.2");
  EXPECT_EQ(call(get("/ip")).body, "127.0.0.1");
}

TEST(RealIpTest, UntrustedPeerCannotSpoof) {
  Runtime rt({.workers = 1});
  Router router;
  router.use(middleware::real_ip({"10.0.0.0/8"}));
  router.get("/ip", [](Request& req, Response& res) { res.text(200, req.client_ip()); });
  Server server(rt, router, {.host = "127.0.0.1", .port = 0}, log::Logger({.level = log::Level::kOff}));
  ASSERT_TRUE(server.start().ok());
  Client client(rt);
  ClientRequest r;
  r.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/ip";
  r.headers = {{"X-Forwarded-For", "1.2.3.4"}};
  auto res = rt.block_on([](Client& c, ClientRequest q) -> Task<Result<ClientResponse>> {
    co_return co_await c.send(Context(), std::move(q));
  }(client, r));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "127.0.0.1");  // 127.0.0.1 is not a trusted proxy here
  rt.block_on(server.drain());
}

}  // namespace
}  // namespace svckit::http

namespace svckit::http {
namespace {

Task<void> hold_until_released(Request&, Response& res, std::atomic<bool>* entered, std::atomic<bool>* release) {
  entered->store(true);
  while (!release->load()) co_await sleep_for(Context(), std::chrono::milliseconds(2));
  res.text(200, "released");
}

TEST_F(MiddlewareTest, MetricsCountEveryRequestByRouteTemplate) {
  metrics::Registry registry;
  router_.use(middleware::metrics(registry));
  router_.use(middleware::recovery(log::Logger({.level = log::Level::kOff})));
  router_.get("/users/:id", [](Request&, Response& res) { res.text(200, "user"); });
  router_.post("/users", [](Request&, Response& res) { res.text(201, "made"); });
  router_.get("/boom", [](Request&, Response&) -> void { throw std::runtime_error("kaboom"); });
  std::atomic<bool> entered{false}, release{false};
  router_.get("/hold", [&](Request& req, Response& res) { return hold_until_released(req, res, &entered, &release); });
  router_.get("/metrics", metrics_handler(registry));
  start();
  for (int i = 0; i < 5; ++i) call(get("/users/" + std::to_string(i)));
  ClientRequest post;
  post.method = Method::kPost;
  post.url = "/users";
  call(post);
  call(get("/boom"));
  call(get("/no/such/path"));
  {
    testing::RawClient raw(server_->port());
    raw.send("BREW /users/1 HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = raw.response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 405);
  }

  // In flight: one request held inside its handler.
  std::thread holder([&] { call(get("/hold")); });
  while (!entered.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto during = call(get("/metrics"));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  release = true;
  holder.join();
  // Counting the /metrics call itself, two requests were in flight.
  EXPECT_NE(during.body.find("svckit_http_server_requests_in_flight 2\n"), std::string::npos) << during.body;

  auto scrape = call(get("/metrics"));
  EXPECT_EQ(scrape.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string& t = scrape.body;
  for (std::string line : {
           "svckit_http_server_requests_total{method=\"GET\",route=\"/users/:id\",status=\"200\"} 5\n",
           "svckit_http_server_requests_total{method=\"POST\",route=\"/users\",status=\"201\"} 1\n",
           "svckit_http_server_requests_total{method=\"GET\",route=\"/boom\",status=\"500\"} 1\n",
           "svckit_http_server_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1\n",
           "svckit_http_server_requests_total{method=\"OTHER\",route=\"unmatched\",status=\"405\"} 1\n",
           "svckit_http_server_requests_total{method=\"GET\",route=\"/hold\",status=\"200\"} 1\n",
           "svckit_http_server_request_duration_seconds_count{method=\"GET\",route=\"/users/:id\"} 5\n",
           "svckit_http_server_requests_in_flight 1\n",  // the scrape itself
       }) {
    EXPECT_NE(t.find(line), std::string::npos) << line << "\nin:\n" << t;
  }
  EXPECT_EQ(t.find("/users/3"), std::string::npos) << "raw paths must never become labels";
  // The held request took ≥ the time it was held: its duration landed above the smallest bucket.
  EXPECT_NE(t.find("svckit_http_server_request_duration_seconds_bucket{method=\"GET\",route=\"/hold\",le=\"0.005\"} 0"),
            std::string::npos)
      << t;

  auto om = call(get("/metrics", {{"Accept", "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"}}));
  EXPECT_EQ(om.header("Content-Type"), "application/openmetrics-text; version=1.0.0; charset=utf-8");
  EXPECT_TRUE(om.body.ends_with("# EOF\n"));
}

// The metrics middleware outside tracing: a sampled request's latency bucket shows its span's ids in
// OpenMetrics (and nothing changes in the Prometheus text); an unsampled request's never does.
TEST_F(MiddlewareTest, SampledRequestsLeaveExemplarsOnTheirLatencyBucket) {
  metrics::Registry registry;
  auto ring = std::make_shared<trace::RingBufferProcessor>(16);
  auto tracer = std::make_shared<trace::Tracer>(
      trace::TracerOptions{.resource = trace::Resource::detect("test-svc"), .processors = {ring}});
  router_.use(middleware::metrics(registry));
  router_.use(middleware::tracing({.tracer = tracer}));
  router_.get("/users/:id", [](Request&, Response& res) { res.text(200, "user"); });
  router_.get("/other", [](Request&, Response& res) { res.text(200, "other"); });
  router_.get("/metrics", metrics_handler(registry));
  start();
  const std::string unsampled = "4bf92f3577b34da6a3ce929d0e0e4736", sampled = "0af7651916cd43dd8448eb211c80319c";
  call(get("/users/1", {{"traceparent", "00-" + unsampled + "-00f067aa0ba902b7-00"}}));
  call(get("/other", {{"traceparent", "00-" + unsampled + "-00f067aa0ba902b7-00"}}));
  call(get("/users/2", {{"traceparent", "00-" + sampled + "-b7ad6b7169203331-01"}}));
  auto spans = ring->recent();
  ASSERT_EQ(spans.size(), 1u);  // the sampled request's server span (its parent is the caller's)
  const std::string span_id = spans[0].context.span_id.hex();

  auto om = call(get("/metrics", {{"Accept", "application/openmetrics-text;version=1.0.0"}})).body;
  auto text = call(get("/metrics")).body;
  EXPECT_EQ(text.find(sampled), std::string::npos) << text;
  EXPECT_EQ(text.find(" # {"), std::string::npos) << text;
  EXPECT_EQ(om.find(unsampled), std::string::npos) << om;
  std::size_t first = om.find(" # {trace_id=\"" + sampled + "\",span_id=\"" + span_id + "\"} ");
  ASSERT_NE(first, std::string::npos) << om;
  // On a /users/:id bucket line, once; and the unsampled routes have none.
  std::size_t line = om.rfind('\n', first) + 1;
  const std::string bucket = "svckit_http_server_request_duration_seconds_bucket{method=\"GET\",route=\"/users/:id\"";
  EXPECT_EQ(om.substr(line, bucket.size()), bucket);
  EXPECT_EQ(om.find("trace_id=", om.find('\n', first)), std::string::npos) << om;
}

}  // namespace
}  // namespace svckit::http

namespace svckit::http {
namespace {

Task<void> front_handler(Request& req, Response& res, Client* client, const std::string* base) {
  auto r = co_await client->get(req.ctx, *base + "/back");
  if (!r) {
    res.error(r.error());
    co_return;
  }
  res.text(200, r->body);
}

class TracingTest : public MiddlewareTest {
 protected:
  void SetUp() override {
    ring_ = std::make_shared<trace::RingBufferProcessor>(100);
    tracer_ = std::make_shared<trace::Tracer>(
        trace::TracerOptions{.resource = trace::Resource::detect("test-svc"),
                             .propagation = {trace::Format::kW3C, trace::Format::kB3, trace::Format::kJaeger},
                             .processors = {ring_}});
    trace::Tracer::set_global(tracer_);  // the client's spans use the global tracer
    sink_ = std::make_shared<LineSink>();
    router_.use(middleware::tracing());
    router_.use(middleware::access_log(log::Logger({.sink = sink_})));
    router_.get("/front", [this](Request& req, Response& res) { return front_handler(req, res, &traced_, &base_); });
    router_.get("/back", [](Request& req, Response& res) {
      const trace::Baggage* b = trace::baggage_from(req.ctx);
      std::string tenant;
      if (b)
        for (auto& [k, v] : *b)
          if (k == "tenant") tenant = v;
      res.text(200, std::string(req.header("traceparent")) + " tenant=" + tenant);
    });
    start();
  }
  void TearDown() override {
    MiddlewareTest::TearDown();
    trace::Tracer::set_global(nullptr);
  }
  std::shared_ptr<trace::RingBufferProcessor> ring_;
  std::shared_ptr<trace::Tracer> tracer_;
  std::shared_ptr<LineSink> sink_;
  Client traced_{rt_};
};

TEST_F(TracingTest, OneTraceAcrossServerClientServerWithLogsAndBaggage) {
  const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736", parent = "00f067aa0ba902b7";
  auto r = call(get("/front", {{"traceparent", "00-" + trace_id + "-" + parent + "-01"}, {"baggage", "tenant=acme"}}));
  ASSERT_EQ(r.status, 200) << r.body;
  auto spans = ring_->recent();
  ASSERT_EQ(spans.size(), 3u);
  // Ends in order: the inner server span, the client span, the outer server span.
  const auto &back = spans[0], &client = spans[1], &front = spans[2];
  EXPECT_EQ(front.name, "GET /front");
  EXPECT_EQ(front.kind, trace::SpanKind::kServer);
  EXPECT_EQ(front.parent_span_id.hex(), parent);
  EXPECT_EQ(client.kind, trace::SpanKind::kClient);
  EXPECT_EQ(client.parent_span_id, front.context.span_id);
  EXPECT_EQ(back.name, "GET /back");
  EXPECT_EQ(back.parent_span_id, client.context.span_id);
  for (const auto& s : spans) EXPECT_EQ(s.context.trace_id.hex(), trace_id);
  // What /back received: the client span's context, and the baggage.
  EXPECT_EQ(r.body, "00-" + trace_id + "-" + client.context.span_id.hex() + "-01 tenant=acme");
  bool status_attr = false;
  for (auto& a : front.attributes)
    if (a.key == "http.response.status_code") status_attr = std::get<std::int64_t>(a.value) == 200;
  EXPECT_TRUE(status_attr);
  // Every access-log line of the request carries the trace id.
  std::lock_guard lock(sink_->mu);
  ASSERT_EQ(sink_->lines.size(), 2u);
  for (auto& l : sink_->lines) EXPECT_NE(l.find("\"trace_id\":\"" + trace_id + "\""), std::string::npos) << l;
}

TEST_F(TracingTest, MalformedOrMissingHeadersStartANewTraceAndB3AndJaegerAreAccepted) {
  call(get("/back", {{"traceparent", "00-zzzz-nope-01"}}));
  call(get("/back"));
  call(get("/back", {{"b3", "a3ce929d0e0e4736-00f067aa0ba902b7-1"}}));
  call(get("/back", {{"uber-trace-id", "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1"}}));
  auto spans = ring_->recent();
  ASSERT_EQ(spans.size(), 4u);
  EXPECT_FALSE(spans[0].parent_span_id.valid());
  EXPECT_FALSE(spans[1].parent_span_id.valid());
  EXPECT_NE(spans[0].context.trace_id, spans[1].context.trace_id);
  EXPECT_EQ(spans[2].context.trace_id.hex(), "0000000000000000a3ce929d0e0e4736");
  EXPECT_EQ(spans[3].context.trace_id.hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST_F(TracingTest, AnUnsampledCallerIsRespectedButItsTraceStillPropagates) {
  const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  auto r = call(get("/front", {{"traceparent", "00-" + trace_id + "-00f067aa0ba902b7-00"}}));
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(ring_->recent().empty());
  EXPECT_EQ(r.body.substr(0, 36), "00-" + trace_id + "-");
  EXPECT_EQ(r.body.substr(52, 3), "-00");
}

}  // namespace
}  // namespace svckit::http
