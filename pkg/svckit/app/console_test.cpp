// The admin console: its RED figures against known traffic (a synthetic clock over the registry's
// own families, then a real App), the page's files and headers, and the admin port's refusals
// (bearer, CSRF, methods).
#include "svckit/app/detail/console.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "svckit/app/app.hpp"
#include "svckit/app/detail/console_state.hpp"
#include "svckit/core/runtime.hpp"
#include "svckit/http/client.hpp"
#include "svckit/json/reader.hpp"

using namespace std::chrono_literals;

namespace svckit::app {
namespace {

using detail::parse_exposition;
using detail::RedWindow;

const detail::RedFigures* find(const std::vector<detail::RedFigures>& all, std::string_view name) {
  for (const auto& f : all)
    if (f.name == name) return &f;
  return nullptr;
}

TEST(ConsoleState, ParsesTheExpositionWithEscapedLabels) {
  auto samples = parse_exposition(
      "# HELP x_total X.\n# TYPE x_total counter\n"
      "x_total{a=\"q\\\"uote\",b=\"back\\\\slash\"} 3\nplain 2.5\nbad{a=\"x\" 1\nlag{loop=\"1\"} +Inf\n");
  ASSERT_EQ(samples.size(), 3u);
  EXPECT_EQ(samples[0].label("a"), "q\"uote");
  EXPECT_EQ(samples[0].label("b"), "back\\slash");
  EXPECT_EQ(samples[0].value, 3);
  EXPECT_EQ(samples[1].name, "plain");
  EXPECT_TRUE(samples[1].labels.empty());
  EXPECT_TRUE(std::isinf(samples[2].value));
}

TEST(ConsoleState, QuantileInterpolatesLikePrometheus) {
  // 100 observations: 50 ≤ 0.1, 90 ≤ 0.2, 100 ≤ 0.4.
  std::map<double, double> b{{0.1, 50}, {0.2, 90}, {0.4, 100}, {INFINITY, 100}};
  EXPECT_DOUBLE_EQ(*detail::quantile(0.5, b), 0.1);
  EXPECT_NEAR(*detail::quantile(0.7, b), 0.15, 1e-9);
  EXPECT_NEAR(*detail::quantile(0.99, b), 0.38, 1e-9);
  EXPECT_FALSE(detail::quantile(0.5, {{0.1, 0}, {INFINITY, 0}}));
  // All in +Inf: the highest finite bound.
  EXPECT_DOUBLE_EQ(*detail::quantile(0.5, {{0.1, 0}, {INFINITY, 10}}), 0.1);
}

// Known traffic through the families the HTTP and gRPC middleware register, read at known times.
TEST(ConsoleState, RedOverTheWindowFromKnownTraffic) {
  metrics::Registry r;
  auto& requests =
      r.counter_vec({.name = "svckit_http_server_requests_total", .help = "h"}, {"method", "route", "status"});
  auto& seconds =
      r.histogram_vec({.name = "svckit_http_server_request_duration_seconds", .help = "h"}, {"method", "route"});
  auto& handled = r.counter_vec({.name = "grpc_server_handled_total", .help = "h"},
                                {"grpc_service", "grpc_method", "grpc_type", "grpc_code"});
  auto& handling = r.histogram_vec({.name = "grpc_server_handling_seconds", .help = "h"},
                                   {"grpc_service", "grpc_method", "grpc_type"});
  // Before the window: 1000 old requests that must not count in the rates.
  requests.with({"GET", "/orders/:id", "200"}).inc(1000);
  for (int i = 0; i < 1000; ++i) seconds.with({"GET", "/orders/:id"}).observe(2.0);

  RedWindow red(10s);
  auto t0 = RedWindow::Clock::time_point(100s);
  auto first = red.update(t0, parse_exposition(r.render()));
  EXPECT_EQ(first.span_seconds, 0);
  ASSERT_NE(find(first.figures, "GET /orders/:id"), nullptr);
  EXPECT_EQ(find(first.figures, "GET /orders/:id")->rate, 0);
  EXPECT_FALSE(find(first.figures, "GET /orders/:id")->p50);

  // In 5 s: 90 fast 200s (4 ms), 10 slow 503s (300 ms), 3 404s; gRPC: 8 OK, 2 UNAVAILABLE, 1 NOT_FOUND.
  for (int i = 0; i < 90; ++i) {
    requests.with({"GET", "/orders/:id", "200"}).inc();
    seconds.with({"GET", "/orders/:id"}).observe(0.004);
  }
  for (int i = 0; i < 10; ++i) {
    requests.with({"GET", "/orders/:id", "503"}).inc();
    seconds.with({"GET", "/orders/:id"}).observe(0.3);
  }
  requests.with({"GET", "/orders/:id", "404"}).inc(3);
  for (int i = 0; i < 3; ++i) seconds.with({"GET", "/orders/:id"}).observe(0.001);
  handled.with({"shop.v1.Orders", "Get", "unary", "OK"}).inc(8);
  handled.with({"shop.v1.Orders", "Get", "unary", "UNAVAILABLE"}).inc(2);
  handled.with({"shop.v1.Orders", "Get", "unary", "NOT_FOUND"}).inc(1);
  for (int i = 0; i < 11; ++i) handling.with({"shop.v1.Orders", "Get", "unary"}).observe(0.02);

  auto second = red.update(t0 + 5s, parse_exposition(r.render()));
  EXPECT_DOUBLE_EQ(second.span_seconds, 5);
  const auto* http = find(second.figures, "GET /orders/:id");
  ASSERT_NE(http, nullptr);
  EXPECT_EQ(http->kind, "http");
  EXPECT_EQ(http->requests, 103);
  EXPECT_EQ(http->errors, 10);  // 5xx only: a 404 is the client's
  EXPECT_DOUBLE_EQ(http->rate, 103.0 / 5);
  EXPECT_DOUBLE_EQ(http->error_rate, 2);
  EXPECT_EQ(http->total, 1103);
  ASSERT_TRUE(http->p50 && http->p99);
  // Default buckets: 4 ms falls in (0.0025, 0.005], 300 ms in (0.25, 0.5]; the 2 s ones are outside.
  EXPECT_GT(*http->p50, 0.0025);
  EXPECT_LE(*http->p50, 0.005);
  EXPECT_GT(*http->p99, 0.25);
  EXPECT_LE(*http->p99, 0.5);
  const auto* grpc = find(second.figures, "/shop.v1.Orders/Get");
  ASSERT_NE(grpc, nullptr);
  EXPECT_EQ(grpc->kind, "grpc");
  EXPECT_EQ(grpc->requests, 11);
  EXPECT_EQ(grpc->errors, 2);  // UNAVAILABLE is the server's, NOT_FOUND is not
  ASSERT_TRUE(grpc->p50);
  EXPECT_GT(*grpc->p50, 0.01);
  EXPECT_LE(*grpc->p50, 0.025);

  // 20 s later with no traffic: the window has moved past it all.
  auto later = red.update(t0 + 16s, parse_exposition(r.render()));
  const auto* idle = find(later.figures, "GET /orders/:id");
  ASSERT_NE(idle, nullptr);
  EXPECT_EQ(idle->requests, 0);
  EXPECT_FALSE(idle->p50);
  EXPECT_EQ(idle->total, 1103);
}

std::string json_field(std::string_view body, std::string_view key) {
  auto at = body.find("\"" + std::string(key) + "\":");
  if (at == std::string_view::npos) return {};
  at += key.size() + 3;
  auto end = body.find_first_of(",}", at);
  return std::string(body.substr(at, end - at));
}

class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("svckit_console_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "base.yaml") << "log:\n  level: info\n  async: false\n  output: "
                                      << (dir_ / "app.log").string()
                                      << "\nhttp:\n  host: 127.0.0.1\n  port: 0\nadmin:\n  port: 0\n";
  }
  void TearDown() override {
    if (app_) {
      app_->request_stop();
      app_->wait();
    }
    client_.reset();
    app_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::pair<std::optional<int>, std::string> init(std::vector<std::string> sets) {
    app_ = std::make_unique<App>(AppOptions{.name = "shop", .version = "2.1.0", .registry = registry_});
    std::vector<std::string> args = {"shop", "--config-dir", dir_.string(), "--set", "app.workers=2"};
    for (auto& s : sets) {
      args.push_back("--set");
      args.push_back(s);
    }
    std::vector<const char*> argv;
    for (auto& a : args) argv.push_back(a.c_str());
    testing::internal::CaptureStderr();
    auto exit = app_->init(static_cast<int>(argv.size()), argv.data());
    return {exit, testing::internal::GetCapturedStderr()};
  }
  http::ClientResponse call(http::Method method, std::string path, std::string body = {},
                            std::vector<std::pair<std::string, std::string>> headers = {}, bool traffic = false) {
    if (!client_) client_ = std::make_unique<http::Client>(app_->runtime());
    std::string url = "http://127.0.0.1:" + std::to_string(traffic ? app_->http_port() : app_->admin_port()) + path;
    auto r = app_->runtime().block_on(client_->send(
        Context().with_timeout(5s), {.method = method, .url = url, .headers = std::move(headers), .body = body}));
    EXPECT_TRUE(r) << r.error().to_string();
    return r ? *r : http::ClientResponse{};
  }
  std::string csrf() {
    auto r = call(http::Method::kGet, "/debug/csrf");
    auto token = json_field(r.body, "token");
    return token.size() > 2 ? token.substr(1, token.size() - 2) : "";
  }

  // App registers process metrics once per registry address: a registry at the address of an earlier
  // test's would lack them. Each test's stays allocated, so no address comes back.
  static metrics::Registry* fresh_registry() {
    static std::vector<std::unique_ptr<metrics::Registry>> all;
    return all.emplace_back(std::make_unique<metrics::Registry>()).get();
  }
  std::filesystem::path dir_;
  metrics::Registry* registry_ = fresh_registry();
  std::unique_ptr<App> app_;
  std::unique_ptr<http::Client> client_;
};

TEST_F(ConsoleTest, ServesThePageWithStrictHeadersAndRevalidation) {
  ASSERT_FALSE(init({}).first);
  ASSERT_TRUE(app_->start().ok());
  auto page = call(http::Method::kGet, "/");
  EXPECT_EQ(page.status, 200);
  std::map<std::string, std::string> h(page.headers.begin(), page.headers.end());
  EXPECT_EQ(h["content-type"].empty() ? h["Content-Type"] : h["content-type"], "text/html; charset=utf-8");
  auto header = [&](const http::ClientResponse& r, std::string_view name) -> std::string {
    for (auto& [k, v] : r.headers)
      if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
          }))
        return v;
    return {};
  };
  std::string csp = header(page, "Content-Security-Policy");
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-eval"), std::string::npos);
  EXPECT_EQ(header(page, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(header(page, "Cache-Control"), "no-cache");
  // No inline script or style in the page itself: everything comes from /console/.
  EXPECT_NE(page.body.find("<script src=\"/console/console.js\""), std::string::npos);
  EXPECT_EQ(page.body.find("<script>"), std::string::npos);
  EXPECT_EQ(page.body.find("<style"), std::string::npos);
  EXPECT_EQ(page.body.find("style="), std::string::npos);

  auto js = call(http::Method::kGet, "/console/console.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(header(js, "Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(js.body.find("eval("), std::string::npos);
  EXPECT_EQ(header(call(http::Method::kGet, "/console/console.css"), "Content-Type"), "text/css; charset=utf-8");
  EXPECT_EQ(header(call(http::Method::kGet, "/console/icon.svg"), "Content-Type"), "image/svg+xml");
  std::string tag = header(js, "ETag");
  ASSERT_FALSE(tag.empty());
  auto again = call(http::Method::kGet, "/console/console.js", {}, {{"If-None-Match", tag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(call(http::Method::kGet, "/console/nope.js").status, 404);
}

TEST_F(ConsoleTest, EndpointCountsKnownTrafficPerRoute) {
  ASSERT_FALSE(init({}).first);
  app_->router().get("/ok", [](http::Request&, http::Response& res) -> Task<void> {
    co_await sleep_for(Context(), 20ms);
    res.text(200, "ok");
  });
  app_->router().get("/boom", [](http::Request&, http::Response& res) { res.text(500, "boom"); });
  ASSERT_TRUE(app_->start().ok());
  auto before = call(http::Method::kGet, "/debug/console");  // the window's baseline
  EXPECT_EQ(before.status, 200);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(call(http::Method::kGet, "/ok", {}, {}, true).status, 200);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(call(http::Method::kGet, "/boom", {}, {}, true).status, 500);
  auto now = call(http::Method::kGet, "/debug/console");
  ASSERT_EQ(now.status, 200);
  const std::string& b = now.body;
  auto route = [&](std::string_view name) {
    auto at = b.find("\"name\":\"" + std::string(name) + "\"");
    EXPECT_NE(at, std::string::npos) << b;
    return at == std::string::npos ? std::string_view() : std::string_view(b).substr(at, b.find('}', at) - at);
  };
  auto ok = route("GET /ok");
  EXPECT_EQ(json_field(ok, "requests"), "12");
  EXPECT_EQ(json_field(ok, "errors"), "0");
  double p50 = std::stod(json_field(ok, "p50"));
  EXPECT_GE(p50, 0.01);  // 20 ms sleeps: the (0.01, 0.025] bucket, or a later one on a loaded machine
  EXPECT_LE(p50, 0.1);
  auto boom = route("GET /boom");
  EXPECT_EQ(json_field(boom, "requests"), "4");
  EXPECT_EQ(json_field(boom, "errors"), "4");
  EXPECT_GT(std::stod(json_field(boom, "error_rate")), 0);
  EXPECT_EQ(json_field(b, "service"), "\"shop\"");
  EXPECT_EQ(json_field(b, "version"), "\"2.1.0\"");
  EXPECT_EQ(json_field(b, "log_level"), "\"info\"");
  EXPECT_GT(std::stod(json_field(b, "rss_bytes")), 1e6);
  EXPECT_GT(std::stod(json_field(b, "open_fds")), 3);
  EXPECT_GE(std::stod(json_field(b, "uptime_seconds")), 0);
  EXPECT_NE(b.find("\"loop_lag_seconds\":"), std::string::npos);
  EXPECT_NE(b.find("\"blocking_queue\":"), std::string::npos);
  // The whole document is valid JSON.
  json::Reader r(b);
  EXPECT_TRUE(r.skip() && r.finish()) << b;
}

TEST_F(ConsoleTest, EndpointShowsTheLimitersLiveState) {
  ASSERT_FALSE(init({"resilience.rate_limit=true", "resilience.rate=0.001", "resilience.burst=10",
                     "resilience.max_in_flight=7", "resilience.shed=true"})
                   .first);
  app_->router().get("/ok", [](http::Request&, http::Response& res) { res.text(200, "ok"); });
  ASSERT_TRUE(app_->start().ok());
  for (int i = 0; i < 4; ++i) EXPECT_EQ(call(http::Method::kGet, "/ok", {}, {}, true).status, 200);
  auto b = call(http::Method::kGet, "/debug/console").body;
  auto bucket = b.substr(b.find("\"kind\":\"token bucket\""));
  // 10 tokens, 4 taken, next to none refilled at 0.001/s.
  double available = std::stod(json_field(bucket, "available"));
  EXPECT_GE(available, 6);
  EXPECT_LT(available, 6.1);
  EXPECT_EQ(json_field(bucket, "burst"), "10");
  auto bulkhead = b.substr(b.find("\"kind\":\"bulkhead\""));
  EXPECT_EQ(json_field(bulkhead, "limit"), "7");
  EXPECT_EQ(json_field(bulkhead, "in_flight"), "0");
  EXPECT_NE(b.find("\"shedder\":{\"cpu\":"), std::string::npos) << b;
}

TEST_F(ConsoleTest, LogLevelNeedsPutOrPostAndTheCsrfToken) {
  ASSERT_FALSE(init({}).first);
  ASSERT_TRUE(app_->start().ok());
  std::string token = csrf();
  ASSERT_EQ(token.size(), 64u);
  EXPECT_EQ(call(http::Method::kDelete, "/debug/log-level").status, 405);
  EXPECT_EQ(call(http::Method::kPatch, "/debug/log-level", "debug", {{"X-CSRF-Token", token}}).status, 405);
  // No token, a forged one, a cross-site request with the right one: 403, level unchanged.
  auto missing = call(http::Method::kPut, "/debug/log-level", "debug");
  EXPECT_EQ(missing.status, 403);
  EXPECT_NE(missing.body.find("CSRF_TOKEN_REQUIRED"), std::string::npos);
  EXPECT_EQ(call(http::Method::kPut, "/debug/log-level", "debug", {{"X-CSRF-Token", std::string(64, 'a')}}).status,
            403);
  EXPECT_EQ(call(http::Method::kPost, "/debug/log-level", "debug", {{"X-CSRF-Token", token.substr(1)}}).status, 403);
  auto cross = call(http::Method::kPut, "/debug/log-level", "debug",
                    {{"X-CSRF-Token", token}, {"Origin", "http://evil.example"}});
  EXPECT_EQ(cross.status, 403);
  EXPECT_NE(cross.body.find("CROSS_SITE_REQUEST"), std::string::npos);
  EXPECT_EQ(
      call(http::Method::kPut, "/debug/log-level", "debug", {{"X-CSRF-Token", token}, {"Sec-Fetch-Site", "cross-site"}})
          .status,
      403);
  EXPECT_EQ(app_->logger().level(), log::Level::kInfo);
  // The page's own request: same origin, the token.
  std::string origin = "http://127.0.0.1:" + std::to_string(app_->admin_port());
  auto put = call(http::Method::kPut, "/debug/log-level", R"({"level":"debug"})",
                  {{"X-CSRF-Token", token}, {"Origin", origin}, {"Sec-Fetch-Site", "same-origin"}});
  EXPECT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(app_->logger().level(), log::Level::kDebug);
  EXPECT_EQ(call(http::Method::kPost, "/debug/log-level", "warn", {{"X-CSRF-Token", token}}).status, 200);
  EXPECT_EQ(app_->logger().level(), log::Level::kWarn);
}

TEST_F(ConsoleTest, BeyondLoopbackStartRefusesWithoutAToken) {
  auto [exit, err] = init({"admin.host=0.0.0.0"});
  ASSERT_TRUE(exit);
  EXPECT_EQ(*exit, 2);
  EXPECT_NE(err.find("admin.token"), std::string::npos) << err;
  app_.reset();
  // Loopback needs none.
  EXPECT_FALSE(init({"admin.host=127.0.0.1"}).first);
}

TEST_F(ConsoleTest, BeyondLoopbackEveryDebugCallNeedsTheBearerToken) {
  ASSERT_FALSE(init({"admin.host=0.0.0.0", "admin.token=s3cret-admin-token"}).first);
  ASSERT_TRUE(app_->start().ok());
  const std::string good = "Bearer s3cret-admin-token";
  for (std::string path : {"/debug/console", "/debug/config", "/debug/traces", "/debug/csrf", "/debug/log-level"}) {
    auto none = call(http::Method::kGet, path);
    EXPECT_EQ(none.status, 401) << path;
    EXPECT_NE(none.body.find("ADMIN_TOKEN_REQUIRED"), std::string::npos) << path;
    EXPECT_EQ(call(http::Method::kGet, path, {}, {{"Authorization", "Bearer wrong-admin-token!"}}).status, 401) << path;
    EXPECT_EQ(call(http::Method::kGet, path, {}, {{"Authorization", "s3cret-admin-token"}}).status, 401) << path;
    EXPECT_EQ(call(http::Method::kGet, path, {}, {{"Authorization", good}}).status, 200) << path;
  }
  // A state change needs both: the bearer token and the CSRF token.
  auto csrf_r = call(http::Method::kGet, "/debug/csrf", {}, {{"Authorization", good}});
  auto token = json_field(csrf_r.body, "token");
  token = token.substr(1, token.size() - 2);
  EXPECT_EQ(call(http::Method::kPut, "/debug/log-level", "debug", {{"X-CSRF-Token", token}}).status, 401);
  EXPECT_EQ(call(http::Method::kPut, "/debug/log-level", "debug", {{"Authorization", good}}).status, 403);
  EXPECT_EQ(
      call(http::Method::kPut, "/debug/log-level", "debug", {{"Authorization", good}, {"X-CSRF-Token", token}}).status,
      200);
  EXPECT_EQ(app_->logger().level(), log::Level::kDebug);
  // Probes, the scrape and the page's files stay open.
  EXPECT_EQ(call(http::Method::kGet, "/healthz").status, 200);
  EXPECT_EQ(call(http::Method::kGet, "/readyz").status, 200);
  EXPECT_EQ(call(http::Method::kGet, "/metrics").status, 200);
  EXPECT_EQ(call(http::Method::kGet, "/").status, 200);
  EXPECT_EQ(call(http::Method::kGet, "/console/console.js").status, 200);
}

}  // namespace
}  // namespace svckit::app
