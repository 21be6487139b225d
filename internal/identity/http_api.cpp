// The identity service's HTTP API (api/identity/v1/openapi.yaml).
#include <charconv>

#include "identity.hpp"
#include "svckit/auth_http/middleware.hpp"
#include "svckit/http/message.hpp"
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

void answer_tokens(http::Response& res, const TokenPair& t) {
  std::string out;
  json::Writer w(out);
  w.begin_object()
      .key("access_token")
      .string(t.access_token)
      .key("token_type")
      .string("Bearer")
      .key("expires_in")
      .integer(t.expires_in.count())
      .key("refresh_token")
      .string(t.refresh_token)
      .key("refresh_expires_in")
      .integer(t.refresh_expires_in.count())
      .key("user_id")
      .integer(t.user_id)
      .key("roles")
      .value(t.roles)
      .end_object();
  res.json(200, out);
  res.set_header("Cache-Control", "no-store");  // RFC 6749 §5.1
}

void answer_account(http::Response& res, int code, const Credentials& c) {
  std::string out;
  json::Writer w(out);
  w.begin_object().key("user_id").integer(c.user_id).key("email").string(c.login).key("roles").value(c.role_list());
  if (c.authority) w.key("authority").string(*c.authority);
  w.end_object();
  res.json(code, out);
}

Actor actor_of(const http::Request& req) {
  const auth::Principal* p = auth::principal_of(req.ctx);
  return Actor{p ? p->subject : "", std::string(req.client_ip()), std::string(req.header("X-Request-Id"))};
}

}  // namespace

void mount(http::Router& router, std::shared_ptr<Identity> id) {
  auto api = router.group("/v1/auth");
  api.post("/register", [id](http::Request& req, http::Response& res) -> Task<void> {
    if (body_too_large(req, res)) co_return;
    auto in = http::bind_json<RegisterBody>(req);
    if (!in) co_return answer_error(res, in.error());
    auto made = co_await id->register_account(req.ctx, in->email, in->password, in->name);
    if (!made) co_return answer_error(res, made.error());
    res.set_header("Location", "/v1/users/" + std::to_string(made->user_id));
    answer_account(res, 201, *made);
  });
  api.post("/login", [id](http::Request& req, http::Response& res) -> Task<void> {
    if (body_too_large(req, res)) co_return;
    auto in = http::bind_json<LoginBody>(req);
    if (!in) co_return answer_error(res, in.error());
    const std::string client(req.client_ip());
    auto tokens = co_await id->login(req.ctx, in->email, in->password, client);
    if (!tokens) co_return answer_error(res, tokens.error());
    answer_tokens(res, *tokens);
  });
  api.post("/refresh", [id](http::Request& req, http::Response& res) -> Task<void> {
    if (body_too_large(req, res)) co_return;
    auto in = http::bind_json<RefreshBody>(req);
    if (!in) co_return answer_error(res, in.error());
    auto tokens = co_await id->refresh(req.ctx, in->refresh_token);
    if (!tokens) co_return answer_error(res, tokens.error());
    answer_tokens(res, *tokens);
  });
  api.post("/logout", [id](http::Request& req, http::Response& res) -> Task<void> {
    if (body_too_large(req, res)) co_return;
    auto in = http::bind_json<RefreshBody>(req);
    if (!in) co_return answer_error(res, in.error());
    Status st = co_await id->logout(req.ctx, in->refresh_token);
    if (!st.ok()) co_return answer_error(res, st);
    res.status = 204;
  });

  // Signed in: who am I; admin: roles, keys, the audit trail.
  auto signed_in = api.group("");
  signed_in.use(auth::middleware::authenticate(id->verifier(), {.realm = "svckit"}));
  signed_in.get("/me", [id](http::Request& req, http::Response& res) -> Task<void> {
    const auth::Principal* p = auth::principal_of(req.ctx);
    std::string out;
    json::Writer w(out);
    w.begin_object().key("user_id").string(p->subject).key("roles").value(p->roles);
    if (auto a = p->claims.string("authority")) w.key("authority").string(*a);
    // The profile comes from the user centre, called with this request's deadline and trace.
    const std::string url = id->settings().users_url + "/v1/users/" + p->subject;
    auto r = co_await id->client().get(req.ctx, url);
    if (r && r->status == 200) w.key("profile").raw(r->body);
    w.end_object();
    res.json(200, out);
  });
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
      .use(auth::middleware::require_role("admin"));
  signed_in
      .post("/keys/rotate",
            [id](http::Request& req, http::Response& res) -> Task<void> {
              const Actor actor = actor_of(req);
              auto kid = co_await id->rotate_keys(req.ctx, actor);
              if (!kid) co_return answer_error(res, kid.error());
              std::string out;
              json::Writer w(out);
              w.begin_object()
                  .key("kid")
                  .string(*kid)
                  .key("publish_ahead_s")
                  .integer(id->settings().key_publish_ahead.count())
                  .end_object();
              res.json(201, out);
            })
      .use(auth::middleware::require_role("admin"));
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
             std::string out;
             json::Writer w(out);
             w.begin_object().key("entries").value(*rows).end_object();
             res.json(200, out);
           })
      .use(auth::middleware::require_role("admin"));

  // Public: the keys and the discovery document verifiers read.
  router.get("/.well-known/jwks.json", [id](http::Request& req, http::Response& res) -> Task<void> {
    if (Status st = co_await id->ensure_keys(req.ctx); !st.ok()) co_return answer_error(res, st);
    res.json(200, id->keys().jwks());
    res.set_header("Cache-Control", "public, max-age=300");
  });
  router.get("/.well-known/openid-configuration", [id](http::Request&, http::Response& res) {
    const auto& s = id->settings();
    std::string out;
    json::Writer w(out);
    w.begin_object()
        .key("issuer")
        .string(s.issuer)
        .key("jwks_uri")
        .string(s.issuer + "/.well-known/jwks.json")
        .key("token_endpoint")
        .string(s.issuer + "/v1/auth/login")
        .key("registration_endpoint")
        .string(s.issuer + "/v1/auth/register")
        .key("revocation_endpoint")
        .string(s.issuer + "/v1/auth/logout")
        .key("userinfo_endpoint")
        .string(s.issuer + "/v1/auth/me")
        .key("grant_types_supported")
        .value(std::vector<std::string>{"password", "refresh_token"})
        .key("token_endpoint_auth_methods_supported")
        .value(std::vector<std::string>{"none"})
        .key("id_token_signing_alg_values_supported")
        .value(std::vector<std::string>{s.algorithm})
        .key("claims_supported")
        .value(std::vector<std::string>{"sub", "iss", "aud", "exp", "iat", "jti", "roles", "authority", "email"})
        .end_object();
    res.json(200, out);
    res.set_header("Cache-Control", "public, max-age=300");
  });
}

}  // namespace svckit::identity
