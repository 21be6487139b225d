// Hot reload of the routes file under load: every edit is a whole new table swapped in atomically,
// no request fails, requests in flight finish on the table they started with, and a bad edit is
// refused (the table in force kept, the refusal counted).
#include "detail/gateway_fixture.hpp"

namespace svckit::gateway::testing {
namespace {

class ReloadTest : public GatewayFixture {};

std::string table(int version, std::uint16_t up, bool with_slow) {
  std::string routes = "routes:\n  - {name: a-" + std::to_string(version) +
                       ", path: /a, upstream: ['http://127.0.0.1:" + std::to_string(up) + "']}\n";
  if (with_slow) routes += "  - {name: slow, path: /slow, upstream: ['http://127.0.0.1:" + std::to_string(up) + "']}\n";
  return routes;
}

TEST_F(ReloadTest, EditsSwapTheTableUnderLoadWithNoFailedRequest) {
  up_routers_[0].get("/a", [](http::Request&, http::Response& res) { res.text(200, "a"); });
  up_routers_[0].get("/slow", [](http::Request& req, http::Response& res) -> Task<void> {
    co_await sleep_for(req.ctx, 700ms);
    res.text(200, "slow");
  });
  auto up = start_upstream(up_routers_[0]);
  start_gateway(table(0, up, true), {}, /*watch=*/true);

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> load;
  for (int t = 0; t < 4; ++t) {
    load.emplace_back([&] {
      while (!stop) {
        RawClient c(port_);  // keep-alive: many requests per connection, across swaps
        for (int i = 0; i < 200 && !stop; ++i) {
          c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
          auto r = c.response();
          if (r && r->status == 200 && r->body == "a")
            ++ok;
          else {
            if (failed++ == 0)
              std::fprintf(stderr, "failed: %s\n",
                           r ? (std::to_string(r->status) + " " + r->body).c_str() : "no response");
            break;
          }
        }
      }
    });
  }
  // A request in flight when its route goes away finishes on the table it started with.
  int slow_status = 0;
  std::thread slow([&] {
    RawClient c(port_);
    c.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c.response();
    slow_status = r ? r->status : -1;
  });
  std::this_thread::sleep_for(150ms);
  write_routes(table(1, up, false));
  for (int i = 0; i < 50 && gateway_->stats().generation < 2; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(gateway_->stats().generation, 2u);
  {
    RawClient c(port_);
    c.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c.response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404);  // new requests see the new table
  }
  slow.join();
  EXPECT_EQ(slow_status, 200);

  // More edits under load, one of them bad.
  for (int v = 2; v < 12; ++v) {
    if (v == 6) {
      write_routes("routes:\n  - {name: broken, path: nope, upstream: []}\n");
      for (int i = 0; i < 50 && gateway_->stats().reload_failures < 1; ++i) std::this_thread::sleep_for(20ms);
      EXPECT_EQ(gateway_->stats().reload_failures, 1u);
      continue;
    }
    write_routes(table(v, up, false));
    std::this_thread::sleep_for(80ms);
  }
  for (int i = 0; i < 50 && gateway_->table()->routes()[0].cfg.name != "a-11"; ++i) std::this_thread::sleep_for(20ms);
  stop = true;
  for (auto& t : load) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 500);
  EXPECT_EQ(gateway_->table()->routes()[0].cfg.name, "a-11");
  EXPECT_EQ(gateway_->stats().reload_failures, 1u);
  EXPECT_GE(gateway_->stats().reloads, 10u);
  std::fprintf(stderr, "reload under load: %d requests, %d failed, %llu reloads, %llu refused\n", ok.load(),
               failed.load(), static_cast<unsigned long long>(gateway_->stats().reloads),
               static_cast<unsigned long long>(gateway_->stats().reload_failures));
  // /debug/routes shows the live table with its counters.
  std::string live = gateway_->describe();
  EXPECT_NE(live.find(R"("name":"a-11")"), std::string::npos) << live;
  EXPECT_NE(live.find(R"("reload_failures":1)"), std::string::npos) << live;
}

}  // namespace
}  // namespace svckit::gateway::testing
