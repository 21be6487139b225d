// Identity at the edge through the gateway: tokens minted with auth::Issuer, keys from a JWKS file
// or an in-process JWKS server (svckit's http::Server), an echo upstream that shows what reached it.
// 401 with the challenge for missing and bad tokens, 403 for missing roles and scopes, 503 while no
// key set was ever fetched, the identity headers set from the token and never from the client, an
// unknown kid refreshing the keys, the cache, hot reload, and a table refused without a verifier.
#include "edge_auth.hpp"

#include <gtest/gtest.h>

#include "detail/gateway_fixture.hpp"
#include "svckit/auth/base64url.hpp"
#include "svckit/auth/issuer.hpp"
#include "svckit/core/strings.hpp"
#include "svckit/discovery/static_registry.hpp"

namespace svckit::gateway::testing {
namespace {

constexpr std::string_view kIss = "https://id.test";

// The request as the upstream saw it: one "name: value" line per field.
void echo_request(http::Request& req, http::Response& res) {
  std::string out;
  for (auto it = req.headers_begin(); it != req.headers_end(); ++it)
    out += std::string(it->name) + ": " + std::string(it->value) + "\n";
  res.text(200, out);
}

// Every value of a field in an echo, in order, joined with '|'.
std::string fields(const std::string& echo, std::string_view name) {
  std::string out;
  std::size_t pos = 0;
  while (pos < echo.size()) {
    std::size_t end = echo.find('\n', pos);
    std::string_view line = std::string_view(echo).substr(pos, end - pos);
    if (line.size() > name.size() + 1 && iequals(line.substr(0, name.size()), name) && line[name.size()] == ':') {
      if (!out.empty()) out += '|';
      out += line.substr(name.size() + 2);
    }
    pos = end == std::string::npos ? echo.size() : end + 1;
  }
  return out;
}

// The identity service: a JWKS endpoint whose keys the test changes.
struct JwksServer {
  explicit JwksServer(Runtime& r) : rt(r) {
    router.get("/.well-known/jwks.json", [this](http::Request&, http::Response& res) {
      ++hits;
      std::lock_guard lock(mu);
      res.json(200, body);
      res.set_header("Cache-Control", "max-age=300");
    });
    server = std::make_unique<http::Server>(rt, router, http::ServerOptions{.host = "127.0.0.1", .port = 0},
                                            log::Logger({.level = log::Level::kOff}));
    EXPECT_TRUE(server->start().ok());
  }
  ~JwksServer() { rt.block_on(server->drain()); }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(server->port()); }
  void publish(std::initializer_list<const auth::Key*> keys) {
    auth::KeySet set;
    for (const auth::Key* k : keys) EXPECT_TRUE(set.add(k->public_key()).ok());
    std::lock_guard lock(mu);
    body = set.to_jwks();
  }
  Runtime& rt;
  std::mutex mu;
  std::string body = R"({"keys":[]})";
  std::atomic<int> hits{0};
  http::Router router;
  std::unique_ptr<http::Server> server;
};

auth::Issuer issuer_of(const auth::Key& key, std::string iss = std::string(kIss), std::string aud = "api") {
  auth::KeySet keys;
  EXPECT_TRUE(keys.add(key).ok());
  return auth::Issuer::create(std::move(keys), key.kid(), {.issuer = std::move(iss), .audience = {std::move(aud)}})
      .value();
}

std::string token_for(const auth::Issuer& issuer, std::string sub, std::vector<std::string> roles,
                      std::string scope = {}) {
  auth::Claims c;
  c.set_subject(sub).set("roles", roles);
  if (!scope.empty()) c.set("scope", scope);
  return issuer.issue(std::move(c)).value();
}

class GatewayAuthTest : public GatewayFixture {
 protected:
  void SetUp() override {
    GatewayFixture::SetUp();
    up_routers_[0].get("/*path", echo_request);
    up_ = start_upstream(up_routers_[0]);
  }
  // gateway_auth with the keys in a JWKS file (written now from `keys`).
  void use_jwks_file(std::initializer_list<const auth::Key*> keys) {
    auth::KeySet set;
    for (const auth::Key* k : keys) ASSERT_TRUE(set.add(k->public_key()).ok());
    std::string path = (dir_ / "jwks.json").string();
    std::ofstream(path) << set.to_jwks();
    auth_ = settings();
    auth_->jwks_file = path;
  }
  static auth::VerifierSettings settings() {
    auth::VerifierSettings s;
    s.issuer = std::string(kIss);
    s.audiences = {"api"};
    s.jwks_min_refresh = 100ms;
    s.jwks_timeout = 1s;
    return s;
  }
  std::string route(std::string name, std::string path, std::string extra = {}) const {
    return "  - {name: " + name + ", path: " + path + ", upstream: ['" + url(up_) + "']" +
           (extra.empty() ? "" : ", " + extra) + "}\n";
  }
  std::optional<RawClient::Response> get(std::string path, std::string token = {}, std::string extra = {}) {
    RawClient c(port_);
    std::string head = "GET " + path + " HTTP/1.1\r\nHost: x\r\n";
    if (!token.empty()) head += "Authorization: Bearer " + token + "\r\n";
    c.send(head + extra + "\r\n");
    return c.response();
  }
  std::string reason(const RawClient::Response& r) const {
    auto pos = r.body.find(R"("reason":")");
    if (pos == std::string::npos) return "";
    pos += 10;
    return r.body.substr(pos, r.body.find('"', pos) - pos);
  }

  std::uint16_t up_ = 0;
  auth::Key key_ = auth::Key::generate(auth::Algorithm::kEdDSA, "k1").value();
  auth::Issuer issuer_ = issuer_of(key_);
};

TEST_F(GatewayAuthTest, TokensAreVerifiedAndTheIdentityForwarded) {
  use_jwks_file({&key_});
  start_gateway("routes:\n" + route("open", "/open") + route("api", "/api", "auth: jwt") +
                route("admin", "/admin", "auth: jwt, auth_roles: [admin, ops]") +
                route("orders", "/orders", "auth: jwt, auth_scopes: ['orders:read', 'orders:write']") +
                route("es", "/es", "auth: jwt, auth_algorithms: [ES256]") +
                route("maybe", "/maybe", "auth: jwt, auth_optional: true") +
                route("notoken", "/notoken", "auth: jwt, auth_forward_token: false"));
  const std::string token = token_for(issuer_, "user-42", {"reader", "writer"}, "orders:read profile");

  // No token: 401 with the bare challenge.
  auto r = get("/api");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->headers["www-authenticate"], "Bearer");
  EXPECT_EQ(reason(*r), "NO_TOKEN");
  r = get("/api", {}, "Authorization: Basic dTpw\r\n");
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(reason(*r), "MALFORMED_TOKEN");

  // A valid token: the upstream gets the identity, and the client's own X-User-* never.
  r = get("/api", token, "X-User-Id: admin\r\nX-User-Roles: admin\r\nx-user-tenant: evil\r\n");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(fields(r->body, "X-User-Id"), "user-42");
  EXPECT_EQ(fields(r->body, "X-User-Roles"), "reader,writer");
  EXPECT_EQ(fields(r->body, "X-User-Scopes"), "orders:read,profile");
  EXPECT_EQ(fields(r->body, "X-User-Tenant"), "");
  EXPECT_EQ(fields(r->body, "Authorization"), "Bearer " + token);  // services verify again
  // On a route without auth too.
  r = get("/open", {}, "X-User-Id: admin\r\nX-User-Roles: admin\r\n");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(fields(r->body, "X-User-Id"), "");
  EXPECT_EQ(fields(r->body, "X-User-Roles"), "");
  r = get("/notoken", token);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(fields(r->body, "Authorization"), "");
  EXPECT_EQ(fields(r->body, "X-User-Id"), "user-42");

  // Roles (any of) and scopes (all of): 403 with insufficient_scope.
  r = get("/admin", token);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(reason(*r), "MISSING_ROLE");
  EXPECT_NE(r->headers["www-authenticate"].find(R"(error="insufficient_scope")"), std::string::npos);
  EXPECT_EQ(get("/admin", token_for(issuer_, "ops-1", {"ops"}))->status, 200);
  r = get("/orders", token);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(reason(*r), "MISSING_SCOPE");
  EXPECT_NE(r->headers["www-authenticate"].find(R"(scope="orders:read orders:write")"), std::string::npos);
  EXPECT_EQ(get("/orders", token_for(issuer_, "u", {}, "orders:write orders:read"))->status, 200);

  // An algorithm the route does not allow, whether the token was verified before (cached) or not.
  r = get("/es", token);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(reason(*r), "ALG_NOT_ALLOWED");
  r = get("/es", token_for(issuer_, "fresh", {}));
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(reason(*r), "ALG_NOT_ALLOWED");

  // Optional: no token passes without identity; a bad token is still refused.
  r = get("/maybe", {}, "X-User-Id: admin\r\n");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(fields(r->body, "X-User-Id"), "");
  EXPECT_EQ(get("/maybe", token + "x")->status, 401);
  EXPECT_EQ(fields(get("/maybe", token)->body, "X-User-Id"), "user-42");

  // The same token again is answered from the cache.
  auto before = gateway_->edge_auth()->stats();
  EXPECT_EQ(get("/api", token)->status, 200);
  auto after = gateway_->edge_auth()->stats();
  EXPECT_EQ(after.cache_hits, before.cache_hits + 1);
  EXPECT_EQ(after.verified, before.verified);
  EXPECT_NE(gateway_->describe().find(R"("auth_refused":)"), std::string::npos);
}

TEST_F(GatewayAuthTest, BadTokensAre401WithTheVerifiersReason) {
  use_jwks_file({&key_});
  start_gateway("routes:\n" + route("api", "/api", "auth: jwt"));
  auto expect_refused = [&](const std::string& token, std::string_view why) {
    auto r = get("/api", token);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401) << why;
    EXPECT_EQ(reason(*r), why) << r->body;
    EXPECT_NE(r->headers["www-authenticate"].find(R"(Bearer error="invalid_token")"), std::string::npos) << why;
    EXPECT_NE(r->headers["content-type"].find("application/json"), std::string::npos);
  };
  auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  auth::Claims expired;
  expired.set_subject("u").set_issued_at(now - 2h).set_expires_at(now - 1h);
  expect_refused(issuer_.issue(expired).value(), "TOKEN_EXPIRED");
  expect_refused(token_for(issuer_of(key_, "https://evil.test"), "u", {}), "WRONG_ISSUER");
  expect_refused(token_for(issuer_of(key_, std::string(kIss), "other"), "u", {}), "WRONG_AUDIENCE");
  auto other = auth::Key::generate(auth::Algorithm::kEdDSA, "k1").value();  // same kid, another key
  expect_refused(token_for(issuer_of(other), "u", {}), "BAD_SIGNATURE");
  // alg none: refused before any key is looked at.
  std::string payload = R"({"sub":"u","iss":"https://id.test","aud":"api","exp":)" +
                        std::to_string((now + 1h).time_since_epoch().count()) + "}";
  expect_refused(
      auth::base64url_encode(R"({"alg":"none","typ":"at+jwt"})") + "." + auth::base64url_encode(payload) + ".",
      "ALG_NOT_ALLOWED");
  auth::Claims no_sub;
  expect_refused(issuer_.issue(no_sub).value(), "MISSING_CLAIM");
  expect_refused("not.a.token", "MALFORMED_TOKEN");
  EXPECT_EQ(gateway_->edge_auth()->stats().cached, 0u);  // nothing refused is remembered
}

TEST_F(GatewayAuthTest, KeysNeverFetchedAre503ThenTheTokenVerifiesOnceTheyArrive) {
  auto registry = std::make_shared<discovery::StaticRegistry>();
  discovery_ = registry;
  JwksServer identity(rt_);
  identity.publish({&key_});
  auth_ = settings();
  auth_->jwks_url = "discovery:///auth-svc/.well-known/jwks.json";  // not registered yet: unreachable
  start_gateway("routes:\n" + route("api", "/api", "auth: jwt"));
  const std::string token = token_for(issuer_, "user-42", {"reader"});
  auto r = get("/api", token);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(reason(*r), "KEYS_UNAVAILABLE");
  EXPECT_EQ(r->headers["retry-after"], "5");
  EXPECT_EQ(r->headers.count("www-authenticate"), 0u);  // not the token's fault
  EXPECT_EQ(get("/api")->status, 401);                  // no token is still no token

  discovery::Instance inst;
  inst.id = "auth-1";
  inst.name = "auth-svc";
  inst.endpoints = {identity.endpoint()};
  ASSERT_TRUE(registry->add(inst).ok());
  int status = 0;
  for (int i = 0; i < 200 && status != 200; ++i) {  // the JWKS client tries again every jwks_min_refresh
    status = get("/api", token)->status;
    if (status != 200) std::this_thread::sleep_for(25ms);
  }
  EXPECT_EQ(status, 200);
  EXPECT_EQ(get("/api", token + "x")->status, 401);
}

TEST_F(GatewayAuthTest, AKeyPublishedAfterStartIsFoundThroughItsUnknownKid) {
  JwksServer identity(rt_);
  identity.publish({&key_});
  auth_ = settings();
  auth_->jwks_url = identity.endpoint() + "/.well-known/jwks.json";
  start_gateway("routes:\n" + route("api", "/api", "auth: jwt"));
  const std::string token = token_for(issuer_, "user-42", {});
  int status = 0;
  for (int i = 0; i < 200 && status != 200; ++i) {  // the first fetch runs in the background
    status = get("/api", token)->status;
    if (status != 200) std::this_thread::sleep_for(25ms);
  }
  ASSERT_EQ(status, 200);
  const int fetched = identity.hits.load();

  auto rotated = auth::Key::generate(auth::Algorithm::kES256, "k2").value();
  identity.publish({&key_, &rotated});
  std::this_thread::sleep_for(150ms);  // past jwks_min_refresh since the last fetch
  auto r = get("/api", token_for(issuer_of(rotated), "user-7", {}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(fields(r->body, "X-User-Id"), "user-7");
  EXPECT_EQ(identity.hits.load(), fetched + 1);  // one fetch, for the unknown kid (max-age is 300 s)
}

TEST_F(GatewayAuthTest, RateLimitByUserTakesTheVerifiedSubject) {
  use_jwks_file({&key_});
  start_gateway("routes:\n" + route("api", "/api",
                                    "auth: jwt, auth_optional: true, rate_limit: 0.001, rate_burst: 1, "
                                    "rate_limit_key: user"));
  const std::string alice = token_for(issuer_, "alice", {}), bob = token_for(issuer_, "bob", {});
  EXPECT_EQ(get("/api", alice)->status, 200);
  EXPECT_EQ(get("/api", alice)->status, 429);
  EXPECT_EQ(get("/api", token_for(issuer_, "alice", {"other"}))->status, 429);  // another token, same user
  EXPECT_EQ(get("/api", bob)->status, 200);
  EXPECT_EQ(get("/api")->status, 200);  // anonymous: by address
  EXPECT_EQ(get("/api")->status, 429);
}

TEST_F(GatewayAuthTest, HotReloadTurnsARouteToJwt) {
  use_jwks_file({&key_});
  start_gateway("routes:\n" + route("api", "/api"), {}, /*watch=*/true);
  EXPECT_EQ(get("/api")->status, 200);
  write_routes("routes:\n" + route("api", "/api", "auth: jwt, auth_roles: [admin]"));
  for (int i = 0; i < 250 && gateway_->stats().generation < 2; ++i) std::this_thread::sleep_for(20ms);
  ASSERT_EQ(gateway_->stats().generation, 2u);
  EXPECT_EQ(get("/api")->status, 401);
  EXPECT_EQ(get("/api", token_for(issuer_, "u", {"reader"}))->status, 403);
  EXPECT_EQ(get("/api", token_for(issuer_, "u", {"admin"}))->status, 200);
  write_routes("routes:\n" + route("api", "/api"));
  for (int i = 0; i < 250 && gateway_->stats().generation < 3; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(get("/api")->status, 200);
}

TEST_F(GatewayAuthTest, WithoutAVerifierAJwtRouteIsRefusedAtLoadAndOnReload) {
  write_routes("routes:\n" + route("orders", "/orders", "auth: jwt"));
  Gateway refused(rt_,
                  {.settings = {}, .routes_path = routes_path_, .logger = log::Logger({.level = log::Level::kOff})});
  Status st = refused.load();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("route \"orders\": auth: jwt needs a token verifier"), std::string::npos)
      << st.to_string();
  EXPECT_EQ(refused.table(), nullptr);

  start_gateway("routes:\n" + route("orders", "/orders"), {}, /*watch=*/true);  // no auth_
  write_routes("routes:\n" + route("orders", "/orders", "auth: jwt"));
  for (int i = 0; i < 250 && gateway_->stats().reload_failures < 1; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(gateway_->stats().reload_failures, 1u);
  EXPECT_EQ(get("/orders")->status, 200);  // the table in force stays; never the jwt route served open
}

TEST_F(GatewayAuthTest, AnUnreadableJwksFileFailsTheLoad) {
  auth_ = settings();
  auth_->jwks_file = (dir_ / "missing.json").string();
  write_routes("routes:\n" + route("api", "/api"));
  Gateway g(
      rt_,
      {.settings = {}, .routes_path = routes_path_, .auth = auth_, .logger = log::Logger({.level = log::Level::kOff})});
  Status st = g.load();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("gateway_auth"), std::string::npos) << st.to_string();
}

// ---- the cache and the section, without a server ----

std::shared_ptr<const Identity> identity(std::string sub, auth::Seconds until,
                                         std::optional<auth::Seconds> nbf = std::nullopt) {
  auto id = std::make_shared<Identity>();
  auth::Claims c;
  c.set_subject(sub);
  id->principal = auth::make_principal(c);
  id->not_before = nbf;
  id->valid_until = until;
  return id;
}

TEST(GatewayAuthCache, EntriesLiveUntilExpOrTtlAndGoWithTheirKeySet) {
  const auth::Seconds t0{std::chrono::seconds(1'700'000'000)};
  auto keys = std::make_shared<const auth::KeySet>();
  TokenCache cache(64, 60s);
  cache.insert("a", identity("a", t0 + 10s), keys, t0);  // exp first
  cache.insert("b", identity("b", t0 + 1h), keys, t0);   // ttl first
  cache.insert("n", identity("n", t0 + 1h, t0 + 20s), keys, t0);
  EXPECT_EQ(cache.find("a", keys, t0 + 9s, 0s)->principal->subject, "a");
  EXPECT_EQ(cache.find("a", keys, t0 + 10s, 0s), nullptr);  // a hit still checks the time
  EXPECT_NE(cache.find("b", keys, t0 + 59s, 0s), nullptr);
  EXPECT_EQ(cache.find("b", keys, t0 + 60s, 0s), nullptr);
  EXPECT_EQ(cache.find("n", keys, t0 + 5s, 0s), nullptr);   // not valid yet
  EXPECT_NE(cache.find("n", keys, t0 + 5s, 30s), nullptr);  // within leeway
  EXPECT_EQ(cache.find("other", keys, t0, 0s), nullptr);
  // Another key set (a rotation, a key withdrawn): nothing verified under the old one is used.
  cache.insert("c", identity("c", t0 + 1h), keys, t0);
  auto rotated = std::make_shared<const auth::KeySet>();
  EXPECT_EQ(cache.find("c", rotated, t0, 0s), nullptr);
  EXPECT_EQ(cache.find("c", keys, t0, 0s), nullptr);
  // Bounded.
  for (int i = 0; i < 1000; ++i) cache.insert("t" + std::to_string(i), identity("x", t0 + 1h), keys, t0);
  EXPECT_LE(cache.size(), 64u);
  TokenCache off(0, 60s);
  off.insert("a", identity("a", t0 + 1h), keys, t0);
  EXPECT_EQ(off.find("a", keys, t0, 0s), nullptr);
}

TEST(GatewayAuthCache, TheSectionIsBoundOnlyWhenSet) {
  auto snap_of = [](std::string_view yaml) {
    config::Snapshot s;
    s.values = config::parse_yaml(yaml, "base.yaml").value();
    return s;
  };
  auto none = bind_edge_auth(snap_of("gateway: {routes_file: r.yaml}\n"));
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->has_value());
  auto set = bind_edge_auth(
      snap_of("gateway_auth: {jwks_url: 'discovery:///auth-svc/.well-known/jwks.json', issuer: x, audiences: [api], "
              "algorithms: [EdDSA]}\n"));
  ASSERT_TRUE(set.has_value()) << set.error().to_string();
  ASSERT_TRUE(set->has_value());
  EXPECT_EQ((*set)->issuer, "x");
  EXPECT_EQ((*set)->audiences, std::vector<std::string>{"api"});
  auto typo = bind_edge_auth(snap_of("gateway_auth: {jwks_url: 'http://a:1/j', issuer: x, isuer: y}\n"));
  ASSERT_FALSE(typo.has_value());
  EXPECT_NE(typo.error().message().find("gateway_auth.isuer: unknown key"), std::string::npos)
      << typo.error().to_string();
  auto incomplete = bind_edge_auth(snap_of("gateway_auth: {issuer: x}\n"));
  ASSERT_FALSE(incomplete.has_value());
  EXPECT_NE(incomplete.error().message().find("jwks_url"), std::string::npos) << incomplete.error().to_string();
}

}  // namespace
}  // namespace svckit::gateway::testing
