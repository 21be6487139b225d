// The app runtime in-process: config → servers, the admin endpoints, readiness checks and the stop
// sequence (readiness down first, traffic still served during shutdown_delay, then drained).
#include "svckit/app/app.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "svckit/http/client.hpp"
#include "svckit/http/message.hpp"
#include "svckit/resilience/shedder.hpp"

using namespace std::chrono_literals;

namespace svckit::app {
namespace {

struct ShopSettings {
  std::string db_password = "hunter2";
  std::string name = "shop";
  static void describe(config::Binder<ShopSettings>& b) {
    b.field("db_password", &ShopSettings::db_password);
    b.field("name", &ShopSettings::name);
  }
};

class AppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("svckit_app_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_ / "dev");
    std::ofstream(dir_ / "base.yaml") << "log:\n  level: info\n  async: false\n  output: "
                                      << (dir_ / "app.log").string()
                                      << "\nhttp:\n  host: 127.0.0.1\n  port: 0\nadmin:\n  port: 0\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The App is owned by the fixture, declared before the client: the client (whose pooled
  // connections live on the App's loops) goes first.
  App* make(std::vector<std::string> sets) {
    auto& app = app_;
    app = std::make_unique<App>(AppOptions{.name = "shop", .version = "1.0.0", .registry = &registry_});
    app->define<ShopSettings>("shop");
    std::vector<std::string> args = {"shop", "--config-dir", dir_.string(), "--set", "app.workers=2"};
    for (auto& s : sets) {
      args.push_back("--set");
      args.push_back(s);
    }
    std::vector<const char*> argv;
    for (auto& a : args) argv.push_back(a.c_str());
    auto exit = app->init(static_cast<int>(argv.size()), argv.data());
    EXPECT_FALSE(exit) << "init asked to exit with " << *exit;
    return app.get();
  }

  Result<http::ClientResponse> call(App& app, http::Method method, std::string url, std::string body = {},
                                    std::vector<std::pair<std::string, std::string>> headers = {}) {
    return app.runtime().block_on(
        client(app).send(Context().with_timeout(5s), {.method = method, .url = url, .headers = headers, .body = body}));
  }
  http::Client& client(App& app) {
    if (!client_) client_ = std::make_unique<http::Client>(app.runtime());
    return *client_;
  }
  // init() of a fresh App with these --set flags, expected to refuse: its exit code and stderr.
  std::pair<std::optional<int>, std::string> refused_init(std::vector<std::string> sets) {
    App app({.name = "shop", .registry = &registry_});
    std::vector<std::string> args = {"shop", "--config-dir", dir_.string()};
    for (auto& s : sets) {
      args.push_back("--set");
      args.push_back(s);
    }
    std::vector<const char*> argv;
    for (auto& a : args) argv.push_back(a.c_str());
    testing::internal::CaptureStderr();
    auto exit = app.init(static_cast<int>(argv.size()), argv.data());
    return {exit, testing::internal::GetCapturedStderr()};
  }
  std::string admin(App& app) { return "http://127.0.0.1:" + std::to_string(app.admin_port()); }
  std::string traffic(App& app) { return "http://127.0.0.1:" + std::to_string(app.http_port()); }

  std::filesystem::path dir_;
  metrics::Registry registry_;
  std::unique_ptr<App> app_;
  std::unique_ptr<http::Client> client_;
};

TEST_F(AppTest, AdminPortServesHealthMetricsConfigTracesAndLogLevel) {
  auto app = make({});
  app->router().get("/orders/:id", [](http::Request&, http::Response& res) { res.text(200, "order"); });
  ASSERT_TRUE(app->start().ok());
  ASSERT_NE(app->admin_port(), app->http_port());

  auto order = call(*app, http::Method::kGet, traffic(*app) + "/orders/42");
  ASSERT_TRUE(order) << order.error().to_string();
  EXPECT_EQ(order->body, "order");
  // The admin routes are not on the traffic port and vice versa.
  EXPECT_EQ(call(*app, http::Method::kGet, traffic(*app) + "/metrics")->status, 404);
  EXPECT_EQ(call(*app, http::Method::kGet, admin(*app) + "/orders/42")->status, 404);

  auto health = call(*app, http::Method::kGet, admin(*app) + "/healthz");
  EXPECT_EQ(health->status, 200);
  auto ready = call(*app, http::Method::kGet, admin(*app) + "/readyz");
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(ready->body, R"({"status":"ready","state":"serving","checks":{}})");

  auto metrics = call(*app, http::Method::kGet, admin(*app) + "/metrics");
  EXPECT_NE(metrics->body.find(R"(svckit_http_server_requests_total{method="GET",route="/orders/:id",status="200"} 1)"),
            std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("svckit_runtime_loop_lag_seconds{loop=\"1\"}"), std::string::npos);

  auto cfg = call(*app, http::Method::kGet, admin(*app) + "/debug/config");
  EXPECT_NE(cfg->body.find("shop.db_password = <redacted>"), std::string::npos) << cfg->body;
  EXPECT_EQ(cfg->body.find("hunter2"), std::string::npos);
  EXPECT_NE(cfg->body.find("app.workers = 2"), std::string::npos);

  // The order request made a server span; /debug/traces filters by trace id.
  auto traces = call(*app, http::Method::kGet, admin(*app) + "/debug/traces");
  auto at = traces->body.find("\"traceId\":\"");
  ASSERT_NE(at, std::string::npos) << traces->body;
  std::string trace_id = traces->body.substr(at + 11, 32);
  EXPECT_NE(traces->body.find(R"("name":"GET /orders/:id")"), std::string::npos);
  auto one = call(*app, http::Method::kGet, admin(*app) + "/debug/traces?trace_id=" + trace_id);
  EXPECT_NE(one->body.find(trace_id), std::string::npos);
  auto none = call(*app, http::Method::kGet, admin(*app) + "/debug/traces?trace_id=0123");
  EXPECT_EQ(none->body.find("traceId"), std::string::npos);

  EXPECT_EQ(call(*app, http::Method::kGet, admin(*app) + "/debug/log-level")->body, R"({"level":"info"})");
  // State changes carry the CSRF token (console_test.cpp has the refusals).
  std::string csrf = call(*app, http::Method::kGet, admin(*app) + "/debug/csrf")->body.substr(10, 64);
  std::vector<std::pair<std::string, std::string>> with_csrf = {{"X-CSRF-Token", csrf}};
  auto put = call(*app, http::Method::kPut, admin(*app) + "/debug/log-level", R"({"level":"error"})", with_csrf);
  EXPECT_EQ(put->status, 200);
  EXPECT_EQ(put->body, R"({"level":"error"})");
  EXPECT_EQ(app->logger().level(), log::Level::kError);
  auto bad = call(*app, http::Method::kPut, admin(*app) + "/debug/log-level", "loud", with_csrf);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("BAD_LOG_LEVEL"), std::string::npos);
  auto malformed = call(*app, http::Method::kPut, admin(*app) + "/debug/log-level", R"({"level":)", with_csrf);
  EXPECT_EQ(malformed->status, 400);
  EXPECT_EQ(app->logger().level(), log::Level::kError);
  EXPECT_EQ(call(*app, http::Method::kPut, admin(*app) + "/debug/log-level", "debug", with_csrf)->status, 200);
  EXPECT_EQ(app->logger().level(), log::Level::kDebug);
  app->request_stop();
  app->wait();
}

TEST_F(AppTest, ReadinessIsTheAndOfChecksEachBoundedByATimeout) {
  auto app = make({"admin.check_timeout=100ms"});
  std::atomic<bool> db_up{true};
  app->readiness().add("db", [&] { return db_up ? Status() : Status(Code::kUnavailable, "connection refused"); });
  app->readiness().add("slow", [](const Context& ctx) -> Task<Status> {
    co_return co_await sleep_for(ctx, 10ms);  // well inside the timeout
  });
  ASSERT_TRUE(app->start().ok());
  auto ready = call(*app, http::Method::kGet, admin(*app) + "/readyz");
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(ready->body, R"({"status":"ready","state":"serving","checks":{"db":"ok","slow":"ok"}})");
  db_up = false;
  ready = call(*app, http::Method::kGet, admin(*app) + "/readyz");
  EXPECT_EQ(ready->status, 503);
  EXPECT_EQ(ready->header("Retry-After"), "1");
  EXPECT_NE(ready->body.find(R"("db":"UNAVAILABLE: connection refused")"), std::string::npos) << ready->body;
  db_up = true;
  // A check that hangs makes the instance unready at the timeout instead of hanging the probe.
  app->readiness().add("hang", [](const Context& ctx) -> Task<Status> { co_return co_await sleep_for(ctx, 10s); });
  auto t0 = std::chrono::steady_clock::now();
  ready = call(*app, http::Method::kGet, admin(*app) + "/readyz");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_EQ(ready->status, 503);
  EXPECT_NE(ready->body.find(R"("hang":"DEADLINE_EXCEEDED)"), std::string::npos) << ready->body;
  app->request_stop();
  app->wait();
}

TEST_F(AppTest, StopSequenceTurnsReadinessOffWhileTrafficIsStillServedThenDrains) {
  auto app = make({"app.shutdown_delay=600ms"});
  app->router().get("/work", [](http::Request&, http::Response& res) { res.text(200, "done"); });
  bool hook_ran = false;
  app->on_stop([&]() -> Task<void> {
    hook_ran = true;
    co_return;
  });
  ASSERT_TRUE(app->start().ok());
  std::string admin_url = admin(*app), work_url = traffic(*app) + "/work";
  app->request_stop();
  std::this_thread::sleep_for(100ms);
  // During the delay: not ready, but requests still succeed (load balancers are catching up).
  auto ready = call(*app, http::Method::kGet, admin_url + "/readyz");
  ASSERT_TRUE(ready) << ready.error().to_string();
  EXPECT_EQ(ready->status, 503);
  EXPECT_NE(ready->body.find(R"("state":"draining")"), std::string::npos);
  auto work = call(*app, http::Method::kGet, work_url);
  ASSERT_TRUE(work) << work.error().to_string();
  EXPECT_EQ(work->body, "done");
  client_.reset();  // its pooled connections would otherwise hold the drain to its timeout
  app->wait();
  EXPECT_TRUE(hook_ran);
  std::ifstream log(dir_ / "app.log");
  std::string text((std::istreambuf_iterator<char>(log)), {});
  auto stopping = text.find(R"("msg":"stopping")"), drained = text.find(R"("msg":"http server drained")"),
       stopped = text.find(R"("msg":"service stopped")");
  ASSERT_NE(stopping, std::string::npos) << text;
  ASSERT_NE(drained, std::string::npos) << text;
  EXPECT_LT(stopping, drained);
  EXPECT_LT(drained, stopped);
}

TEST_F(AppTest, BadConfigRefusesToStartWithExitCode2) {
  auto [exit, err] = refused_init({"admin.port=70000"});
  ASSERT_TRUE(exit);
  EXPECT_EQ(*exit, 2);
  EXPECT_NE(err.find("admin.port"), std::string::npos) << err;

  auto [console_exit, console_err] = refused_init({"otlp.logs=true", "log.format=console"});
  ASSERT_TRUE(console_exit);
  EXPECT_NE(console_err.find("otlp.logs needs log.format: json"), std::string::npos) << console_err;
}

}  // namespace
}  // namespace svckit::app

namespace svckit::app {
namespace {

TEST_F(AppTest, TheTrafficPortsShedderIsSharedOnlyWhenSheddingIsOn) {
  EXPECT_EQ(make({})->shedder(), nullptr);
  app_.reset();
  auto app = make({"resilience.shed=true", "resilience.shed_cpu_threshold=0.5"});
  ASSERT_NE(app->shedder(), nullptr);
  // The one the middleware uses: a request through the traffic port is in flight for it.
  std::atomic<std::int64_t> seen{-1};
  app->router().get("/x", [&](http::Request&, http::Response& res) {
    seen = app->shedder()->in_flight();
    res.text(200, "x");
  });
  ASSERT_TRUE(app->start().ok());
  EXPECT_EQ(call(*app, http::Method::kGet, traffic(*app) + "/x")->status, 200);
  EXPECT_EQ(seen.load(), 1);
  app->request_stop();
  app->wait();
}

// resilience.shed_queue_delay: while work hogs the one loop, requests are refused with 503 and
// Retry-After; once it is free they are all served again. The controller's state is on /metrics.
TEST_F(AppTest, TheQueueShedderRefusesWhileTheLoopIsLateAndAdmitsOnceItIsNot) {
  auto app = make({"app.workers=1", "resilience.shed_queue_delay=2ms"});
  app->router().get("/x", [](http::Request&, http::Response& res) { res.text(200, "x"); });
  ASSERT_TRUE(app->start().ok());
  std::string url = traffic(*app) + "/x";
  std::atomic<bool> busy{true};
  std::function<void()> hog = [&] {
    auto until = std::chrono::steady_clock::now() + 20ms;
    while (std::chrono::steady_clock::now() < until) {
    }
    if (busy.load()) app->runtime().loop(0).post(hog);
  };
  app->runtime().loop(0).post(hog);
  int ok = 0, refused = 0;
  for (auto end = std::chrono::steady_clock::now() + 1500ms; std::chrono::steady_clock::now() < end;) {
    auto r = call(*app, http::Method::kGet, url);
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    if (r->status == 503) {
      ++refused;
      EXPECT_EQ(r->header("Retry-After"), "1");
      EXPECT_NE(r->body.find("OVERLOADED"), std::string::npos) << r->body;
    } else {
      EXPECT_EQ(r->status, 200);
      ++ok;
    }
  }
  busy = false;
  EXPECT_GT(refused, 0) << ok << " served";
  std::this_thread::sleep_for(300ms);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(call(*app, http::Method::kGet, url)->status, 200) << i;
  auto metrics = call(*app, http::Method::kGet, admin(*app) + "/metrics");
  // The controller's state per loop (its value may still be decaying: the requests above were admitted).
  EXPECT_NE(metrics->body.find("svckit_resilience_queue_shed_probability{loop=\"0\"} "), std::string::npos);
  EXPECT_NE(metrics->body.find(R"(svckit_resilience_queue_delay_seconds{loop="0"})"), std::string::npos);
  app->request_stop();
  app->wait();
}

TEST_F(AppTest, ResilienceSectionInstallsARateLimitOnTheTrafficPort) {
  auto app = make({"resilience.rate_limit=true", "resilience.rate=1", "resilience.burst=2"});
  app->router().get("/x", [](http::Request&, http::Response& res) { res.text(200, "x"); });
  ASSERT_TRUE(app->start().ok());
  std::string url = traffic(*app) + "/x";
  EXPECT_EQ(call(*app, http::Method::kGet, url)->status, 200);
  EXPECT_EQ(call(*app, http::Method::kGet, url)->status, 200);
  auto limited = call(*app, http::Method::kGet, url);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->header("Retry-After"), "1");
  // The admin port is not limited: probes and scrapes still answer.
  EXPECT_EQ(call(*app, http::Method::kGet, admin(*app) + "/healthz")->status, 200);
  auto metrics = call(*app, http::Method::kGet, admin(*app) + "/metrics");
  EXPECT_NE(metrics->body.find(R"(status="429"} 1)"), std::string::npos);
  app->request_stop();
  app->wait();
}

}  // namespace
}  // namespace svckit::app

namespace svckit::app {
namespace {

TEST_F(AppTest, PerRouteLimitsFromConfigMatchTheRouteTemplateAndMethod) {
  auto app =
      make({"resilience.routes.0.method=GET", "resilience.routes.0.route=/orders/:id", "resilience.routes.0.rate=1",
            "resilience.routes.0.burst=1", "resilience.routes.1.route=/export", "resilience.routes.1.max_in_flight=1"});
  app->router().get("/orders/:id", [](http::Request&, http::Response& res) { res.text(200, "order"); });
  app->router().post("/orders/:id", [](http::Request&, http::Response& res) { res.text(200, "posted"); });
  app->router().get("/free", [](http::Request&, http::Response& res) { res.text(200, "free"); });
  ASSERT_TRUE(app->start().ok());
  EXPECT_EQ(call(*app, http::Method::kGet, traffic(*app) + "/orders/1")->status, 200);
  // Another id is the same route template: the same bucket.
  auto limited = call(*app, http::Method::kGet, traffic(*app) + "/orders/2");
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->header("Retry-After"), "1");
  EXPECT_EQ(call(*app, http::Method::kPost, traffic(*app) + "/orders/2")->status, 200);  // other method
  for (int i = 0; i < 5; ++i) EXPECT_EQ(call(*app, http::Method::kGet, traffic(*app) + "/free")->status, 200);
  app->request_stop();
  app->wait();
}

TEST_F(AppTest, ABadRouteRuleRefusesToStart) {
  auto [exit, err] = refused_init({"resilience.routes.0.route=/x", "resilience.routes.0.speed=3"});
  ASSERT_TRUE(exit);
  EXPECT_EQ(*exit, 2);
  EXPECT_NE(err.find("resilience.routes[0].speed: unknown key"), std::string::npos) << err;
}

TEST_F(AppTest, UpstreamRulesFromConfigBuildTheOutgoingGuards) {
  auto app = make({"resilience.upstreams.0.name=billing", "resilience.upstreams.0.timeout=2s",
                   "resilience.upstreams.0.breaker=gobreaker", "resilience.upstreams.0.failures=3",
                   "resilience.upstreams.0.retries=2", "resilience.upstreams.1.name=billing",
                   "resilience.upstreams.1.method=POST /v1/charges", "resilience.upstreams.1.retries=0",
                   "resilience.upstreams.1.idempotent=false"});
  auto& billing = app->upstreams().get("billing");
  EXPECT_EQ(billing.policy().timeout, std::chrono::seconds(2));
  EXPECT_EQ(billing.policy().retries, 2);
  ASSERT_NE(billing.breaker(), nullptr);
  auto& charges = app->upstreams().get("billing", "POST /v1/charges");
  EXPECT_EQ(charges.policy().retries, 0);
  EXPECT_FALSE(charges.policy().idempotent);
  EXPECT_EQ(charges.breaker(), billing.breaker());
  EXPECT_EQ(app->upstreams().get("search").breaker(), nullptr);  // no rule: no breaker, no retries
}

TEST_F(AppTest, ABadUpstreamRuleRefusesToStartAndSaysWhy) {
  auto [exit, err] = refused_init({"resilience.upstreams.0.name=billing", "resilience.upstreams.0.retries=lots"});
  ASSERT_TRUE(exit);
  EXPECT_EQ(*exit, 2);
  EXPECT_NE(err.find("resilience.upstreams[0].retries: \"lots\" is not an integer (flag --set)"), std::string::npos)
      << err;
}

}  // namespace
}  // namespace svckit::app
