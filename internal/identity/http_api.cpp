// The identity service's HTTP API, described for its generated OpenAPI document (/openapi.json).
#include <charconv>

#include "identity.hpp"
#include "svckit/auth_http/middleware.hpp"
#include "svckit/http/message.hpp"
#include "svckit/http/openapi.hpp"
#include "svckit/json/json.hpp"

namespace svckit::identity {

namespace {

constexpr std::size_t kMaxBody = 16 * 1024;

struct RegisterBody {
  std::string email;
  std::string password;
  std::string name;
  static void json_schema(json::Schema<RegisterBody>& s) {
    s.reject_unknown();
    s.field("email", &RegisterBody::email).required().email().length(3, 254);
    s.field("password", &RegisterBody::password).required().length(1, 4096);
    s.field("name", &RegisterBody::name).required().length(1, 100);
  }
};

struct LoginBody {
  std::string email;
  std::string password;
  static void json_schema(json::Schema<LoginBody>& s) {
    s.reject_unknown();
    s.field("email", &LoginBody::email).required().length(1, 254);
    s.field("password", &LoginBody::password).required().length(1, 4096);
  }
};

struct RefreshBody {
  std::string refresh_token;
  static void json_schema(json::Schema<RefreshBody>& s) {
    s.reject_unknown();
    s.field("refresh_token", &RefreshBody::refresh_token).required().length(1, 512);
  }
};

struct RolesBody {
  std::vector<std::string> roles;
  std::optional<std::string> authority;
  static void json_schema(json::Schema<RolesBody>& s) {
    s.reject_unknown();
    s.field("roles", &RolesBody::roles).required().max_items(3);
    s.field("authority", &RolesBody::authority).length(1, 200);
  }
};

struct AuditEntry {
  std::int64_t id = 0;
  db::Timestamp at;
  std::string actor;
  std::string action;
  std::string subject;
  std::string detail;
  std::string client;
  std::string request_id;
  static void json_schema(json::Schema<AuditEntry>& s) {
    s.field("id", &AuditEntry::id);
    s.field("at", &AuditEntry::at);
    s.field("actor", &AuditEntry::actor);
    s.field("action", &AuditEntry::action);
    s.field("subject", &AuditEntry::subject);
    s.field("detail", &AuditEntry::detail);
    s.field("client", &AuditEntry::client);
    s.field("request_id", &AuditEntry::request_id);
  }
};

struct AuditPage {
  std::vector<AuditEntry> entries;
  static void json_schema(json::Schema<AuditPage>& s) { s.field("entries", &AuditPage::entries).required(); }
};

// The audit query, for the document (the handler reads `before` itself: a bad value lists from the top).
struct AuditQuery {
  std::int64_t before = 0;
  static void json_schema(json::Schema<AuditQuery>& s) {
    s.field("before", &AuditQuery::before).describe("entries with a smaller id (the next page)");
  }
};

struct TokensOut {
  std::string access_token;
  std::string token_type = "Bearer";
  std::int64_t expires_in = 0;
  std::string refresh_token;
  std::int64_t refresh_expires_in = 0;
  std::int64_t user_id = 0;
  std::vector<std::string> roles;
  static void json_schema(json::Schema<TokensOut>& s) {
    s.field("access_token", &TokensOut::access_token).required().describe("a JWT (typ at+jwt)");
    s.field("token_type", &TokensOut::token_type).required().one_of({"Bearer"});
    s.field("expires_in", &TokensOut::expires_in).required().describe("seconds");
    s.field("refresh_token", &TokensOut::refresh_token)
        .omit_empty()
        .describe("opaque, rotated on every use; absent in cookie mode (X-Token-Delivery: cookie)");
    s.field("refresh_expires_in", &TokensOut::refresh_expires_in).required().describe("seconds");
    s.field("user_id", &TokensOut::user_id).required();
    s.field("roles", &TokensOut::roles).required();
  }
};

struct AccountOut {
  std::int64_t user_id = 0;
  std::string email;
  std::vector<std::string> roles;
  std::optional<std::string> authority;
  static void json_schema(json::Schema<AccountOut>& s) {
    s.field("user_id", &AccountOut::user_id).required();
    s.field("email", &AccountOut::email).required();
    s.field("roles", &AccountOut::roles).required();
    s.field("authority", &AccountOut::authority).omit_empty();
  }
};

struct MeOut {
  std::string user_id;
  std::vector<std::string> roles;
  std::optional<std::string> authority;
  std::optional<json::Raw> profile;
  static void json_schema(json::Schema<MeOut>& s) {
    s.field("user_id", &MeOut::user_id).required();
    s.field("roles", &MeOut::roles).required();
    s.field("authority", &MeOut::authority).omit_empty();
    s.field("profile", &MeOut::profile).omit_empty().describe("the user centre's record, when it answered");
  }
};

struct KeyRotatedOut {
  std::string kid;
  std::int64_t publish_ahead_s = 0;
  static void json_schema(json::Schema<KeyRotatedOut>& s) {
    s.field("kid", &KeyRotatedOut::kid).required();
    s.field("publish_ahead_s", &KeyRotatedOut::publish_ahead_s).required();
  }
};

struct OpenIdConfiguration {
  std::string issuer, jwks_uri, token_endpoint, registration_endpoint, revocation_endpoint, userinfo_endpoint;
  std::vector<std::string> grant_types_supported, token_endpoint_auth_methods_supported,
      id_token_signing_alg_values_supported, claims_supported;
  static void json_schema(json::Schema<OpenIdConfiguration>& s) {
    using C = OpenIdConfiguration;
    s.field("issuer", &C::issuer).required();
    s.field("jwks_uri", &C::jwks_uri).required();
    s.field("token_endpoint", &C::token_endpoint).required();
    s.field("registration_endpoint", &C::registration_endpoint).required();
    s.field("revocation_endpoint", &C::revocation_endpoint).required();
    s.field("userinfo_endpoint", &C::userinfo_endpoint).required();
    s.field("grant_types_supported", &C::grant_types_supported).required();
    s.field("token_endpoint_auth_methods_supported", &C::token_endpoint_auth_methods_supported).required();
    s.field("id_token_signing_alg_values_supported", &C::id_token_signing_alg_values_supported).required();
    s.field("claims_supported", &C::claims_supported).required();
  }
};

void answer_error(http::Response& res, const Status& st) {
  if (st.code() == Code::kUnavailable) res.set_header("Retry-After", "1");
  if (st.code() == Code::kResourceExhausted) {
    std::int64_t ms = 1000;
    std::string_view v = st.metadata_value("retry_after_ms");
    std::from_chars(v.data(), v.data() + v.size(), ms);
    res.set_header("Retry-After", std::to_string((ms + 999) / 1000));
  }
  if (st.code() == Code::kUnauthenticated && st.reason().starts_with("REFRESH_TOKEN"))
    res.set_header("WWW-Authenticate", "Bearer error=\"invalid_grant\"");
  res.error(st);
  res.set_header("Cache-Control", "no-store");
}

bool body_too_large(http::Request& req, http::Response& res) {
  if (req.body().size() <= kMaxBody) return false;
  res.error(Status(Code::kResourceExhausted, "BODY_TOO_LARGE", "the body is larger than 16 KiB"));
  res.status = 413;
  return true;
}

// Cookie mode (docs/identity.md, "Cookie mode"): a browser asks with this header to have its refresh
// token kept in an HttpOnly cookie that script cannot read, scoped to /v1/auth. The header is also the
// CSRF defence of the calls the cookie authenticates: a cross-site form cannot send a custom header,
// and a cross-origin fetch that sends one needs a CORS preflight that the platform does not grant.
constexpr std::string_view kDeliveryHeader = "X-Token-Delivery";
constexpr std::string_view kRefreshCookie = "svckit_refresh";

bool cookie_mode(const http::Request& req) {
  return req.header(kDeliveryHeader) == "cookie";
}

// Secure when the client's connection was TLS, as the gateway in front reports it.
bool over_tls(const http::Request& req) {
  return req.header("X-Forwarded-Proto") == "https";
}

void set_refresh_cookie(http::Response& res, const http::Request& req, std::string_view value, std::int64_t max_age) {
  std::string c(kRefreshCookie);
  c += '=';
  c += value;
  c += "; Path=/v1/auth; Max-Age=" + std::to_string(max_age) + "; HttpOnly; SameSite=Strict";
  if (over_tls(req)) c += "; Secure";
  res.add_header("Set-Cookie", c);
}

// The host part of an origin or a Host header ("https://a.example:8080" -> "a.example:8080").
std::string_view host_of(std::string_view origin) {
  if (auto p = origin.find("://"); p != std::string_view::npos) origin.remove_prefix(p + 3);
  if (auto p = origin.find('/'); p != std::string_view::npos) origin = origin.substr(0, p);
  return origin;
}

// A call the refresh cookie authenticates must come from the platform's own pages: the custom header,
// and, where the browser says where the call came from, the same origin.
Status same_site_call(const http::Request& req) {
  if (!cookie_mode(req))
    return Status(Code::kPermissionDenied, "CSRF_HEADER_REQUIRED",
                  "a call authenticated by the refresh cookie must send X-Token-Delivery: cookie");
  if (auto site = req.header("Sec-Fetch-Site"); !site.empty() && site != "same-origin")
    return Status(Code::kPermissionDenied, "CROSS_SITE_REQUEST",
                  "the refresh cookie is accepted from the same origin only");
  if (auto origin = req.header("Origin"); !origin.empty()) {
    std::string_view host = req.header("X-Forwarded-Host");
    if (host.empty()) host = req.header("Host");
    if (auto comma = host.find(','); comma != std::string_view::npos) host = host.substr(0, comma);
    if (host_of(origin) != host)
      return Status(Code::kPermissionDenied, "CROSS_SITE_REQUEST",
                    "the refresh cookie is accepted from the same origin only");
  }
  return Status();
}

void answer_tokens(http::Response& res, const http::Request& req, const TokenPair& t) {
  const bool cookie = cookie_mode(req);
  TokensOut out{.access_token = t.access_token,
                .expires_in = t.expires_in.count(),
                .refresh_token = cookie ? std::string() : t.refresh_token,
                .refresh_expires_in = t.refresh_expires_in.count(),
                .user_id = t.user_id,
                .roles = t.roles};
  res.json(200, out);
  if (cookie) set_refresh_cookie(res, req, t.refresh_token, t.refresh_expires_in.count());
  res.set_header("Cache-Control", "no-store");  // RFC 6749 §5.1
}

// The refresh token of a refresh or logout: the JSON body's, or in cookie mode (an empty body) the
// cookie's, after the same-site checks.
Result<std::string> refresh_token_of(http::Request& req) {
  if (req.body().empty() && cookie_mode(req)) {
    if (Status st = same_site_call(req); !st.ok()) return make_error(std::move(st));
    auto c = req.cookie(kRefreshCookie);
    if (!c || c->empty())
      return make_error(Status(Code::kUnauthenticated, "REFRESH_TOKEN_MISSING", "no refresh cookie"));
    return std::string(*c);
  }
  auto in = http::bind_json<RefreshBody>(req);
  if (!in) return make_error(in.error());
  return std::move(in->refresh_token);
}

void answer_account(http::Response& res, int code, const Credentials& c) {
  AccountOut out{.user_id = c.user_id, .email = c.login, .roles = c.role_list(), .authority = c.authority};
  res.json(code, out);
}

Actor actor_of(const http::Request& req) {
  const auth::Principal* p = auth::principal_of(req.ctx);
  return Actor{p ? p->subject : "", std::string(req.client_ip()), std::string(req.header("X-Request-Id"))};
}

}  // namespace

void mount(http::Router& router, std::shared_ptr<Identity> id) {
  const std::string cookie_doc =
      "cookie: the refresh token in an HttpOnly cookie (svckit_refresh, Path=/v1/auth, SameSite=Strict) instead "
      "of the body; refresh and logout then take an empty body and the cookie, same-origin only";
  auto api = router.group("/v1/auth");
  api.post("/register",
           [id](http::Request& req, http::Response& res) -> Task<void> {
             if (body_too_large(req, res)) co_return;
             auto in = http::bind_json<RegisterBody>(req);
             if (!in) co_return answer_error(res, in.error());
             auto made = co_await id->register_account(req.ctx, in->email, in->password, in->name);
             if (!made) co_return answer_error(res, made.error());
             res.set_header("Location", "/v1/users/" + std::to_string(made->user_id));
             answer_account(res, 201, *made);
           })
      .doc(http::RouteDoc()
               .summary("Register a citizen account")
               .tags({"auth"})
               .body<RegisterBody>()
               .example("ann", R"({"email":"ann@example.com","password":"correct-horse-battery","name":"Ann"})")
               .returns<AccountOut>(201, "the account")
               .errors({409, 413, 429}));
  api.post("/login",
           [id](http::Request& req, http::Response& res) -> Task<void> {
             if (body_too_large(req, res)) co_return;
             auto in = http::bind_json<LoginBody>(req);
             if (!in) co_return answer_error(res, in.error());
             const std::string client(req.client_ip());
             auto tokens = co_await id->login(req.ctx, in->email, in->password, client);
             if (!tokens) co_return answer_error(res, tokens.error());
             answer_tokens(res, req, *tokens);
           })
      .doc(http::RouteDoc()
               .summary("Log in: an access token and a refresh token")
               .tags({"auth"})
               .body<LoginBody>()
               .header("X-Token-Delivery", cookie_doc)
               .example("ann", R"({"email":"ann@example.com","password":"correct-horse-battery"})")
               .returns<TokensOut>(200, "the tokens")
               .errors({401, 413, 429}));
  api.post("/refresh",
           [id](http::Request& req, http::Response& res) -> Task<void> {
             if (body_too_large(req, res)) co_return;
             auto token = refresh_token_of(req);
             if (!token) co_return answer_error(res, token.error());
             auto tokens = co_await id->refresh(req.ctx, *token);
             if (!tokens) {
               // A refused cookie is cleared, so the page starts signed out instead of retrying it.
               if (cookie_mode(req) && tokens.error().code() == Code::kUnauthenticated)
                 set_refresh_cookie(res, req, "", 0);
               co_return answer_error(res, tokens.error());
             }
             answer_tokens(res, req, *tokens);
           })
      .doc(http::RouteDoc()
               .summary("A fresh pair of tokens; the refresh token rotates")
               .tags({"auth"})
               .body<RefreshBody>()
               .header("X-Token-Delivery", cookie_doc)
               .example("refresh", R"({"refresh_token":"rt_8f2c0d1e"})")
               .returns<TokensOut>(200, "the tokens")
               .errors({401, 403, 413}));
  api.post("/logout",
           [id](http::Request& req, http::Response& res) -> Task<void> {
             if (body_too_large(req, res)) co_return;
             auto token = refresh_token_of(req);
             if (!token) co_return answer_error(res, token.error());
             Status st = co_await id->logout(req.ctx, *token);
             if (!st.ok()) co_return answer_error(res, st);
             if (cookie_mode(req)) set_refresh_cookie(res, req, "", 0);
             res.status = 204;
           })
      .doc(http::RouteDoc()
               .summary("Log out: revoke a refresh token")
               .tags({"auth"})
               .body<RefreshBody>()
               .header("X-Token-Delivery", cookie_doc)
               .example("logout", R"({"refresh_token":"rt_8f2c0d1e"})")
               .returns_empty(204, "revoked")
               .errors({401, 403, 413}));

  // Signed in: who am I; admin: roles, keys, the audit trail.
  auto signed_in = api.group("");
  signed_in.use(auth::middleware::authenticate(id->verifier(), {.realm = "svckit"}));
  signed_in
      .get("/me",
           [id](http::Request& req, http::Response& res) -> Task<void> {
             const auth::Principal* p = auth::principal_of(req.ctx);
             MeOut out{.user_id = p->subject, .roles = p->roles};
             if (auto a = p->claims.string("authority")) out.authority = std::string(*a);
             // The profile comes from the user centre, called with this request's deadline and trace.
             const std::string url = id->settings().users_url + "/v1/users/" + p->subject;
             auto r = co_await id->client().get(req.ctx, url);
             if (r && r->status == 200) out.profile = json::Raw{r->body};
             res.json(200, out);
           })
      .doc(http::RouteDoc().summary("Who the token's holder is").tags({"auth"}).bearer().returns<MeOut>(200));
  signed_in
      .put("/users/:id/roles",
           [id](http::Request& req, http::Response& res) -> Task<void> {
             if (body_too_large(req, res)) co_return;
             std::int64_t user = 0;
             std::string_view text = req.param("id");
             auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), user);
             if (ec != std::errc() || end != text.data() + text.size() || user < 1)
               co_return answer_error(res, Status(Code::kInvalidArgument, "BAD_ID", "id must be a positive integer"));
             auto in = http::bind_json<RolesBody>(req);
             if (!in) co_return answer_error(res, in.error());
             const Actor actor = actor_of(req);
             auto set = co_await id->set_roles(req.ctx, actor, user, in->roles, in->authority);
             if (!set) co_return answer_error(res, set.error());
             answer_account(res, 200, *set);
           })
      .use(auth::middleware::require_role("admin"))
      .doc(http::RouteDoc()
               .summary("Set a user's roles (audited)")
               .tags({"admin"})
               .bearer({"admin"})
               .body<RolesBody>()
               .example("clerk", R"({"roles":["citizen","clerk"],"authority":"Oslo licensing office"})")
               .returns<AccountOut>(200, "the account")
               .errors({404, 413}));
  signed_in
      .post("/keys/rotate",
            [id](http::Request& req, http::Response& res) -> Task<void> {
              const Actor actor = actor_of(req);
              auto kid = co_await id->rotate_keys(req.ctx, actor);
              if (!kid) co_return answer_error(res, kid.error());
              KeyRotatedOut out{.kid = *kid, .publish_ahead_s = id->settings().key_publish_ahead.count()};
              res.json(201, out);
            })
      .use(auth::middleware::require_role("admin"))
      .doc(http::RouteDoc()
               .summary("Rotate the signing key (published ahead of use)")
               .tags({"admin"})
               .bearer({"admin"})
               .returns<KeyRotatedOut>(201, "the new key's id"));
  signed_in
      .get("/audit",
           [id](http::Request& req, http::Response& res) -> Task<void> {
             std::int64_t before = INT64_MAX;
             if (auto b = req.query_param("before"); !b.empty()) std::from_chars(b.data(), b.data() + b.size(), before);
             db::Params args{before};
             auto rows = co_await id->db()->query_as<AuditEntry>(
                 req.ctx,
                 "SELECT id, at, actor, action, subject, detail, client, request_id FROM identity_audit "
                 "WHERE id < $1 ORDER BY id DESC LIMIT 100",
                 std::move(args));
             if (!rows) co_return answer_error(res, rows.error());
             AuditPage out{.entries = std::move(*rows)};
             res.json(200, out);
           })
      .use(auth::middleware::require_role("admin"))
      .doc(http::RouteDoc()
               .summary("The audit trail, newest first, 100 at a time")
               .tags({"admin"})
               .bearer({"admin"})
               .query<AuditQuery>()
               .returns<AuditPage>(200));

  // Public: the keys and the discovery document verifiers read.
  router
      .get("/.well-known/jwks.json",
           [id](http::Request& req, http::Response& res) -> Task<void> {
             if (Status st = co_await id->ensure_keys(req.ctx); !st.ok()) co_return answer_error(res, st);
             res.json(200, id->keys().jwks());
             res.set_header("Cache-Control", "public, max-age=300");
           })
      .doc(http::RouteDoc()
               .summary("The token signing keys (a JWK Set, RFC 7517)")
               .tags({"discovery"})
               .returns<json::Raw>(200));
  router
      .get("/.well-known/openid-configuration",
           [id](http::Request&, http::Response& res) {
             const auto& s = id->settings();
             OpenIdConfiguration out{
                 .issuer = s.issuer,
                 .jwks_uri = s.issuer + "/.well-known/jwks.json",
                 .token_endpoint = s.issuer + "/v1/auth/login",
                 .registration_endpoint = s.issuer + "/v1/auth/register",
                 .revocation_endpoint = s.issuer + "/v1/auth/logout",
                 .userinfo_endpoint = s.issuer + "/v1/auth/me",
                 .grant_types_supported = {"password", "refresh_token"},
                 .token_endpoint_auth_methods_supported = {"none"},
                 .id_token_signing_alg_values_supported = {s.algorithm},
                 .claims_supported = {"sub", "iss", "aud", "exp", "iat", "jti", "roles", "authority", "email"}};
             res.json(200, out);
             res.set_header("Cache-Control", "public, max-age=300");
           })
      .doc(http::RouteDoc().summary("OpenID Connect discovery").tags({"discovery"}).returns<OpenIdConfiguration>(200));
}

}  // namespace svckit::identity
