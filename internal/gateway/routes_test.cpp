// The route model: binding and validation of the routes file, and the table's matching matrix
// (host exact and wildcard, path exact, prefix and template, methods, headers, priority) and upstream
// paths (prefix strip, rewrite).
#include "routes.hpp"

#include <gtest/gtest.h>

#include "table.hpp"

namespace svckit::gateway {
namespace {

// A request head parsed from text, as the server would hand it over.
struct FakeRequest {
  explicit FakeRequest(std::string text) : raw(std::move(text)) {
    std::size_t consumed = 0, scanned = 0;
    http::ParseError e;
    auto r = http::parse_request_head(raw.data(), raw.size(), {}, head, consumed, scanned, e);
    EXPECT_EQ(r, http::ParseResult::kComplete) << raw;
    req.set_head(&head);
  }
  std::string raw;
  http::RequestHead head;
  http::Request req;
};

std::shared_ptr<const RouteTable> table_of(std::string_view yaml, StateStore& states) {
  auto file = parse_routes(yaml, "routes.yaml");
  EXPECT_TRUE(file.has_value()) << (file ? "" : file.error().to_string());
  if (!file) return nullptr;
  auto t = RouteTable::build(*file, states, 1);
  EXPECT_TRUE(t.has_value());
  return t ? *t : nullptr;
}

std::string route_for(const RouteTable& t, std::string request) {
  FakeRequest f(std::move(request));
  auto m = t.match(f.req);
  if (!m) return "-";
  return m->route->cfg.name + " " + RouteTable::upstream_target(*m, f.req);
}

constexpr std::string_view kMatrix = R"(
routes:
  - {name: exact, path: /health, path_type: exact, upstream: ["http://127.0.0.1:9001"]}
  - {name: api-host, hosts: [api.example.com], path: /, upstream: ["http://127.0.0.1:9002"]}
  - {name: wild, hosts: ["*.example.org"], path: /, upstream: ["http://127.0.0.1:9003"]}
  - name: user
    path: /v1/users/:id
    path_type: template
    methods: [GET, PUT]
    rewrite: /internal/users/:id/profile
    upstream: [discovery:///user-svc]
  - {name: strip, path: /static/, strip_prefix: true, upstream: ["http://127.0.0.1:9004"]}
  - {name: moved, path: /old, rewrite: /new, upstream: ["http://127.0.0.1:9004"]}
  - {name: canary-header, path: /v2, headers: {X-Canary: "1"}, upstream: ["http://127.0.0.1:9005"]}
  - {name: v2, path: /v2, upstream: ["http://127.0.0.1:9006"]}
  - {name: urgent, priority: 10, path: /v2/urgent, upstream: ["http://127.0.0.1:9007"]}
)";

TEST(GatewayRoutes, MatchMatrix) {
  StateStore states;
  auto t = table_of(kMatrix, states);
  ASSERT_TRUE(t);
  EXPECT_EQ(route_for(*t, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"), "exact /health");
  EXPECT_EQ(route_for(*t, "GET /health/x HTTP/1.1\r\nHost: x\r\n\r\n"), "-");  // exact is exact
  EXPECT_EQ(route_for(*t, "GET /anything?q=1 HTTP/1.1\r\nHost: API.example.com:8080\r\n\r\n"),
            "api-host /anything?q=1");  // case and port do not matter
  EXPECT_EQ(route_for(*t, "GET /a HTTP/1.1\r\nHost: x.api.example.com\r\n\r\n"), "-");
  EXPECT_EQ(route_for(*t, "GET /a HTTP/1.1\r\nHost: a.b.example.org\r\n\r\n"), "wild /a");
  EXPECT_EQ(route_for(*t, "GET /a HTTP/1.1\r\nHost: example.org\r\n\r\n"), "-");  // the wildcard needs a label
  EXPECT_EQ(route_for(*t, "GET /v1/users/42?full=1 HTTP/1.1\r\nHost: x\r\n\r\n"),
            "user /internal/users/42/profile?full=1");
  EXPECT_EQ(route_for(*t, "DELETE /v1/users/42 HTTP/1.1\r\nHost: x\r\n\r\n"), "-");  // method
  EXPECT_EQ(route_for(*t, "GET /v1/users/ HTTP/1.1\r\nHost: x\r\n\r\n"), "-");       // empty parameter
  EXPECT_EQ(route_for(*t, "GET /v1/users/1/2 HTTP/1.1\r\nHost: x\r\n\r\n"), "-");
  EXPECT_EQ(route_for(*t, "GET /static/css/a.css HTTP/1.1\r\nHost: x\r\n\r\n"), "strip /css/a.css");
  EXPECT_EQ(route_for(*t, "GET /old/page HTTP/1.1\r\nHost: x\r\n\r\n"), "moved /new/page");
  EXPECT_EQ(route_for(*t, "GET /oldish HTTP/1.1\r\nHost: x\r\n\r\n"), "-");  // prefixes end on a segment
  EXPECT_EQ(route_for(*t, "GET /v2/a HTTP/1.1\r\nHost: x\r\nX-Canary: 1\r\n\r\n"), "canary-header /v2/a");
  EXPECT_EQ(route_for(*t, "GET /v2/a HTTP/1.1\r\nHost: x\r\nX-Canary: 2\r\n\r\n"), "v2 /v2/a");
  EXPECT_EQ(route_for(*t, "GET /v2/urgent HTTP/1.1\r\nHost: x\r\nX-Canary: 1\r\n\r\n"), "urgent /v2/urgent");
}

TEST(GatewayRoutes, BadFilesAreRefusedWithEveryProblemNamed) {
  auto bad = parse_routes(R"(
routes:
  - {name: a, path: /a, upstream: ["http://127.0.0.1:1"], timout: 1s}
  - {name: b, path: b, upstream: ["ftp://x"]}
  - {name: c, path: /c, path_type: regex, upstream: ["http://127.0.0.1:1"]}
  - {name: d, path: /d, retries: 99, upstream: ["http://127.0.0.1:1"]}
extra: 1
)",
                          "routes.yaml");
  ASSERT_FALSE(bad.has_value());
  std::string m = bad.error().to_string();
  EXPECT_NE(m.find("extra: unknown key"), std::string::npos) << m;
  auto more = parse_routes(R"(
routes:
  - {name: a, path: /a, upstream: ["http://127.0.0.1:1"], timout: 1s}
  - {name: b, path: b, upstream: ["ftp://x"]}
  - {name: c, path: /c, path_type: regex, upstream: ["http://127.0.0.1:1"]}
  - {name: d, path: /d, retries: 99, upstream: ["http://127.0.0.1:1"]}
)",
                           "routes.yaml");
  ASSERT_FALSE(more.has_value());
  m = more.error().to_string();
  EXPECT_NE(m.find("routes[0].timout: unknown key"), std::string::npos) << m;
  EXPECT_NE(m.find("path: must start with /"), std::string::npos) << m;
  EXPECT_NE(m.find("routes[2].path_type"), std::string::npos) << m;
  EXPECT_NE(m.find("routes[3].retries: 99 is outside"), std::string::npos) << m;
}

TEST(GatewayRoutes, RulesAcrossFieldsAndTheHooksOfLaterParts) {
  auto check = [](std::string_view yaml) {
    auto f = parse_routes(yaml, "routes.yaml");
    return f ? std::string("ok") : f.error().to_string();
  };
  EXPECT_NE(check("routes: [{name: a, path: /a, upstream: []}]").find("upstream: required"), std::string::npos);
  EXPECT_NE(check("routes: [{name: a, path: /a, upstream: ['http://h:1/base']}]").find("has a path"),
            std::string::npos);
  EXPECT_NE(check("routes: [{name: a, path: /a/:x, upstream: ['http://h:1']}]").find("path_type: template"),
            std::string::npos);
  EXPECT_NE(check("routes: [{name: a, path: /a/:x, path_type: template, rewrite: /b/:y, upstream: ['http://h:1']}]")
                .find(":y is not a parameter"),
            std::string::npos);
  EXPECT_NE(check("routes: [{name: a, path: /a, methods: [FETCH], upstream: ['http://h:1']}]").find("unknown method"),
            std::string::npos);
  EXPECT_NE(
      check("routes: [{name: a, path: /a, upstream: ['http://h:1']}, {name: a, path: /b, upstream: ['http://h:1']}]")
          .find("repeats"),
      std::string::npos);
  // Token policies on a route that takes no token would look enforced and not be.
  EXPECT_EQ(check("routes: [{name: a, path: /a, auth: jwt, auth_roles: [admin], auth_scopes: [orders:read], "
                  "auth_algorithms: [EdDSA], auth_optional: true, rate_limit: 5, rate_limit_key: user, "
                  "upstream: ['http://h:1']}]"),
            "ok");
  EXPECT_NE(check("routes: [{name: a, path: /a, auth_roles: [admin], upstream: ['http://h:1']}]")
                .find("auth_roles: needs auth: jwt"),
            std::string::npos);
  EXPECT_NE(check("routes: [{name: a, path: /a, auth_scopes: [s], upstream: ['http://h:1']}]").find("needs auth: jwt"),
            std::string::npos);
  EXPECT_NE(
      check("routes: [{name: a, path: /a, auth_optional: true, upstream: ['http://h:1']}]").find("needs auth: jwt"),
      std::string::npos);
  EXPECT_NE(check("routes: [{name: a, path: /a, rate_limit: 1, rate_limit_key: user, upstream: ['http://h:1']}]")
                .find("user needs auth: jwt"),
            std::string::npos);
  EXPECT_NE(check("routes: [{name: a, path: /a, auth: jwt, auth_algorithms: [HS256], upstream: ['http://h:1']}]")
                .find("\"HS256\" is not one of"),
            std::string::npos);
  EXPECT_NE(check("routes: [{name: a, path: /a, auth: basic, upstream: ['http://h:1']}]").find("auth"),
            std::string::npos);
  {  // auth: jwt binds, but a table with it is refused without a verifier, naming the route.
    StateStore states;
    auto f = parse_routes("routes: [{name: orders, path: /a, auth: jwt, upstream: ['http://h:1']}]", "routes.yaml");
    ASSERT_TRUE(f.has_value());
    auto t = RouteTable::build(*f, states, 1);
    ASSERT_FALSE(t.has_value());
    EXPECT_NE(t.error().message().find("route \"orders\": auth: jwt needs a token verifier"), std::string::npos)
        << t.error().to_string();
    const std::vector<auth::Algorithm> eddsa{auth::Algorithm::kEdDSA};
    ASSERT_TRUE(RouteTable::build(*f, states, 1, &eddsa).has_value());
    auto es = parse_routes(
        "routes: [{name: o, path: /a, auth: jwt, auth_algorithms: [ES256], upstream: ['http://h:1']}]", "routes.yaml");
    ASSERT_TRUE(es.has_value());
    auto refused = RouteTable::build(*es, states, 1, &eddsa);
    ASSERT_FALSE(refused.has_value());
    EXPECT_NE(refused.error().message().find("ES256 is not in gateway_auth.algorithms"), std::string::npos);
  }
  // Mirroring and canary keys.
  EXPECT_EQ(check("routes: [{name: a, path: /a, mirror: 'http://shadow:1', mirror_percent: 5, canary_version: v2, "
                  "canary_weight: 5, canary_header: X-Canary, upstream: ['discovery:///orders']}]"),
            "ok");
  EXPECT_EQ(check("routes: [{name: a, path: /a, canary_upstream: ['http://h:2', 'http://h:3'], canary_weight: 5, "
                  "canary_key: 'header:X-Session', upstream: ['http://h:1']}]"),
            "ok");
  EXPECT_NE(check("routes: [{name: a, path: /a, mirror_percent: 500, upstream: ['http://h:1']}]").find("outside"),
            std::string::npos);
  EXPECT_NE(check("routes: [{name: a, path: /a, mirror_percent: 5, upstream: ['http://h:1']}]").find("needs mirror"),
            std::string::npos);
  EXPECT_NE(check("routes: [{name: a, path: /a, mirror: 'http://s:1/x', upstream: ['http://h:1']}]").find("has a path"),
            std::string::npos);
  EXPECT_NE(check("routes: [{name: a, path: /a, canary_version: v2, upstream: ['http://h:1']}]").find("discovery"),
            std::string::npos);
  EXPECT_NE(check("routes: [{name: a, path: /a, canary_weight: 5, upstream: ['http://h:1']}]").find("canary_weight"),
            std::string::npos);
  EXPECT_NE(check("routes: [{name: a, path: /a, canary_upstream: ['http://h:2'], canary_key: ip, "
                  "upstream: ['http://h:1']}]")
                .find("canary_key"),
            std::string::npos);
}

TEST(GatewayRoutes, UnsafePathsAreNotRouted) {
  EXPECT_TRUE(unsafe_path("/api/../admin"));
  EXPECT_TRUE(unsafe_path("/api/%2e%2E/admin"));
  EXPECT_TRUE(unsafe_path("/api/.%2e"));
  EXPECT_TRUE(unsafe_path("/api/a%2fb"));
  EXPECT_TRUE(unsafe_path("/api/./x"));
  EXPECT_FALSE(unsafe_path("/api/a.b/..c/x..y"));
  EXPECT_FALSE(unsafe_path("/"));
}

TEST(GatewayRoutes, StateSurvivesReloadsUnlessItsPolicyChanges) {
  StateStore states;
  auto a = table_of("routes: [{name: r, path: /, rate_limit: 5, upstream: ['http://h:1']}]", states);
  auto b = table_of("routes: [{name: r, path: /x, rate_limit: 5, upstream: ['http://h:1']}]", states);
  auto c = table_of("routes: [{name: r, path: /x, rate_limit: 6, upstream: ['http://h:1']}]", states);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->routes()[0].limiter, b->routes()[0].limiter);
  EXPECT_NE(b->routes()[0].limiter, c->routes()[0].limiter);
  EXPECT_EQ(a->routes()[0].state, c->routes()[0].state);  // counters go on
}

}  // namespace
}  // namespace svckit::gateway
