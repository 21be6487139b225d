#pragma once
// Identity at the edge (RFC 6750 bearer tokens, RFC 8725 rules): routes with `auth: jwt` verify the
// request's token with svckit::auth's Verifier, its keys from the identity service's JWKS (auth_http's
// JwksClient: fetched, cached, refreshed on an unknown kid, the last good set kept) or a JWKS file.
// A route may narrow the algorithms, require roles (any of) and scopes (all of), or let requests
// without a token through without an identity. Verified tokens are remembered by their exact text
// until min(exp + leeway, verified + ttl), so a token seen before costs a hash lookup; a different
// key set (rotation, a key withdrawn) empties the cache.
//
// Answers: no token 401 NO_TOKEN (`WWW-Authenticate: Bearer`); a bad one 401 with the verifier's
// reason (`Bearer error="invalid_token"`); a missing role or scope 403 MISSING_ROLE / MISSING_SCOPE
// (`error="insufficient_scope"`); no key set fetched yet 503 KEYS_UNAVAILABLE with Retry-After:
// never accept-all, never 401 for the gateway's own trouble. The identity goes upstream as
// X-User-Id / X-User-Roles / X-User-Scopes (detail/headers.cpp strips every X-User-* a client sends).
#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "routes.hpp"
#include "svckit/auth/principal.hpp"
#include "svckit/auth/settings.hpp"
#include "svckit/auth/verifier.hpp"
#include "svckit/config/config.hpp"
#include "svckit/core/runtime.hpp"
#include "svckit/discovery/registry.hpp"
#include "svckit/log/logger.hpp"

namespace svckit::auth {
class JwksClient;
}

namespace svckit::gateway {

// The verifier's settings (auth::VerifierSettings, its keys and rules as docs/auth.md describes them)
// from a section of the configuration, bound only when the configuration sets a key under it:
// nullopt when it sets none (the gateway then has no verifier, and a routes file with auth: jwt is
// refused). Unknown keys and invalid values are errors naming the key.
Result<std::optional<auth::VerifierSettings>> bind_edge_auth(const config::Snapshot& snap,
                                                             std::string_view section = "gateway_auth");

struct EdgeAuthOptions {
  std::size_t cache_size = 10000;  // tokens remembered; 0: none
  std::chrono::seconds cache_ttl{300};
  std::chrono::seconds retry_after{5};  // 503 KEYS_UNAVAILABLE
  auth::PrincipalOptions principal;
};

// A verified token: who it is for, and what the checks of a later request with it need.
struct Identity {
  std::shared_ptr<const auth::Principal> principal;
  std::vector<std::pair<std::string, std::string>> headers;  // X-User-Id, X-User-Roles, X-User-Scopes
  auth::Algorithm alg = auth::Algorithm::kEdDSA;
  std::optional<auth::Seconds> not_before;
  auth::Seconds valid_until;  // exp + leeway (and iat + max_age + leeway); the far future without exp
};

// Verified tokens by their exact text, in shards, bounded; each shard empties itself when the key set
// it was filled under is no longer the verifier's.
class TokenCache {
 public:
  explicit TokenCache(std::size_t capacity, std::chrono::seconds ttl);
  // The identity of `token` when it was verified under `keys` and is still valid at `now`.
  std::shared_ptr<const Identity> find(std::string_view token, const std::shared_ptr<const auth::KeySet>& keys,
                                       auth::Seconds now, std::chrono::seconds leeway);
  void insert(std::string_view token, std::shared_ptr<const Identity> identity,
              const std::shared_ptr<const auth::KeySet>& keys, auth::Seconds now);
  std::size_t size() const;
  bool enabled() const noexcept { return per_shard_ > 0; }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  struct Entry {
    std::shared_ptr<const Identity> identity;
    auth::Seconds until;
  };
  struct Shard {
    mutable std::mutex mu;
    std::shared_ptr<const auth::KeySet> keys;
    std::unordered_map<std::string, Entry, Hash, std::equal_to<>> map;
  };
  Shard& shard_of(std::string_view token);
  std::size_t per_shard_;
  std::chrono::seconds ttl_;
  std::array<Shard, 16> shards_;
};

enum class AuthOutcome : std::uint8_t { kOk, kAnonymous, kMissing, kInvalid, kForbidden, kKeysUnavailable };
// "ok", "anonymous", "missing", "invalid", "forbidden", "keys_unavailable" (metric labels).
std::string_view outcome_name(AuthOutcome outcome) noexcept;

struct AuthDecision {
  AuthOutcome outcome = AuthOutcome::kOk;
  std::shared_ptr<const Identity> identity;                  // kOk
  Status error;                                              // refused: the JSON error answered
  int http_status = 0;                                       // 401, 403, 503
  std::vector<std::pair<std::string, std::string>> headers;  // WWW-Authenticate, Retry-After
  bool looked_up = false, cache_hit = false;
};

struct EdgeAuthStats {
  std::uint64_t cache_hits = 0, cache_misses = 0, verified = 0;
  std::size_t cached = 0;
};

class EdgeAuth {
 public:
  EdgeAuth(std::shared_ptr<const auth::Verifier> verifier, EdgeAuthOptions options);
  ~EdgeAuth();
  EdgeAuth(const EdgeAuth&) = delete;
  EdgeAuth& operator=(const EdgeAuth&) = delete;

  // From settings: a JWKS URL is fetched with svckit's HTTP client over `discovery` (so
  // discovery:///auth-svc/.well-known/jwks.json resolves like any upstream), its first fetch started
  // in the background; a JWKS file is read now (blocking: at start-up). INVALID_ARGUMENT for settings
  // that make no verifier, NOT_FOUND-like errors for an unreadable file.
  static Result<std::unique_ptr<EdgeAuth>> create(Runtime& rt, const auth::VerifierSettings& settings,
                                                  EdgeAuthOptions options,
                                                  std::shared_ptr<discovery::Discovery> discovery,
                                                  log::Logger logger = log::global());

  // The decision for a request on an auth: jwt route: its Authorization header, the route's
  // policies and the algorithms it allows (a subset of algorithms()).
  Task<AuthDecision> authenticate(Context ctx, std::string_view authorization, const RouteConfig& route,
                                  std::span<const auth::Algorithm> allowed);
  // A token's identity: from the cache, else verified (an unknown kid refreshes the keys) and cached.
  // `token` must stay valid until the task completes. hit: set to whether the cache answered.
  Task<Result<std::shared_ptr<const Identity>>> verify(Context ctx, std::string_view token,
                                                       std::span<const auth::Algorithm> allowed, bool* hit = nullptr);
  // The same without waiting: an unknown kid is refused (UNKNOWN_KID) and refreshes in the background.
  Result<std::shared_ptr<const Identity>> verify_now(std::string_view token, std::span<const auth::Algorithm> allowed,
                                                     bool* hit = nullptr);

  const std::vector<auth::Algorithm>& algorithms() const noexcept { return verifier_->options().algorithms; }
  const auth::Verifier& verifier() const noexcept { return *verifier_; }
  EdgeAuthStats stats() const;

 private:
  struct Attempt {  // what a verification looked at before the verifier ran
    std::shared_ptr<const auth::KeySet> keys;
    auth::Seconds now;
    std::optional<auth::Algorithm> alg;
  };
  // The cache's answer or a refusal before any key is used; nullopt: the verifier decides.
  std::optional<Result<std::shared_ptr<const Identity>>> before(std::string_view token,
                                                                std::span<const auth::Algorithm> allowed, Attempt& a,
                                                                bool* hit);
  Result<std::shared_ptr<const Identity>> after(std::string_view token, Result<auth::Claims> claims, const Attempt& a);
  auth::Seconds now() const;
  Result<std::shared_ptr<const Identity>> identity_of(auth::Claims claims, auth::Algorithm alg) const;

  std::shared_ptr<const auth::Verifier> verifier_;
  std::shared_ptr<auth::JwksClient> jwks_;  // closed with the gateway
  EdgeAuthOptions options_;
  TokenCache cache_;
  std::atomic<std::uint64_t> hits_{0}, misses_{0}, verified_{0};
};

}  // namespace svckit::gateway
