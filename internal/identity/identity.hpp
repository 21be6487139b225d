#pragma once
// Unified identity: who someone is (credentials, here) and what they may do (roles), issued as
// short-lived access tokens (JWT, signed by the KeyRing) and rotating refresh tokens. Profiles belong
// to the user centre: registration creates the user there (users_url) and keeps only the
// credentials. mount() registers the HTTP API (docs/identity.md; its OpenAPI document at /openapi.json).
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "keys.hpp"
#include "passwords.hpp"
#include "refresh_tokens.hpp"
#include "settings.hpp"
#include "svckit/auth/verifier.hpp"
#include "svckit/core/notifier.hpp"
#include "svckit/db/database.hpp"
#include "svckit/http/client.hpp"
#include "svckit/http/router.hpp"
#include "svckit/log/logger.hpp"
#include "throttle.hpp"

namespace svckit::identity {

inline constexpr std::string_view kRoles[] = {"citizen", "clerk", "admin"};

// One account's credentials row.
struct Credentials {
  std::int64_t user_id = 0;
  std::string login;
  std::string password_hash;
  std::string roles = "citizen";  // space-separated
  std::optional<std::string> authority;
  db::Timestamp created_at;
  db::Timestamp updated_at;
  std::int64_t version = 0;
  static void row_schema(db::RowSchema<Credentials>& s);
  std::vector<std::string> role_list() const;
};

// What login and refresh return.
struct TokenPair {
  std::string access_token;
  std::chrono::seconds expires_in{0};
  std::string refresh_token;
  std::chrono::seconds refresh_expires_in{0};
  std::int64_t user_id = 0;
  std::vector<std::string> roles;
};

// Who did something, for the audit trail.
struct Actor {
  std::string id;  // a user id, or "bootstrap"
  std::string client;
  std::string request_id;
};

class Identity : public std::enable_shared_from_this<Identity> {
 public:
  // Throws std::invalid_argument for settings that cannot work (the caller refuses to start).
  Identity(IdentitySettings settings, std::shared_ptr<db::Database> db, std::string sealing_key, PasswordPolicy policy,
           http::Client* client, log::Logger logger);

  // Loads (or creates) the signing keys; then a background loop re-reads them every key_reload and
  // applies the bootstrap file until it has been. stop() ends the loop (an App on_stop hook).
  Task<Status> start(const Context& ctx, Runtime& runtime);
  // Loads the keys if none are loaded yet (a request that needs them before start() has run).
  Task<Status> ensure_keys(const Context& ctx);
  // OK once the bootstrap file (if any) has been applied: until then the first admin cannot log in,
  // and the service is not ready.
  Status bootstrap_state() const;
  Task<void> stop();

  // Coroutine parameters are references (the caller's named values): GCC 12 mishandles temporaries
  // in a co_await expression (docs/architecture.md).
  Task<Result<Credentials>> register_account(const Context& ctx, const std::string& email, const std::string& password,
                                             const std::string& name);
  // UNAUTHENTICATED INVALID_CREDENTIALS for an unknown account and a wrong password alike (same
  // work, same answer); RESOURCE_EXHAUSTED with retry_after_ms metadata when throttled.
  Task<Result<TokenPair>> login(const Context& ctx, const std::string& email, const std::string& password,
                                const std::string& client);
  Task<Result<TokenPair>> refresh(const Context& ctx, const std::string& refresh_token);
  Task<Status> logout(const Context& ctx, const std::string& refresh_token);
  Task<Result<Credentials>> set_roles(const Context& ctx, const Actor& actor, std::int64_t user_id,
                                      const std::vector<std::string>& roles,
                                      const std::optional<std::string>& authority);
  Task<Result<std::string>> rotate_keys(const Context& ctx, const Actor& actor);
  Task<Status> audit(const Context& ctx, const Actor& actor, const std::string& action, const std::string& subject,
                     const std::string& detail);

  const IdentitySettings& settings() const noexcept { return settings_; }
  KeyRing& keys() noexcept { return keys_; }
  const std::shared_ptr<auth::Verifier>& verifier() const noexcept { return verifier_; }
  std::shared_ptr<db::Database> db() const { return db_; }
  http::Client& client() { return *client_; }
  const log::Logger& logger() const { return logger_; }

 private:
  // refresh: the rotated token to hand out, or null for a new login's first.
  Task<Result<TokenPair>> tokens_for(const Context& ctx, const Credentials& who, const Issued* refresh);
  Task<Result<std::optional<Credentials>>> find_login(const Context& ctx, const std::string& login);
  Task<Status> apply_bootstrap(const Context& ctx);
  Task<void> background(Context ctx);
  void publish_keys();

  IdentitySettings settings_;
  std::shared_ptr<db::Database> db_;
  KeyRing keys_;
  RefreshTokens refresh_;
  PasswordHasher hasher_;
  PasswordPolicy policy_;
  LoginThrottle throttle_;
  http::Client* client_;
  log::Logger logger_;
  std::shared_ptr<auth::StaticKeys> own_keys_;
  std::shared_ptr<auth::Verifier> verifier_;
  Context bg_ctx_ = Context().with_cancel();
  std::atomic<bool> started_{false};
  std::atomic<bool> bootstrapped_{false};
  mutable std::mutex bootstrap_mu_;
  Status bootstrap_error_;
  std::atomic<bool> running_{false};
  Notifier ended_;
};

// The HTTP API: /v1/auth/*, /.well-known/jwks.json, /.well-known/openid-configuration.
void mount(http::Router& router, std::shared_ptr<Identity> identity);

}  // namespace svckit::identity
