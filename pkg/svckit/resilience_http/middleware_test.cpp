// The resilience middleware through a real server and client.
#include "svckit/resilience_http/middleware.hpp"

#include <gtest/gtest.h>

#include "svckit/http/client.hpp"
#include "svckit/http/server.hpp"

using namespace std::chrono_literals;

namespace svckit::resilience {
namespace {

TEST(Middleware, RateLimitAnswers429WithRetryAfterAndShedding503) {
  Runtime rt({.workers = 1});
  http::Router router;
  auto limiter = std::make_shared<TokenBucket>(1, 2);
  auto g = router.group("/limited");
  g.use(middleware::rate_limit(limiter));
  g.get("/x", [](http::Request&, http::Response& res) { res.text(200, "ok"); });
  auto hot = std::make_shared<Shedder>(ShedderSettings{.cool_off = 10s, .cpu = [] { return 1.0; }});
  auto shed = router.group("/shed");
  shed.use(middleware::shed(hot));
  shed.get("/x", [](http::Request&, http::Response& res) { res.text(200, "ok"); });
  http::Server server(rt, router, {.host = "127.0.0.1", .port = 0}, log::Logger({.level = log::Level::kOff}));
  ASSERT_TRUE(server.start().ok());
  std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  {
    http::Client client(rt);
    auto get = [&](std::string path) {
      return rt.block_on(
          [&]() -> Task<Result<http::ClientResponse>> { co_return co_await client.get(Context(), base + path); }());
    };
    EXPECT_EQ(get("/limited/x")->status, 200);
    EXPECT_EQ(get("/limited/x")->status, 200);
    auto limited = get("/limited/x");
    EXPECT_EQ(limited->status, 429);
    EXPECT_EQ(limited->header("Retry-After"), "1");
    EXPECT_NE(limited->body.find("RATE_LIMITED"), std::string::npos);
    // The shedder has no history: max_flight is 1, so one request at a time passes even when hot;
    // a second while the first is in flight is shed.
    EXPECT_EQ(get("/shed/x")->status, 200);
    auto p = hot->allow();  // occupy the only slot
    auto shed_res = get("/shed/x");
    EXPECT_EQ(shed_res->status, 503);
    EXPECT_NE(shed_res->body.find("OVERLOADED"), std::string::npos);
  }
  rt.block_on(server.drain());
}

}  // namespace
}  // namespace svckit::resilience
