// The bearer middleware through a real svckit server and client: 401 with RFC 6750 challenges and
// svckit's error body, the principal in the handler's Context, 403 for missing roles and scopes,
// optional authentication.
#include "svckit/auth_http/middleware.hpp"

#include <gtest/gtest.h>

#include "svckit/auth/issuer.hpp"
#include "svckit/http/client.hpp"
#include "svckit/http/server.hpp"

using namespace std::chrono_literals;

namespace svckit::auth {
namespace {

struct Site {
  Runtime rt{RuntimeOptions{.workers = 1}};
  Key key = Key::generate(Algorithm::kEdDSA, "k1").value();
  std::shared_ptr<Verifier> verifier;
  http::Router router;
  std::unique_ptr<http::Server> server;
  std::unique_ptr<http::Client> client;

  Site() {
    KeySet keys;
    EXPECT_TRUE(keys.add(key.public_key()).ok());
    verifier = std::make_shared<Verifier>(std::make_shared<StaticKeys>(keys),
                                          VerifierOptions{.algorithms = {Algorithm::kEdDSA},
                                                          .issuer = "https://id.example",
                                                          .audiences = {"orders"},
                                                          .typ = "at+jwt"});
    auto me = [](http::Request& req, http::Response& res) {
      const Principal* p = principal_of(req.ctx);
      res.text(200, p ? p->subject : "anonymous");
    };
    auto api = router.group("/api");
    api.use(middleware::authenticate(verifier, {.realm = "orders"}));
    api.get("/me", me);
    api.get("/admin", me).use(middleware::require_role("admin"));
    api.get("/write", me).use(middleware::require_scope("orders:write"));
    auto open = router.group("/open");
    open.use(middleware::authenticate(verifier, {.optional = true}));
    open.get("/me", me);
    server = std::make_unique<http::Server>(rt, router, http::ServerOptions{.host = "127.0.0.1", .port = 0},
                                            log::Logger({.level = log::Level::kOff}));
    EXPECT_TRUE(server->start().ok());
    client = std::make_unique<http::Client>(rt);
  }
  ~Site() {
    client.reset();
    rt.block_on(server->drain());
  }
  std::string token(std::chrono::seconds ttl = 900s, std::vector<std::string> roles = {"reader"},
                    std::string scope = "orders:read") {
    auto issuer = Issuer::create(
        [&] {
          KeySet s;
          EXPECT_TRUE(s.add(key).ok());
          return s;
        }(),
        "k1", {.issuer = "https://id.example", .audience = {"orders"}, .ttl = std::max(ttl, 1s)});
    Claims c;
    c.set_subject("user-42").set("roles", roles).set("scope", scope);
    if (ttl.count() < 0) {  // already expired
      auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
      c.set_issued_at(now - 3600s).set_expires_at(now + ttl);
    }
    EXPECT_TRUE(issuer.has_value());
    return issuer->issue(c).value();
  }
  http::ClientResponse get(std::string path, std::string authorization = {}) {
    http::ClientRequest req;
    req.url = "http://127.0.0.1:" + std::to_string(server->port()) + path;
    if (!authorization.empty()) req.headers.emplace_back("Authorization", authorization);
    auto r = rt.block_on([](http::Client& c, http::ClientRequest r) -> Task<Result<http::ClientResponse>> {
      co_return co_await c.send(Context(), std::move(r));
    }(*client, std::move(req)));
    EXPECT_TRUE(r.has_value());
    return r ? *r : http::ClientResponse{};
  }
};

TEST(Middleware, AuthenticatesAndPutsThePrincipalInTheContext) {
  Site site;
  auto ok = site.get("/api/me", "Bearer " + site.token());
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "user-42");
  EXPECT_EQ(site.get("/api/me", "bearer   " + site.token()).status, 200);  // scheme case, spaces

  auto none = site.get("/api/me");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.header("WWW-Authenticate"), R"(Bearer realm="orders")");
  EXPECT_NE(none.body.find(R"("code":"UNAUTHENTICATED","reason":"NO_TOKEN")"), std::string::npos) << none.body;

  auto expired = site.get("/api/me", "Bearer " + site.token(-60s));
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(expired.header("WWW-Authenticate"),
            R"(Bearer realm="orders", error="invalid_token", error_description="the token has expired")");
  EXPECT_NE(expired.body.find(R"("reason":"TOKEN_EXPIRED")"), std::string::npos) << expired.body;

  std::string t = site.token();
  t[t.size() - 5] = t[t.size() - 5] == 'A' ? 'B' : 'A';
  auto tampered = site.get("/api/me", "Bearer " + t);
  EXPECT_EQ(tampered.status, 401);
  EXPECT_NE(tampered.body.find("BAD_SIGNATURE"), std::string::npos);
  EXPECT_EQ(site.get("/api/me", "Basic dXNlcjpwYXNz").status, 401);
  EXPECT_EQ(site.get("/api/me", "Bearer").status, 401);
  EXPECT_EQ(site.get("/api/me", "Bearer not.a.token").status, 401);
}

TEST(Middleware, RolesAndScopesAnswer403) {
  Site site;
  auto reader = site.token();
  auto denied = site.get("/api/admin", "Bearer " + reader);
  EXPECT_EQ(denied.status, 403);
  EXPECT_NE(denied.body.find(R"("code":"PERMISSION_DENIED","reason":"MISSING_ROLE")"), std::string::npos)
      << denied.body;
  EXPECT_EQ(site.get("/api/admin", "Bearer " + site.token(900s, {"reader", "admin"})).status, 200);
  auto scope = site.get("/api/write", "Bearer " + reader);
  EXPECT_EQ(scope.status, 403);
  EXPECT_EQ(scope.header("WWW-Authenticate"),
            R"(Bearer error="insufficient_scope", error_description="the scope orders:write is required", )"
            R"(scope="orders:write")");
  EXPECT_EQ(site.get("/api/write", "Bearer " + site.token(900s, {}, "orders:read orders:write")).status, 200);
  EXPECT_EQ(site.get("/api/admin").status, 401);  // authenticate runs first
}

TEST(Middleware, OptionalAuthenticationLetsAnonymousThroughButNotBadTokens) {
  Site site;
  EXPECT_EQ(site.get("/open/me").body, "anonymous");
  EXPECT_EQ(site.get("/open/me", "Bearer " + site.token()).body, "user-42");
  EXPECT_EQ(site.get("/open/me", "Bearer " + site.token(-60s)).status, 401);
}

TEST(BearerToken, ParsesTheHeader) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("BEARER  abc "), "abc");
  EXPECT_EQ(bearer_token("Bearerabc"), "");
  EXPECT_EQ(bearer_token("Basic abc"), "");
  EXPECT_EQ(bearer_token("Bearer "), "");
}

}  // namespace
}  // namespace svckit::auth
