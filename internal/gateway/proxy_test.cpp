// Proxying through the gateway to svckit upstreams in the same process and to a raw-socket upstream:
// header hygiene both ways, every error status of the gateway's own, retries to another instance,
// smuggling refused before anything reaches an upstream, websocket tunnels, a client that leaves.
#include "detail/gateway_fixture.hpp"
#include "svckit/http/stream.hpp"
#include "svckit/testing/upgrade_echo.hpp"

namespace svckit::gateway::testing {
namespace {

// The request as the upstream saw it: the request line, then one "name: value" line per field.
void echo_request(http::Request& req, http::Response& res) {
  std::string out = std::string(req.method_text()) + " " + std::string(req.target()) + "\n";
  for (auto it = req.headers_begin(); it != req.headers_end(); ++it)
    out += std::string(it->name) + ": " + std::string(it->value) + "\n";
  out += "body: " + std::string(req.body()) + "\n";
  res.text(200, out);
}

bool has_field(const std::string& echo, std::string_view name) {
  std::string lower_echo = echo;
  for (auto& c : lower_echo) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string n = "\n" + std::string(name) + ":";
  for (auto& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower_echo.find(n) != std::string::npos;
}

std::string field(const std::string& echo, std::string_view name) {
  auto pos = echo.find("\n" + std::string(name) + ": ");
  if (pos == std::string::npos) return "";
  pos += name.size() + 3;
  return echo.substr(pos, echo.find('\n', pos) - pos);
}

class ProxyTest : public GatewayFixture {};

TEST_F(ProxyTest, HopByHopHeadersStopAtTheGatewayBothWays) {
  up_routers_[0].get("/echo", echo_request);
  up_routers_[0].get("/hop", [](http::Request&, http::Response& res) {
    res.set_header("Connection", "X-Secret");
    res.set_header("X-Secret", "1");
    res.set_header("Keep-Alive", "timeout=5");
    res.set_header("Proxy-Agent", "up");
    res.set_header("X-Fine", "yes");
    res.text(200, "hop");
  });
  auto up = start_upstream(up_routers_[0]);
  start_gateway("routes: [{name: all, path: /, upstream: ['" + url(up) + "']}]");

  RawClient c(port_);
  c.send(
      "GET /echo?x=1 HTTP/1.1\r\nHost: shop.example\r\nConnection: keep-alive, X-Drop\r\nX-Drop: 1\r\n"
      "Keep-Alive: timeout=9\r\nTE: trailers\r\nTrailer: X-T\r\nUpgrade: h2c\r\nProxy-Authorization: Basic x\r\n"
      "Proxy-Connection: keep-alive\r\nX-Forwarded-For: 6.6.6.6\r\nForwarded: for=6.6.6.6\r\n"
      "X-Forwarded-Host: evil\r\nX-Request-Timeout-Ms: 999999\r\nX-Keep: kept\r\n"
      "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n");
  auto r = c.response();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const std::string& echo = r->body;
  EXPECT_EQ(echo.substr(0, echo.find('\n')), "GET /echo?x=1");
  for (auto name :
       {"Connection", "X-Drop", "Keep-Alive", "TE", "Trailer", "Upgrade", "Proxy-Authorization", "Proxy-Connection"})
    EXPECT_FALSE(has_field(echo, name)) << name << " reached the upstream:\n" << echo;
  EXPECT_EQ(field(echo, "X-Keep"), "kept");
  // The peer is not a trusted proxy: its forwarding claims are replaced by what the gateway saw.
  EXPECT_EQ(field(echo, "X-Forwarded-For"), "127.0.0.1");
  EXPECT_EQ(field(echo, "X-Forwarded-Host"), "shop.example");
  EXPECT_EQ(field(echo, "X-Forwarded-Proto"), "http");
  EXPECT_EQ(field(echo, "Forwarded"), "for=127.0.0.1;host=shop.example;proto=http");
  EXPECT_EQ(field(echo, "Host"), "127.0.0.1:" + std::to_string(up));
  EXPECT_EQ(field(echo, "X-Request-Id"), r->headers["x-request-id"]);
  EXPECT_NE(field(echo, "X-Request-Timeout-Ms"), "999999");
  // The same trace, the gateway's spans in between: a new parent id.
  std::string tp = field(echo, "traceparent");
  EXPECT_EQ(tp.substr(0, 36), "00-0af7651916cd43dd8448eb211c80319c-");
  EXPECT_NE(tp.substr(36, 16), "b7ad6b7169203331");

  c.send("GET /hop HTTP/1.1\r\nHost: shop.example\r\n\r\n");
  r = c.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hop");
  EXPECT_EQ(r->headers.count("x-secret"), 0u);
  EXPECT_EQ(r->headers.count("keep-alive"), 0u);
  EXPECT_EQ(r->headers.count("proxy-agent"), 0u);
  EXPECT_EQ(r->headers["x-fine"], "yes");
}

TEST_F(ProxyTest, ForwardingHeadersFromATrustedProxyAreAppendedTo) {
  up_routers_[0].get("/echo", echo_request);
  auto up = start_upstream(up_routers_[0]);
  GatewaySettings s;
  s.trusted_proxies = {"127.0.0.0/8"};
  start_gateway("routes: [{name: all, path: /, preserve_host: true, upstream: ['" + url(up) + "']}]", s);
  RawClient c(port_);
  c.send(
      "GET /echo HTTP/1.1\r\nHost: shop.example\r\nX-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\n"
      "Forwarded: for=203.0.113.7;proto=https\r\n\r\n");
  auto r = c.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(field(r->body, "X-Forwarded-For"), "203.0.113.7, 127.0.0.1");
  EXPECT_EQ(field(r->body, "X-Forwarded-Proto"), "https");
  EXPECT_EQ(field(r->body, "Forwarded"), "for=203.0.113.7;proto=https, for=127.0.0.1;host=shop.example;proto=http");
  EXPECT_EQ(field(r->body, "Host"), "shop.example");
}

TEST_F(ProxyTest, EveryErrorOfTheGatewayHasItsStatusAndTheErrorFormat) {
  up_routers_[0].get("/slow", [](http::Request& req, http::Response& res) -> Task<void> {
    co_await sleep_for(req.ctx, 2s);
    res.text(200, "late");
  });
  up_routers_[0].get("/ok", [](http::Request&, http::Response& res) { res.text(200, "ok"); });
  auto up = start_upstream(up_routers_[0]);
  RecordingUpstream garbage("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\nok");
  start_gateway(R"(
routes:
  - {name: slow, path: /slow, timeout: 200ms, upstream: [')" +
                url(up) + R"(']}
  - {name: dead, path: /dead, retries: 0, upstream: ['http://127.0.0.1:1']}
  - {name: bad, path: /bad, retries: 0, upstream: ['http://127.0.0.1:)" +
                std::to_string(garbage.port()) + R"(']}
  - {name: limited, path: /ok, rate_limit: 1, rate_burst: 1, upstream: [')" +
                url(up) + R"(']}
  - {name: small, path: /small, max_body: 10, upstream: [')" +
                url(up) + R"(']}
  - {name: nobody, path: /nobody, upstream: ['discovery:///nobody']}
)");
  auto ask = [&](const std::string& request) {
    RawClient c(port_);
    c.send(request);
    auto r = c.response();
    EXPECT_TRUE(r) << request;
    return r ? *r : RawClient::Response{};
  };
  auto r = ask("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find(R"("reason":"ROUTE_NOT_FOUND")"), std::string::npos) << r.body;
  r = ask("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r.status, 504);
  EXPECT_NE(r.body.find(R"("code":"DEADLINE_EXCEEDED")"), std::string::npos) << r.body;
  r = ask("GET /dead HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find(R"("reason":"UPSTREAM_UNAVAILABLE")"), std::string::npos) << r.body;
  r = ask("GET /nobody HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r.status, 503);
  r = ask("GET /bad HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find(R"("reason":"BAD_GATEWAY")"), std::string::npos) << r.body;
  EXPECT_EQ(ask("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n").status, 200);
  r = ask("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.headers["retry-after"], "1");
  EXPECT_NE(r.body.find(R"("reason":"RATE_LIMITED")"), std::string::npos) << r.body;
  r = ask("POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n");
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find(R"("reason":"BODY_TOO_LARGE")"), std::string::npos) << r.body;
  r = ask("POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n");
  EXPECT_EQ(r.status, 413);
  r = ask("GET /ok HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(70 * 1024, 'a') + "\r\n\r\n");
  EXPECT_EQ(r.status, 431);
  r = ask("GET /ok/../admin HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find(R"("reason":"BAD_PATH")"), std::string::npos) << r.body;
}

TEST_F(ProxyTest, SmugglingIsRefusedBeforeAnythingReachesTheUpstream) {
  RecordingUpstream recorder;
  start_gateway("routes: [{name: all, path: /, upstream: ['http://127.0.0.1:" + std::to_string(recorder.port()) +
                "']}]");
  const std::vector<std::string> attacks = {
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nContent-Length: 5\r\n\r\nhello!",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\nX: y\r\n\r\nhello",
      "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
      "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
  };
  for (const auto& attack : attacks) {
    RawClient c(port_);
    c.send(attack);
    auto r = c.response();
    ASSERT_TRUE(r) << attack;
    EXPECT_TRUE(r->status == 400 || r->status == 501) << r->status << " for " << attack;
    EXPECT_TRUE(c.closed()) << attack;
  }
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(recorder.received(), "") << "bytes reached the upstream";
  EXPECT_EQ(recorder.connections(), 0);
  // A valid request afterwards does reach it.
  RawClient c(port_);
  c.send("GET /fine HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(recorder.received().find("GET /fine HTTP/1.1"), std::string::npos);
}

TEST_F(ProxyTest, AnUpstreamConnectionWhoseFramingCannotBeVerifiedIsNeverReused) {
  // Content-Length and Transfer-Encoding together, then a smuggled second response.
  RecordingUpstream evil(
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nsmuggle");
  start_gateway(
      "routes: [{name: all, path: /, retries: 0, upstream: ['http://127.0.0.1:" + std::to_string(evil.port()) + "']}]");
  for (int i = 0; i < 3; ++i) {
    RawClient c(port_);
    c.send("GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c.response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 502);
    EXPECT_EQ(r->body.find("smuggle"), std::string::npos);
  }
  EXPECT_EQ(evil.connections(), 3);  // a fresh connection each time
}

TEST_F(ProxyTest, IdempotentRequestsAreRetriedOnAnotherInstance) {
  std::atomic<int> a_hits{0}, b_hits{0};
  up_routers_[0].handle(http::Method::kGet, "/flaky", [&a_hits](http::Request&, http::Response& res) {
    ++a_hits;
    res.set_header("Retry-After", "0");
    res.error(Status(Code::kUnavailable, "down"));
  });
  up_routers_[0].handle(http::Method::kPost, "/flaky", [&a_hits](http::Request&, http::Response& res) {
    ++a_hits;
    res.error(Status(Code::kUnavailable, "down"));
  });
  up_routers_[1].handle(http::Method::kGet, "/flaky", [&b_hits](http::Request&, http::Response& res) {
    ++b_hits;
    res.text(200, "b");
  });
  up_routers_[1].handle(http::Method::kPost, "/flaky", [&b_hits](http::Request&, http::Response& res) {
    ++b_hits;
    res.text(200, "b");
  });
  auto a = start_upstream(up_routers_[0]);
  auto b = start_upstream(up_routers_[1]);
  // Two routes, so that passive health (which leaves a failing instance out for a while) is each's own.
  const std::string both = "['" + url(a) + "', '" + url(b) + "']";
  start_gateway("routes: [{name: flaky, path: /flaky, methods: [GET], retries: 1, retry_budget: 10, upstream: " + both +
                "}, {name: flaky-post, path: /flaky, methods: [POST], retries: 1, upstream: " + both + "}]");
  int ok = 0;
  for (int i = 0; i < 40; ++i) {
    RawClient c(port_);
    c.send("GET /flaky HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c.response();
    ok += r && r->status == 200;
  }
  EXPECT_EQ(ok, 40);  // one retry is enough: never the instance that just failed
  auto t = gateway_->table();
  EXPECT_GE(t->routes()[0].state->counters.retries.load(), 1u);
  // POST is not idempotent: A's 503 goes back to the client (until passive health leaves A out).
  int failed_posts = 0;
  for (int i = 0; i < 20; ++i) {
    RawClient c(port_);
    c.send("POST /flaky HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx");
    auto r = c.response();
    failed_posts += r && r->status == 503;
  }
  EXPECT_GT(failed_posts, 0);
}

TEST_F(ProxyTest, WebsocketUpgradesAreTunnelledBothWaysUntilASideCloses) {
  up_routers_[0].get("/ws", testkit::upgrade_echo("websocket"));
  auto up = start_upstream(up_routers_[0]);
  start_gateway("routes: [{name: ws, path: /ws, upstream: ['" + url(up) + "']}]");
  RawClient c(port_);
  c.send(
      "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  std::string got = c.read_until([](const std::string& b) { return b.find("\r\n\r\n") != std::string::npos; });
  ASSERT_EQ(got.rfind("HTTP/1.1 101 ", 0), 0u) << got;
  EXPECT_NE(got.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos) << got;
  EXPECT_NE(got.find("Upgrade: websocket"), std::string::npos) << got;
  std::string frame = "\x81\x05hello";
  c.send(frame);
  got = c.read_until([&](const std::string& b) { return b.find(frame) != std::string::npos; });
  EXPECT_NE(got.find(frame), std::string::npos);
  std::string big(200000, 'w');  // larger than any buffer on the way
  c.send(big);
  got = c.read_until([&](const std::string& b) { return b.size() >= got.size() + big.size(); });
  EXPECT_GE(got.size(), big.size());
  c.shutdown_write();
  EXPECT_TRUE(c.closed());
}

TEST_F(ProxyTest, AClientThatLeavesCancelsTheUpstreamCall) {
  std::atomic<int> cancelled{0};
  up_routers_[0].get("/hang", [&cancelled](http::Request& req, http::Response& res) -> Task<void> {
    Status st = co_await sleep_for(req.ctx, 5s);
    if (!st.ok()) ++cancelled;
    res.text(200, "done");
  });
  auto up = start_upstream(up_routers_[0]);
  start_gateway("routes: [{name: hang, path: /hang, upstream: ['" + url(up) + "']}]");
  {
    RawClient c(port_);
    c.send("GET /hang HTTP/1.1\r\nHost: x\r\n\r\n");
    std::this_thread::sleep_for(200ms);
  }  // closed
  for (int i = 0; i < 100 && cancelled.load() == 0; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(cancelled.load(), 1);
}

TEST_F(ProxyTest, ExpectContinueIsAnsweredOnceTheUpstreamIsReached) {
  up_routers_[0].post("/up", [](http::Request& req, http::Response& res) { res.text(200, req.body()); });
  auto up = start_upstream(up_routers_[0]);
  start_gateway("routes: [{name: up, path: /up, upstream: ['" + url(up) + "']}]");
  RawClient c(port_);
  c.send("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  auto interim = c.response();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  c.send("hello");
  auto r = c.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello");
}

}  // namespace
}  // namespace svckit::gateway::testing
