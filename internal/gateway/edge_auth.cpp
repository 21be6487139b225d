#include "edge_auth.hpp"

#include <algorithm>

#include "svckit/auth/key_source.hpp"
#include "svckit/auth_http/jwks_client.hpp"
#include "svckit/config/layer.hpp"

namespace svckit::gateway {

namespace {

// RFC 6750 §3: quoted values may hold %x20-21 / %x23-5B / %x5D-7E only.
std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s)
    if (c >= 0x20 && c <= 0x7e && c != '"' && c != '\\') out += c;
  return out + "\"";
}

std::string challenge(std::string_view error = {}, std::string_view description = {}, std::string_view scope = {}) {
  std::string v = "Bearer";
  auto add = [&](std::string_view name, std::string_view value) {
    v += v.size() == 6 ? " " : ", ";
    v.append(name).append("=").append(quoted(value));
  };
  if (!error.empty()) add("error", error);
  if (!description.empty()) add("error_description", description);
  if (!scope.empty()) add("scope", scope);
  return v;
}

// Identity header values carry claim text: no control characters (no header injection), and no
// commas inside a list item (the lists are comma-separated).
bool header_safe(std::string_view s, bool list_item) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || (list_item && c == ',')) return false;
  }
  return !s.empty() && s.front() != ' ' && s.back() != ' ';
}

std::string join_safe(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    if (!header_safe(s, true)) continue;  // left out rather than forwarded mangled
    if (!out.empty()) out += ',';
    out += s;
  }
  return out;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

AuthDecision refuse(AuthOutcome outcome, Status st, int http_status) {
  AuthDecision d;
  d.outcome = outcome;
  d.http_status = http_status;
  d.error = std::move(st);
  return d;
}

}  // namespace

std::string_view outcome_name(AuthOutcome outcome) noexcept {
  switch (outcome) {
    case AuthOutcome::kOk:
      return "ok";
    case AuthOutcome::kAnonymous:
      return "anonymous";
    case AuthOutcome::kMissing:
      return "missing";
    case AuthOutcome::kInvalid:
      return "invalid";
    case AuthOutcome::kForbidden:
      return "forbidden";
    case AuthOutcome::kKeysUnavailable:
      break;
  }
  return "keys_unavailable";
}

Result<std::optional<auth::VerifierSettings>> bind_edge_auth(const config::Snapshot& snap, std::string_view section) {
  const std::string lead = std::string(section) + ".";
  config::Binder<auth::VerifierSettings> b;
  auth::VerifierSettings::describe(b);
  std::vector<std::string> errors;
  bool any = false;
  for (auto it = snap.values.lower_bound(lead); it != snap.values.end() && it->first.starts_with(lead); ++it) {
    any = true;
    const std::string_view rest = std::string_view(it->first).substr(lead.size());
    const bool known =
        std::any_of(b.specs().begin(), b.specs().end(), [&](const config::FieldSpec& s) { return s.key == rest; });
    if (!known) errors.push_back(it->first + ": unknown key (" + it->second.origin.to_string() + ")");
  }
  if (!any) return std::optional<auth::VerifierSettings>();
  if (!errors.empty()) return std::unexpected(config::detail::join_errors(errors));
  auto bound = config::bind<auth::VerifierSettings>(snap, section);
  if (!bound) return std::unexpected(bound.error());
  if (!bound->configured())
    return make_error(Code::kInvalidArgument,
                      std::string(section) + ": set jwks_url or jwks_file (where the keys are)");
  return std::optional<auth::VerifierSettings>(std::move(*bound));
}

// ---- TokenCache ----

TokenCache::TokenCache(std::size_t capacity, std::chrono::seconds ttl)
    : per_shard_(capacity == 0 ? 0 : std::max<std::size_t>(1, (capacity + 15) / 16)), ttl_(ttl) {}

TokenCache::Shard& TokenCache::shard_of(std::string_view token) {
  // The map hashes the whole token; the shard takes bits of a cheaper look at its tail (the signature).
  std::string_view tail = token.size() > 16 ? token.substr(token.size() - 16) : token;
  return shards_[std::hash<std::string_view>{}(tail) % shards_.size()];
}

std::shared_ptr<const Identity> TokenCache::find(std::string_view token,
                                                 const std::shared_ptr<const auth::KeySet>& keys, auth::Seconds now,
                                                 std::chrono::seconds leeway) {
  if (!enabled()) return nullptr;
  Shard& s = shard_of(token);
  std::lock_guard lock(s.mu);
  if (s.keys != keys) {  // another key set: what was verified under the old one is forgotten
    s.map.clear();
    s.keys = keys;
    return nullptr;
  }
  auto it = s.map.find(token);
  if (it == s.map.end()) return nullptr;
  const Entry& e = it->second;
  // The verifier's own time rules, against now: expired (or past the ttl) is gone; nbf still holds.
  if (now >= e.until) {
    s.map.erase(it);
    return nullptr;
  }
  if (e.identity->not_before && now + leeway < *e.identity->not_before) return nullptr;
  return e.identity;
}

void TokenCache::insert(std::string_view token, std::shared_ptr<const Identity> identity,
                        const std::shared_ptr<const auth::KeySet>& keys, auth::Seconds now) {
  if (!enabled()) return;
  const auth::Seconds until = std::min(identity->valid_until, now + ttl_);
  if (now >= until) return;
  Shard& s = shard_of(token);
  std::lock_guard lock(s.mu);
  if (s.keys != keys) {
    s.map.clear();
    s.keys = keys;
  }
  if (s.map.size() >= per_shard_ && !s.map.contains(token)) {
    std::erase_if(s.map, [now](const auto& kv) { return now >= kv.second.until; });
    if (s.map.size() >= per_shard_) s.map.erase(s.map.begin());  // full of live tokens: one goes
  }
  s.map.insert_or_assign(std::string(token), Entry{std::move(identity), until});
}

std::size_t TokenCache::size() const {
  std::size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.map.size();
  }
  return n;
}

// ---- EdgeAuth ----

EdgeAuth::EdgeAuth(std::shared_ptr<const auth::Verifier> verifier, EdgeAuthOptions options)
    : verifier_(std::move(verifier)), options_(std::move(options)), cache_(options_.cache_size, options_.cache_ttl) {}

EdgeAuth::~EdgeAuth() {
  if (jwks_) jwks_->close();
}

Result<std::unique_ptr<EdgeAuth>> EdgeAuth::create(Runtime& rt, const auth::VerifierSettings& s,
                                                   EdgeAuthOptions options,
                                                   std::shared_ptr<discovery::Discovery> discovery,
                                                   log::Logger logger) {
  auto vo = s.verifier_options();
  if (!vo) return std::unexpected(vo.error());
  if (s.jwks_url.empty() == s.jwks_file.empty())
    return make_error(Code::kInvalidArgument, "gateway_auth: exactly one of jwks_url and jwks_file must be set");
  std::shared_ptr<auth::KeySource> source;
  std::shared_ptr<auth::JwksClient> jwks;
  if (!s.jwks_file.empty()) {
    auto file = auth::FileKeys::open(s.jwks_file, s.jwks_min_refresh);
    if (!file) return std::unexpected(file.error());
    source = std::move(*file);
  } else {
    http::ClientOptions co;
    co.observe = false;
    co.discovery = std::move(discovery);
    jwks = auth::JwksClient::create(rt, {.url = s.jwks_url,
                                         .cache_min = s.jwks_cache_min,
                                         .cache_max = s.jwks_cache_max,
                                         .min_refresh = s.jwks_min_refresh,
                                         .timeout = s.jwks_timeout,
                                         .client = std::move(co),
                                         .logger = std::move(logger)});
    // Until the first set arrives every token check answers 503 KEYS_UNAVAILABLE; a failed fetch is
    // tried again every jwks_min_refresh.
    rt.spawn([](std::shared_ptr<auth::JwksClient> c) -> Task<void> {
      Task<Status> starting = c->start(Context());
      (void)co_await std::move(starting);
    }(jwks));
    source = jwks;
  }
  options.principal.roles_claim = s.roles_claim;
  auto out = std::make_unique<EdgeAuth>(std::make_shared<auth::Verifier>(std::move(source), std::move(*vo)),
                                        std::move(options));
  out->jwks_ = std::move(jwks);
  return out;
}

EdgeAuthStats EdgeAuth::stats() const {
  return EdgeAuthStats{hits_.load(), misses_.load(), verified_.load(), cache_.size()};
}

auth::Seconds EdgeAuth::now() const {
  const auto& clock = verifier_->options().clock;
  return std::chrono::floor<std::chrono::seconds>(clock ? clock() : std::chrono::system_clock::now());
}

Result<std::shared_ptr<const Identity>> EdgeAuth::identity_of(auth::Claims claims, auth::Algorithm alg) const {
  // The subject is what upstreams are told the request acts for: a token without one names no one.
  if (claims.subject().empty())
    return make_error(
        Status(Code::kUnauthenticated, std::string(auth::reason::kMissingClaim), "the token has no \"sub\" claim"));
  if (!header_safe(claims.subject(), false))
    return make_error(Status(Code::kUnauthenticated, std::string(auth::reason::kMalformedToken),
                             "the token's \"sub\" claim cannot be forwarded (control characters)"));
  const auth::VerifierOptions& vo = verifier_->options();
  auto id = std::make_shared<Identity>();
  id->alg = alg;
  id->not_before = claims.not_before();
  id->valid_until = auth::Seconds::max();
  if (auto exp = claims.expires_at()) id->valid_until = *exp + vo.leeway;
  if (auto iat = claims.issued_at(); iat && vo.max_age.count() > 0)
    id->valid_until = std::min(id->valid_until, *iat + vo.max_age + vo.leeway);
  id->principal = auth::make_principal(std::move(claims), options_.principal);
  const auth::Principal& p = *id->principal;
  id->headers.emplace_back("X-User-Id", p.subject);
  if (std::string roles = join_safe(p.roles); !roles.empty()) id->headers.emplace_back("X-User-Roles", roles);
  if (std::string scopes = join_safe(p.scopes); !scopes.empty()) id->headers.emplace_back("X-User-Scopes", scopes);
  return std::shared_ptr<const Identity>(std::move(id));
}

std::optional<Result<std::shared_ptr<const Identity>>> EdgeAuth::before(std::string_view token,
                                                                        std::span<const auth::Algorithm> allowed,
                                                                        Attempt& a, bool* hit) {
  auto not_allowed = [&](auth::Algorithm alg) -> std::optional<Result<std::shared_ptr<const Identity>>> {
    if (std::find(allowed.begin(), allowed.end(), alg) != allowed.end()) return std::nullopt;
    return make_error(Status(Code::kUnauthenticated, std::string(auth::reason::kAlgNotAllowed),
                             "alg \"" + std::string(auth::algorithm_name(alg)) + "\" is not allowed here"));
  };
  a.keys = verifier_->source()->keys();
  a.now = now();
  if (hit) *hit = false;
  if (a.keys) {
    if (auto id = cache_.find(token, a.keys, a.now, verifier_->options().leeway)) {
      hits_.fetch_add(1, std::memory_order_relaxed);
      if (hit) *hit = true;
      if (auto refused = not_allowed(id->alg)) return refused;
      return id;
    }
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  // The route's algorithms are decided before any key is looked at (RFC 8725 §3.1); the verifier
  // then applies the gateway's own list and every other rule.
  auto jws = auth::parse_jws(token, verifier_->options().max_token_bytes);
  if (!jws) return std::unexpected(jws.error());
  a.alg = auth::parse_algorithm(jws->header.alg);
  if (a.alg)
    if (auto refused = not_allowed(*a.alg)) return refused;
  return std::nullopt;
}

Result<std::shared_ptr<const Identity>> EdgeAuth::after(std::string_view token, Result<auth::Claims> claims,
                                                        const Attempt& a) {
  if (!claims) return std::unexpected(claims.error());
  verified_.fetch_add(1, std::memory_order_relaxed);
  auto id = identity_of(std::move(*claims), a.alg.value_or(auth::Algorithm::kEdDSA));  // verified: a.alg is set
  if (!id) return id;
  // Cached only under the set it was verified with: a refresh meanwhile (a key rotated in or
  // withdrawn) leaves this token to be verified again next time.
  if (a.keys && verifier_->source()->keys() == a.keys) cache_.insert(token, *id, a.keys, a.now);
  return id;
}

Task<Result<std::shared_ptr<const Identity>>> EdgeAuth::verify(Context ctx, std::string_view token,
                                                               std::span<const auth::Algorithm> allowed, bool* hit) {
  Attempt a;
  if (auto done = before(token, allowed, a, hit)) co_return std::move(*done);
  // Named before the await: GCC 12 mishandles non-trivial temporaries inside co_await expressions.
  Task<Result<auth::Claims>> verifying = verifier_->verify(ctx, token);
  Result<auth::Claims> claims = co_await std::move(verifying);
  co_return after(token, std::move(claims), a);
}

Result<std::shared_ptr<const Identity>> EdgeAuth::verify_now(std::string_view token,
                                                             std::span<const auth::Algorithm> allowed, bool* hit) {
  Attempt a;
  if (auto done = before(token, allowed, a, hit)) return std::move(*done);
  return after(token, verifier_->verify(token), a);
}

Task<AuthDecision> EdgeAuth::authenticate(Context ctx, std::string_view authorization, const RouteConfig& route,
                                          std::span<const auth::Algorithm> allowed) {
  if (authorization.empty()) {
    if (route.auth_optional) co_return AuthDecision{.outcome = AuthOutcome::kAnonymous};
    // RFC 6750 §3.1: a request with no credentials gets the challenge without an error code.
    AuthDecision d =
        refuse(AuthOutcome::kMissing, Status(Code::kUnauthenticated, "NO_TOKEN", "a bearer token is required"), 401);
    d.headers.emplace_back("WWW-Authenticate", challenge());
    co_return d;
  }
  std::string_view token = auth::bearer_token(authorization);
  Result<std::shared_ptr<const Identity>> id;
  bool hit = false;
  if (!token.empty()) {
    Task<Result<std::shared_ptr<const Identity>>> verifying = verify(ctx, token, allowed, &hit);
    id = co_await std::move(verifying);
  } else {  // the error built only when it is the answer
    id = make_error(Status(Code::kUnauthenticated, std::string(auth::reason::kMalformedToken),
                           "the Authorization header is not a bearer token"));
  }
  if (!id) {
    if (id.error().code() == Code::kUnavailable) {
      // The gateway's trouble, not the token's: no key set has been fetched yet.
      AuthDecision d = refuse(AuthOutcome::kKeysUnavailable,
                              Status(Code::kUnavailable, std::string(auth::reason::kKeysUnavailable),
                                     "the identity service's keys are not available yet"),
                              503);
      d.headers.emplace_back("Retry-After", std::to_string(options_.retry_after.count()));
      co_return d;
    }
    AuthDecision d = refuse(AuthOutcome::kInvalid, id.error(), 401);
    d.headers.emplace_back("WWW-Authenticate", challenge("invalid_token", id.error().message()));
    d.looked_up = !token.empty();
    d.cache_hit = hit;
    co_return d;
  }
  const auth::Principal& p = *(*id)->principal;
  if (!route.auth_roles.empty() &&
      std::none_of(route.auth_roles.begin(), route.auth_roles.end(), [&](const auto& r) { return p.has_role(r); })) {
    AuthDecision d = refuse(AuthOutcome::kForbidden,
                            Status(Code::kPermissionDenied, "MISSING_ROLE",
                                   "route " + route.name + " needs one of the roles: " + join(route.auth_roles, ", ")),
                            403);
    d.headers.emplace_back("WWW-Authenticate", challenge("insufficient_scope", d.error.message()));
    d.looked_up = true;
    d.cache_hit = hit;
    co_return d;
  }
  for (const auto& scope : route.auth_scopes) {
    if (p.has_scope(scope)) continue;
    AuthDecision d = refuse(
        AuthOutcome::kForbidden,
        Status(Code::kPermissionDenied, "MISSING_SCOPE", "route " + route.name + " needs the scope " + scope), 403);
    d.headers.emplace_back("WWW-Authenticate",
                           challenge("insufficient_scope", d.error.message(), join(route.auth_scopes, " ")));
    d.looked_up = true;
    d.cache_hit = hit;
    co_return d;
  }
  co_return AuthDecision{.outcome = AuthOutcome::kOk, .identity = std::move(*id), .looked_up = true, .cache_hit = hit};
}

}  // namespace svckit::gateway
