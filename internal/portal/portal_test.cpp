// The portal's routes on a real server beside a gateway-like catch-all: its files with their security
// headers and revalidation, and everything else still reaching the catch-all (the proxy).
#include "portal.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "svckit/http/client.hpp"
#include "svckit/http/server.hpp"

using namespace std::chrono_literals;

namespace svckit::portal {
namespace {

std::string header(const http::ClientResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        }))
      return v;
  return {};
}

class PortalTest : public ::testing::Test {
 protected:
  void start(const Settings& s) {
    mount(router_, s);
    router_.handle(http::Method::kGet, "/*path", [](http::Request& req, http::Response& res) {
      res.text(200, "proxied " + std::string(req.param("path")));
    });
    router_.handle(http::Method::kPost, "/*path",
                   [](http::Request&, http::Response& res) { res.text(200, "proxied"); });
    http::ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    server_ = std::make_unique<http::Server>(rt_, router_, o, log::Logger({.level = log::Level::kOff}));
    ASSERT_TRUE(server_->start().ok());
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    if (server_) rt_.block_on(server_->drain());
  }
  http::ClientResponse get(std::string path, std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::ClientRequest req{.method = http::Method::kGet, .url = base_ + path, .headers = std::move(headers)};
    auto r = rt_.block_on(client_.send(Context().with_timeout(5s), std::move(req)));
    EXPECT_TRUE(r.has_value());
    return r ? *r : http::ClientResponse{};
  }

  Runtime rt_{{.workers = 1}};
  http::Router router_;
  std::unique_ptr<http::Server> server_;
  http::Client client_{rt_};
  std::string base_;
};

TEST_F(PortalTest, ServesThePageWithAStrictPolicy) {
  start({});
  auto page = get("/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(header(page, "Content-Type"), "text/html; charset=utf-8");
  std::string csp = header(page, "Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-eval"), std::string::npos);
  EXPECT_EQ(header(page, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(header(page, "Referrer-Policy"), "no-referrer");
  // Nothing inline: the script and the style come from /portal/.
  EXPECT_NE(page.body.find("<script src=\"/portal/portal.js\""), std::string::npos);
  EXPECT_EQ(page.body.find("<script>"), std::string::npos);
  EXPECT_EQ(page.body.find("<style"), std::string::npos);
  EXPECT_EQ(page.body.find("style="), std::string::npos);

  auto js = get("/portal/portal.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(header(js, "Content-Type"), "text/javascript; charset=utf-8");
  // Data reaches the page as text only.
  EXPECT_EQ(js.body.find("innerHTML"), std::string::npos);
  EXPECT_EQ(js.body.find("eval("), std::string::npos);
  EXPECT_EQ(header(get("/portal/portal.css"), "Content-Type"), "text/css; charset=utf-8");
  EXPECT_EQ(header(get("/portal/icon.svg"), "Content-Type"), "image/svg+xml");
  std::string tag = header(js, "ETag");
  ASSERT_FALSE(tag.empty());
  auto again = get("/portal/portal.js", {{"If-None-Match", tag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(get("/portal/nope.js").status, 404);
  EXPECT_EQ(get("/portal/index.html").status, 404);  // the page has one address
}

TEST_F(PortalTest, EverythingElseStillReachesTheProxy) {
  start({});
  auto api = get("/v1/licenses");
  EXPECT_EQ(api.status, 200);
  EXPECT_EQ(api.body, "proxied v1/licenses");
  EXPECT_EQ(get("/portalx").body, "proxied portalx");
}

TEST_F(PortalTest, DisabledLeavesTheRootToTheProxy) {
  start({.enabled = false});
  EXPECT_EQ(get("/").body, "proxied ");
  EXPECT_EQ(get("/portal/portal.js").body, "proxied portal/portal.js");
}

}  // namespace
}  // namespace svckit::portal
