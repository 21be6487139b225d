#include "identity.hpp"

#include <sodium.h>

#include <fstream>
#include <sstream>

#include "svckit/auth/claims.hpp"
#include "svckit/core/runtime.hpp"
#include "svckit/json/json.hpp"

namespace svckit::identity {

namespace {

using Clock = std::chrono::system_clock;

db::Timestamp now_ts() {
  return std::chrono::time_point_cast<std::chrono::microseconds>(Clock::now());
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::string join(const std::vector<std::string>& v, char sep) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out.push_back(sep);
    out += s;
  }
  return out;
}

Status bad_credentials() {
  return Status(Code::kUnauthenticated, "INVALID_CREDENTIALS", "wrong email or password");
}

// The user centre's answers, as far as identity reads them.
struct UserReply {
  std::int64_t id = 0;
  std::string email;
  std::string name;
  static void json_schema(json::Schema<UserReply>& s) {
    s.field("id", &UserReply::id).required();
    s.field("email", &UserReply::email);
    s.field("name", &UserReply::name);
  }
};
struct UserList {
  std::vector<UserReply> users;
  static void json_schema(json::Schema<UserList>& s) { s.field("users", &UserList::users); }
};

struct BootstrapAccount {
  std::string email;
  std::string password;
  std::string name;
  std::vector<std::string> roles;
  std::optional<std::string> authority;
  static void json_schema(json::Schema<BootstrapAccount>& s) {
    s.reject_unknown();
    s.field("email", &BootstrapAccount::email).required().email();
    s.field("password", &BootstrapAccount::password).required();
    s.field("name", &BootstrapAccount::name).required().length(1, 100);
    s.field("roles", &BootstrapAccount::roles).required();
    s.field("authority", &BootstrapAccount::authority).length(1, 200);
  }
};
struct BootstrapFile {
  std::vector<BootstrapAccount> accounts;
  static void json_schema(json::Schema<BootstrapFile>& s) {
    s.reject_unknown();
    s.field("accounts", &BootstrapFile::accounts).required();
  }
};

Status user_centre_down(const Status& why) {
  return Status(Code::kUnavailable, "USER_CENTRE_UNAVAILABLE",
                "the user centre cannot be reached: " + std::string(why.message()));
}

// A user centre answer that is not the one expected, as a Status.
Status from_user_centre(const http::ClientResponse& r) {
  if (r.status == 409)
    return Status(Code::kAlreadyExists, "EMAIL_TAKEN", "an account with this email already exists")
        .with_metadata("field", "email");
  if (r.status == 400 || r.status == 422)
    return Status(Code::kInvalidArgument, "VALIDATION_FAILED", "the user centre refused the profile: " + r.body);
  return Status(Code::kUnavailable, "USER_CENTRE_UNAVAILABLE", "the user centre answered " + std::to_string(r.status));
}

auth::Algorithm algorithm_of(const std::string& name) {
  auto alg = auth::parse_algorithm(name);
  if (!alg) throw std::invalid_argument("identity.algorithm: " + name);
  return *alg;
}

KeyRingOptions ring_options(const IdentitySettings& s) {
  KeyRingOptions o;
  o.algorithm = algorithm_of(s.algorithm);
  o.rotate_every = s.key_rotation;
  o.publish_ahead = s.key_publish_ahead;
  o.retire_after = s.access_ttl + s.leeway;
  o.issuer = auth::IssuerOptions{.issuer = s.issuer, .audience = s.audience, .ttl = s.access_ttl};
  return o;
}

}  // namespace

void Credentials::row_schema(db::RowSchema<Credentials>& s) {
  s.field("user_id", &Credentials::user_id);
  s.field("login", &Credentials::login);
  s.field("password_hash", &Credentials::password_hash);
  s.field("roles", &Credentials::roles);
  s.field("authority", &Credentials::authority);
  s.field("created_at", &Credentials::created_at);
  s.field("updated_at", &Credentials::updated_at);
  s.field("version", &Credentials::version);
}

std::vector<std::string> Credentials::role_list() const {
  std::vector<std::string> out;
  std::istringstream in(roles);
  for (std::string r; in >> r;) out.push_back(r);
  return out;
}

Identity::Identity(IdentitySettings settings, std::shared_ptr<db::Database> db, std::string sealing_key,
                   PasswordPolicy policy, http::Client* client, log::Logger logger)
    : settings_(std::move(settings)),
      db_(db),
      keys_(db, std::move(sealing_key), ring_options(settings_)),
      refresh_(db, settings_.refresh_ttl),
      hasher_(Argon2Params{settings_.argon2_ops, settings_.argon2_memory.bytes}),
      policy_(std::move(policy)),
      throttle_(ThrottleSettings{.ip_rate = settings_.login_ip_rate,
                                 .ip_burst = settings_.login_ip_burst,
                                 .free_failures = settings_.login_free_failures,
                                 .first_lockout = settings_.login_first_lockout,
                                 .max_lockout = settings_.login_max_lockout}),
      client_(client),
      logger_(std::move(logger)),
      own_keys_(std::make_shared<auth::StaticKeys>(auth::KeySet{})) {
  verifier_ = std::make_shared<auth::Verifier>(own_keys_,
                                               auth::VerifierOptions{.algorithms = {algorithm_of(settings_.algorithm)},
                                                                     .issuer = settings_.issuer,
                                                                     .audiences = settings_.audience,
                                                                     .leeway = settings_.leeway,
                                                                     .typ = "at+jwt"});
}

void Identity::publish_keys() {
  if (auto issuer = keys_.issuer()) own_keys_->replace(issuer->keys().public_set());
}

Task<Status> Identity::ensure_keys(const Context& ctx) {
  if (keys_.issuer()) co_return Status();
  if (Status st = co_await keys_.refresh(ctx); !st.ok()) co_return st;
  publish_keys();
  co_return Status();
}

Task<Status> Identity::start(const Context& ctx, Runtime& runtime) {
  if (Status st = co_await ensure_keys(ctx); !st.ok()) co_return st;
  if (!started_.exchange(true)) {
    running_ = true;
    runtime.spawn(background(bg_ctx_));
  }
  co_return Status();
}

Task<void> Identity::background(Context ctx) {
  auto self = shared_from_this();  // the loop keeps what it uses alive
  bool bootstrapped = settings_.bootstrap_file.empty();
  bootstrapped_ = bootstrapped;
  std::chrono::milliseconds pause(200);
  while (!ctx.done()) {
    if (!bootstrapped) {
      Status st = co_await apply_bootstrap(ctx);
      if (ctx.done()) break;
      bootstrapped = st.ok();
      bootstrapped_ = bootstrapped;
      {
        std::lock_guard lock(bootstrap_mu_);
        bootstrap_error_ = st;
      }
      if (!st.ok()) logger_.warn("bootstrap not applied yet; retrying", {{"error", st}});
    }
    Status slept = co_await sleep_for(ctx, bootstrapped ? settings_.key_reload : pause);
    if (!slept.ok() || ctx.done()) break;
    pause = std::min(pause * 2, std::chrono::milliseconds(5000));
    if (Status st = co_await keys_.refresh(ctx); !st.ok()) {
      if (!ctx.done()) logger_.warn("signing keys not reloaded", {{"error", st}});
    } else {
      publish_keys();
    }
  }
  running_ = false;
  ended_.notify();
}

Status Identity::bootstrap_state() const {
  if (settings_.bootstrap_file.empty() || bootstrapped_.load()) return Status();
  std::lock_guard lock(bootstrap_mu_);
  return Status(Code::kUnavailable, "BOOTSTRAP_PENDING",
                "the bootstrap file is not applied yet" +
                    (bootstrap_error_.ok() ? std::string() : ": " + std::string(bootstrap_error_.message())));
}

Task<void> Identity::stop() {
  bg_ctx_.cancel(Status(Code::kCancelled, "stopping"));
  while (running_.load()) co_await ended_.wait();
}

Task<Result<std::optional<Credentials>>> Identity::find_login(const Context& ctx, const std::string& login) {
  db::Params args{login};
  auto rows = co_await db_->query_as<Credentials>(
      ctx,
      "SELECT user_id, login, password_hash, roles, authority, created_at, updated_at, version FROM credentials "
      "WHERE login = $1",
      std::move(args));
  if (!rows) co_return std::unexpected(rows.error());
  if (rows->empty()) co_return std::optional<Credentials>();
  co_return std::optional<Credentials>((*rows)[0]);
}

Task<Result<Credentials>> Identity::register_account(const Context& ctx, const std::string& email_in,
                                                     const std::string& password, const std::string& name) {
  const std::string email = lower(email_in);
  if (Status st = policy_.check(password, email); !st.ok()) co_return std::unexpected(st);
  auto existing = co_await find_login(ctx, email);
  if (!existing) co_return std::unexpected(existing.error());
  if (*existing)
    co_return std::unexpected(Status(Code::kAlreadyExists, "EMAIL_TAKEN", "an account with this email already exists")
                                  .with_metadata("field", "email"));
  // Hash first (off the loop): a slow hash must not hold a half-made account.
  auto hash_job = [this, &password] { return hasher_.hash(password); };
  auto hashed = co_await run_blocking(ctx, hash_job);
  if (!hashed) co_return std::unexpected(hashed.error());
  std::string body;
  json::Writer w(body);
  w.begin_object().key("email").string(email).key("name").string(name).end_object();
  const std::string url = settings_.users_url + "/v1/users";
  const std::string content_type = "application/json";
  auto r = co_await client_->post(ctx, url, body, content_type);
  if (!r) co_return std::unexpected(user_centre_down(r.error()));
  if (r->status != 201) co_return std::unexpected(from_user_centre(*r));
  auto user = json::decode<UserReply>(r->body);
  if (!user)
    co_return std::unexpected(
        Status(Code::kInternal, "the user centre's answer does not read: " + std::string(user.error().message())));
  Credentials c;
  c.user_id = user->id;
  c.login = email;
  c.password_hash = std::move(*hashed);
  c.created_at = c.updated_at = now_ts();
  db::Params args{c.user_id, c.login, c.password_hash, c.roles, c.created_at, c.updated_at};
  auto n = co_await db_->exec(ctx,
                              "INSERT INTO credentials (user_id, login, password_hash, roles, created_at, updated_at) "
                              "VALUES ($1, $2, $3, $4, $5, $6)",
                              std::move(args));
  if (!n) {
    if (n.error().code() == Code::kAlreadyExists)
      co_return std::unexpected(Status(Code::kAlreadyExists, "EMAIL_TAKEN", "an account with this email already exists")
                                    .with_metadata("field", "email"));
    co_return std::unexpected(n.error());
  }
  c.version = 1;
  co_return c;
}

Task<Result<TokenPair>> Identity::tokens_for(const Context& ctx, const Credentials& who, const Issued* rotated) {
  if (Status st = co_await ensure_keys(ctx); !st.ok())
    co_return std::unexpected(
        Status(Code::kUnavailable, "KEYS_UNAVAILABLE", "no signing key: " + std::string(st.message())));
  auto issuer = keys_.issuer();
  Issued refresh;
  if (rotated) {
    refresh = *rotated;
  } else {
    auto issued = co_await refresh_.issue(ctx, who.user_id);
    if (!issued) co_return std::unexpected(issued.error());
    refresh = std::move(*issued);
  }
  auth::Claims claims;
  auto roles = who.role_list();
  claims.set_subject(std::to_string(who.user_id)).set("roles", roles).set("email", who.login);
  if (who.authority) claims.set("authority", *who.authority);
  auto token = issuer->issue(std::move(claims));
  if (!token) co_return std::unexpected(token.error());
  TokenPair out;
  out.access_token = std::move(*token);
  out.expires_in = settings_.access_ttl;
  out.refresh_token = std::move(refresh.token);
  out.refresh_expires_in = std::chrono::duration_cast<std::chrono::seconds>(refresh.expires_at - Clock::now());
  out.user_id = who.user_id;
  out.roles = std::move(roles);
  co_return out;
}

Task<Result<TokenPair>> Identity::login(const Context& ctx, const std::string& email_in, const std::string& password,
                                        const std::string& client) {
  const std::string email = lower(email_in);
  if (auto wait = throttle_.admit(email, client); wait.count() > 0)
    co_return std::unexpected(
        Status(Code::kResourceExhausted, "LOGIN_THROTTLED", "too many login attempts; try again later")
            .with_metadata("retry_after_ms", std::to_string(wait.count())));
  auto found = co_await find_login(ctx, email);
  if (!found) co_return std::unexpected(found.error());
  // An unknown account verifies against the decoy hash: the same work as a wrong password.
  const std::string& hash = *found ? (*found)->password_hash : hasher_.decoy();
  auto verify_job = [this, &hash, &password] { return hasher_.verify(hash, password); };
  auto verified = co_await run_blocking(ctx, verify_job);
  if (!verified) co_return std::unexpected(verified.error());
  if (!*found || !*verified) {
    throttle_.failed(email);
    co_return std::unexpected(bad_credentials());
  }
  throttle_.succeeded(email);
  Credentials who = **found;
  if (hasher_.needs_rehash(who.password_hash)) {
    auto rehash_job = [this, &password] { return hasher_.hash(password); };
    auto rehashed = co_await run_blocking(ctx, rehash_job);
    if (rehashed) {
      db::Params args{*rehashed, now_ts(), who.user_id};
      auto n = co_await db_->exec(ctx, "UPDATE credentials SET password_hash = $1, updated_at = $2 WHERE user_id = $3",
                                  std::move(args));
      if (!n) logger_.warn("password rehash not saved", {{"user_id", who.user_id}, {"error", n.error()}});
    }
  }
  co_return co_await tokens_for(ctx, who, nullptr);
}

Task<Result<TokenPair>> Identity::refresh(const Context& ctx, const std::string& refresh_token) {
  auto rotated = co_await refresh_.rotate(ctx, refresh_token);
  if (!rotated) {
    if (rotated.error().reason() == "REFRESH_TOKEN_REUSED")
      logger_.warn("refresh token reused: its family is revoked", {{"reason", rotated.error().reason()}});
    co_return std::unexpected(rotated.error());
  }
  db::Params args{rotated->user_id};
  auto rows = co_await db_->query_as<Credentials>(
      ctx,
      "SELECT user_id, login, password_hash, roles, authority, created_at, updated_at, version FROM credentials "
      "WHERE user_id = $1",
      std::move(args));
  if (!rows) co_return std::unexpected(rows.error());
  if (rows->empty())
    co_return std::unexpected(Status(Code::kUnauthenticated, "ACCOUNT_GONE", "the account no longer exists"));
  const Credentials who = (*rows)[0];
  co_return co_await tokens_for(ctx, who, &rotated->next);
}

Task<Status> Identity::logout(const Context& ctx, const std::string& refresh_token) {
  co_return co_await refresh_.revoke_family_of(ctx, refresh_token);
}

Task<Status> Identity::audit(const Context& ctx, const Actor& actor, const std::string& action,
                             const std::string& subject, const std::string& detail) {
  db::Params args{now_ts(), actor.id, action, subject, detail, actor.client, actor.request_id};
  auto n = co_await db_->exec(ctx,
                              "INSERT INTO identity_audit (at, actor, action, subject, detail, client, request_id) "
                              "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                              std::move(args));
  co_return n ? Status() : n.error();
}

Task<Result<Credentials>> Identity::set_roles(const Context& ctx, const Actor& actor, std::int64_t user_id,
                                              const std::vector<std::string>& roles,
                                              const std::optional<std::string>& authority_in) {
  std::optional<std::string> authority = authority_in;
  for (const auto& r : roles)
    if (std::find(std::begin(kRoles), std::end(kRoles), r) == std::end(kRoles))
      co_return std::unexpected(
          Status(Code::kInvalidArgument, "UNKNOWN_ROLE", "no role '" + r + "': citizen, clerk or admin")
              .with_metadata("roles", r));
  bool clerk = std::find(roles.begin(), roles.end(), "clerk") != roles.end();
  if (clerk && !authority)
    co_return std::unexpected(
        Status(Code::kInvalidArgument, "AUTHORITY_REQUIRED", "a clerk works for an issuing authority")
            .with_metadata("authority", "required with the clerk role"));
  if (!clerk) authority.reset();
  std::string joined = join(roles, ' ');
  Status st = co_await db_->transaction(ctx, [&](db::Tx& tx) -> Task<Status> {
    db::Params args{joined, authority ? db::Param(*authority) : db::Param(nullptr), now_ts(), user_id};
    auto n = co_await tx.exec(
        ctx,
        "UPDATE credentials SET roles = $1, authority = $2, updated_at = $3, version = version + 1 WHERE user_id = $4",
        std::move(args));
    if (!n) co_return n.error();
    if (*n == 0)
      co_return Status(Code::kNotFound, "ACCOUNT_NOT_FOUND", "no account for user " + std::to_string(user_id));
    db::Params audit_args{now_ts(),
                          actor.id,
                          std::string("set_roles"),
                          std::to_string(user_id),
                          joined + (authority ? " @ " + *authority : std::string()),
                          actor.client,
                          actor.request_id};
    auto a = co_await tx.exec(ctx,
                              "INSERT INTO identity_audit (at, actor, action, subject, detail, client, request_id) "
                              "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                              std::move(audit_args));
    co_return a ? Status() : a.error();
  });
  if (!st.ok()) co_return std::unexpected(st);
  db::Params args{user_id};
  auto row = co_await db_->query_one_as<Credentials>(
      ctx,
      "SELECT user_id, login, password_hash, roles, authority, created_at, updated_at, version FROM credentials "
      "WHERE user_id = $1",
      std::move(args));
  if (!row) co_return std::unexpected(row.error());
  co_return *row;
}

Task<Result<std::string>> Identity::rotate_keys(const Context& ctx, const Actor& actor) {
  auto kid = co_await keys_.rotate(ctx);
  if (!kid) co_return kid;
  publish_keys();
  const std::string action = "rotate_keys", detail;
  if (Status st = co_await audit(ctx, actor, action, *kid, detail); !st.ok())
    logger_.warn("key rotation not audited", {{"error", st}});
  co_return kid;
}

// The bootstrap file's accounts, applied once: at the first start that finds the file and no
// earlier bootstrap in the audit trail. Existing profiles (same email) in the user centre are used.
Task<Status> Identity::apply_bootstrap(const Context& ctx) {
  auto done =
      co_await db_->query_as<std::int64_t>(ctx, "SELECT COUNT(*) FROM identity_audit WHERE action = 'bootstrap'");
  if (!done) co_return done.error();
  if (!done->empty() && (*done)[0] > 0) co_return Status();
  std::ifstream in(settings_.bootstrap_file);
  if (!in)
    co_return Status(Code::kFailedPrecondition, "cannot read identity.bootstrap_file " + settings_.bootstrap_file);
  std::stringstream text;
  text << in.rdbuf();
  auto file = json::decode<BootstrapFile>(text.str());
  if (!file) co_return Status(Code::kInvalidArgument, settings_.bootstrap_file + ": " + file.error().to_string());
  Actor actor{"bootstrap", "", ""};
  for (auto& a : file->accounts) {
    std::string email = lower(a.email);
    auto existing = co_await find_login(ctx, email);
    if (!existing) co_return existing.error();
    std::int64_t user_id = 0;
    if (*existing) {
      user_id = (*existing)->user_id;
    } else {
      auto made = co_await register_account(ctx, email, a.password, a.name);
      if (!made && made.error().reason() == "EMAIL_TAKEN") {
        // A profile without credentials: the operator's file names it, so take it.
        const std::string url = settings_.users_url + "/v1/users?email=" + email;
        auto r = co_await client_->get(ctx, url);
        if (!r) co_return user_centre_down(r.error());
        auto list = json::decode<UserList>(r->body);
        if (r->status != 200 || !list || list->users.empty()) co_return from_user_centre(*r);
        user_id = list->users[0].id;
        auto hash_job = [this, &a] { return hasher_.hash(a.password); };
        auto hashed = co_await run_blocking(ctx, hash_job);
        if (!hashed) co_return hashed.error();
        db::Params args{user_id, email, *hashed, std::string("citizen"), now_ts(), now_ts()};
        auto n = co_await db_->exec(ctx,
                                    "INSERT INTO credentials (user_id, login, password_hash, roles, created_at, "
                                    "updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
                                    std::move(args));
        if (!n) co_return n.error();
      } else if (!made) {
        co_return made.error();
      } else {
        user_id = made->user_id;
      }
    }
    auto set = co_await set_roles(ctx, actor, user_id, a.roles, a.authority);
    if (!set) co_return set.error();
  }
  const std::string action = "bootstrap", detail = std::to_string(file->accounts.size()) + " accounts";
  co_return co_await audit(ctx, actor, action, settings_.bootstrap_file, detail);
}

}  // namespace svckit::identity
