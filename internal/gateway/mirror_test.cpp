// Traffic mirroring: copies reach the shadow upstream with the request's method, path, body, trace
// and the marker; the client's answer is the primary's whatever the mirror does (slow, hanging,
// down); sampling by percent; copies over the in-flight bound or the body bound are dropped and
// counted.
#include "detail/gateway_fixture.hpp"

namespace svckit::gateway::testing {
namespace {

struct Seen {
  std::string method, target, body, host, mirror, request_id, traceparent;
};

// Records every request a router's catch-all receives and answers `answer`.
struct Recorder {
  std::mutex mu;
  std::vector<Seen> seen;
  void install(http::Router& router, std::string answer, const Context* hold = nullptr) {
    auto handler = [this, answer, hold](http::Request& req, http::Response& res) -> Task<void> {
      {
        std::lock_guard lock(mu);
        seen.push_back(Seen{std::string(req.method_text()), std::string(req.target()), std::string(req.body()),
                            std::string(req.header("Host")), std::string(req.header("X-Mirror")),
                            std::string(req.header("X-Request-Id")), std::string(req.header("traceparent"))});
      }
      if (hold) co_await sleep_for(*hold, 120s);  // hangs until the test lets go
      res.text(200, answer);
    };
    for (http::Method m : {http::Method::kGet, http::Method::kPost, http::Method::kPut})
      router.handle(m, "/*path", handler).body_limit(8ull << 20);
  }
  std::size_t count() {
    std::lock_guard lock(mu);
    return seen.size();
  }
  std::vector<Seen> all() {
    std::lock_guard lock(mu);
    return seen;
  }
};

class MirrorTest : public GatewayFixture {
 protected:
  const RouteCounters& counters(std::string_view route) {
    for (const auto& r : gateway_->table()->routes())
      if (r.cfg.name == route) return r.state->counters;
    ADD_FAILURE() << "no route " << route;
    static RouteCounters none;
    return none;
  }
  // Waits (bounded) until pred holds: copies are sent beside the request, not before its answer.
  template <class F>
  static bool eventually(F pred) {
    for (int i = 0; i < 500; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return pred();
  }
  static std::string get(RawClient& c, const std::string& target, const std::string& extra = "") {
    c.send("GET " + target + " HTTP/1.1\r\nHost: shop.example:8080\r\n" + extra + "\r\n");
    auto r = c.response();
    return r ? std::to_string(r->status) + " " + r->body : "no response";
  }
  static std::string post(RawClient& c, const std::string& target, const std::string& body) {
    c.send("POST " + target + " HTTP/1.1\r\nHost: shop.example:8080\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body);
    auto r = c.response();
    return r ? std::to_string(r->status) + " " + r->body : "no response";
  }
};

TEST_F(MirrorTest, EveryRequestReachesPrimaryAndMirrorAlike) {
  Recorder primary, shadow;
  primary.install(up_routers_[0], "primary");
  shadow.install(up_routers_[1], "shadow");
  auto p = start_upstream(up_routers_[0]);
  auto m = start_upstream(up_routers_[1]);
  start_gateway("routes: [{name: m, path: /, mirror: ['" + url(m) + "'], mirror_percent: 100, upstream: ['" + url(p) +
                "']}]");
  RawClient c(port_);
  const std::string big(300 * 1024, 'b');  // past the 64 KiB read before the first try: gathered
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(get(c, "/a/" + std::to_string(i) + "?q=1",
                  "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"),
              "200 primary");
    EXPECT_EQ(post(c, "/b", "body-" + std::to_string(i)), "200 primary");
  }
  EXPECT_EQ(post(c, "/big", big), "200 primary");
  ASSERT_TRUE(eventually([&] { return shadow.count() == 21; })) << shadow.count();
  EXPECT_EQ(primary.count(), 21u);
  auto want = primary.all(), got = shadow.all();
  auto key = [](const Seen& s) { return s.request_id; };
  std::map<std::string, Seen> by_id;
  for (const auto& s : got) by_id[key(s)] = s;
  for (const auto& w : want) {
    ASSERT_TRUE(by_id.contains(w.request_id)) << w.target;
    const Seen& s = by_id[w.request_id];
    EXPECT_EQ(s.method, w.method);
    EXPECT_EQ(s.target, w.target);
    EXPECT_EQ(s.body, w.body);
    EXPECT_EQ(s.mirror, "1");
    EXPECT_EQ(w.mirror, "");  // the primary is not marked
    EXPECT_EQ(s.host, "shop.example-shadow:8080");
    if (!w.traceparent.empty() && w.target.starts_with("/a/")) {  // the same trace, its own span
      EXPECT_EQ(s.traceparent.substr(0, 36), "00-0af7651916cd43dd8448eb211c80319c-");
      EXPECT_NE(s.traceparent.substr(36, 16), w.traceparent.substr(36, 16));
    }
  }
  EXPECT_TRUE(eventually([&] { return counters("m").mirrored.load() == 21; }));
  EXPECT_EQ(counters("m").mirror_dropped.load(), 0u);
  EXPECT_NE(gateway_->describe().find(R"("mirrored":21)"), std::string::npos) << gateway_->describe();
}

TEST_F(MirrorTest, AClientCannotForgeTheMarkerAndLargeBodiesAreNotCopied) {
  Recorder primary, shadow;
  primary.install(up_routers_[0], "primary");
  shadow.install(up_routers_[1], "shadow");
  auto p = start_upstream(up_routers_[0]);
  auto m = start_upstream(up_routers_[1]);
  start_gateway("routes: [{name: m, path: /, mirror: ['" + url(m) +
                "'], mirror_percent: 100, mirror_max_body: 100KiB, " + "upstream: ['" + url(p) + "']}]");
  RawClient c(port_);
  EXPECT_EQ(get(c, "/x", "X-Mirror: 1\r\n"), "200 primary");
  EXPECT_EQ(primary.all().at(0).mirror, "");
  EXPECT_EQ(post(c, "/small", std::string(50 * 1024, 's')), "200 primary");
  EXPECT_EQ(post(c, "/large", std::string(150 * 1024, 'l')), "200 primary");
  ASSERT_TRUE(eventually([&] { return shadow.count() == 2; }));
  std::this_thread::sleep_for(100ms);  // settle: nothing more arrives
  EXPECT_EQ(shadow.count(), 2u);
  EXPECT_EQ(primary.count(), 3u);
  EXPECT_EQ(counters("m").mirror_dropped.load(), 1u);
}

TEST_F(MirrorTest, TheClientGetsThePrimaryAnswerWhenTheMirrorHangsOrIsDown) {
  Recorder primary, shadow;
  Context release = Context().with_cancel();
  primary.install(up_routers_[0], "primary");
  shadow.install(up_routers_[1], "shadow", &release);
  auto p = start_upstream(up_routers_[0]);
  auto m = start_upstream(up_routers_[1]);
  start_gateway(R"(
routes:
  - {name: hang, path: /hang, mirror: [')" +
                url(m) + "'], mirror_percent: 100, mirror_max_in_flight: 3, mirror_timeout: 20s, upstream: ['" +
                url(p) + R"(']}
  - {name: down, path: /down, mirror: ['http://127.0.0.1:1'], mirror_percent: 100, upstream: [')" +
                url(p) + "']}\n");
  RawClient c(port_);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(get(c, "/hang"), "200 primary") << i;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(post(c, "/down", "x"), "200 primary") << i;
  // Three copies hang at the mirror; the other seven were dropped at the bound, and counted.
  EXPECT_TRUE(eventually([&] { return shadow.count() == 3; }));
  EXPECT_EQ(counters("hang").mirror_in_flight.load(), 3);
  EXPECT_EQ(counters("hang").mirror_dropped.load(), 7u);
  EXPECT_TRUE(eventually([&] { return counters("down").mirror_failed.load() == 10; }));
  EXPECT_EQ(primary.count(), 20u);
  release.cancel();  // the hanging copies are answered and end
  EXPECT_TRUE(eventually([&] { return counters("hang").mirrored.load() == 3; }));
  EXPECT_EQ(counters("hang").mirror_in_flight.load(), 0);
  // Room again: the next copy goes.
  EXPECT_EQ(get(c, "/hang"), "200 primary");
  EXPECT_TRUE(eventually([&] { return shadow.count() == 4; }));
}

TEST_F(MirrorTest, NoMirrorOrZeroPercentNeverCopies) {
  Recorder primary, shadow;
  primary.install(up_routers_[0], "primary");
  shadow.install(up_routers_[1], "shadow");
  auto p = start_upstream(up_routers_[0]);
  auto m = start_upstream(up_routers_[1]);
  start_gateway(R"(
routes:
  - {name: zero, path: /zero, mirror: [')" +
                url(m) + "'], mirror_percent: 0, upstream: ['" + url(p) + R"(']}
  - {name: none, path: /none, upstream: [')" +
                url(p) + "']}\n");
  RawClient c(port_);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(get(c, "/zero"), "200 primary");
    EXPECT_EQ(post(c, "/none", "x"), "200 primary");
  }
  std::this_thread::sleep_for(100ms);  // settle: a copy would have been sent by now
  EXPECT_EQ(shadow.count(), 0u);
  EXPECT_EQ(primary.count(), 100u);
  EXPECT_EQ(counters("zero").mirrored.load() + counters("zero").mirror_dropped.load(), 0u);
}

TEST_F(MirrorTest, PercentSamplesThatShareOfRequests) {
  Recorder primary, shadow;
  primary.install(up_routers_[0], "primary");
  shadow.install(up_routers_[1], "shadow");
  auto p = start_upstream(up_routers_[0]);
  auto m = start_upstream(up_routers_[1]);
  start_gateway("routes: [{name: m, path: /, mirror: ['" + url(m) + "'], mirror_percent: 30, upstream: ['" + url(p) +
                "']}]");
  RawClient c(port_);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(get(c, "/s"), "200 primary");
  ASSERT_TRUE(eventually([&] { return counters("m").mirror_in_flight.load() == 0; }));
  const auto n = shadow.count();
  EXPECT_EQ(counters("m").mirrored.load(), n);
  // 1000 draws at 30 %: the mean is 300, the standard deviation 14.5; ±100 is about 7 of them.
  EXPECT_GT(n, 200u);
  EXPECT_LT(n, 400u);
  std::fprintf(stderr, "mirror_percent 30: %zu of 1000 requests copied\n", n);
}

}  // namespace
}  // namespace svckit::gateway::testing
