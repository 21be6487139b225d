#include "svckit/auth/verifier.hpp"

#include <stdexcept>

#include "svckit/core/strings.hpp"

namespace svckit::auth {

namespace {

Status refuse(std::string_view why, std::string message) {
  return Status(Code::kUnauthenticated, std::string(why), std::move(message));
}

// Text from the token quoted in an error message, cut short: the message may go back to the client.
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 64)) out += (c >= 0x20 && c < 0x7f && c != '"') ? c : '?';
  if (s.size() > 64) out += "...";
  return out + "\"";
}

// RFC 7515 §4.1.9: "application/" may be left out, and media types compare case-insensitively.
bool same_type(std::string_view got, std::string_view want) {
  if (got.size() > 12 && iequals(got.substr(0, 12), "application/")) got.remove_prefix(12);
  if (want.size() > 12 && iequals(want.substr(0, 12), "application/")) want.remove_prefix(12);
  return iequals(got, want);
}

}  // namespace

std::string_view bearer_token(std::string_view h) noexcept {
  if (h.size() < 7 || !iequals(h.substr(0, 6), "bearer") || h[6] != ' ') return {};
  h.remove_prefix(7);
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  while (!h.empty() && h.back() == ' ') h.remove_suffix(1);
  return h;
}

Verifier::Verifier(std::shared_ptr<KeySource> keys, VerifierOptions options)
    : keys_(std::move(keys)), options_(std::move(options)) {
  if (!keys_) throw std::invalid_argument("auth::Verifier: no key source");
  if (options_.algorithms.empty()) throw std::invalid_argument("auth::Verifier: no algorithm allowed");
}

Result<Claims> Verifier::verify(std::string_view token) const {
  std::shared_ptr<const KeySet> keys = keys_->keys();
  std::string unknown;
  Result<Claims> r = check(token, keys.get(), &unknown);
  if (!unknown.empty()) keys_->refresh_later(std::move(unknown));
  return r;
}

Task<Result<Claims>> Verifier::verify(Context ctx, std::string_view token) const {
  std::shared_ptr<const KeySet> keys = keys_->keys();
  std::string unknown;
  Result<Claims> first = check(token, keys.get(), &unknown);
  if (unknown.empty()) co_return first;
  // Named before the await: GCC 12 mishandles non-trivial temporaries inside co_await expressions.
  Task<std::shared_ptr<const KeySet>> refreshing = keys_->refresh(ctx, std::move(unknown));
  std::shared_ptr<const KeySet> fresh = co_await std::move(refreshing);
  if (!fresh || fresh == keys) co_return first;
  co_return check(token, fresh.get(), nullptr);
}

Result<Claims> Verifier::verify_with(const KeySet& keys, std::string_view token) const {
  return check(token, &keys, nullptr);
}

Result<Claims> Verifier::check(std::string_view token, const KeySet* keys, std::string* unknown_kid) const {
  auto jws = parse_jws(token, options_.max_token_bytes);
  if (!jws) return std::unexpected(jws.error());
  const JwsHeader& h = jws->header;

  // The algorithm is decided by the verifier before any key is looked at (RFC 8725 §3.1).
  if (h.alg == "none") return make_error(refuse(reason::kAlgNotAllowed, "alg \"none\" is never accepted"));
  auto alg = parse_algorithm(h.alg);
  bool allowed = false;
  for (Algorithm a : options_.algorithms) allowed = allowed || (alg && a == *alg);
  if (!allowed) return make_error(refuse(reason::kAlgNotAllowed, "alg " + quote(h.alg) + " is not allowed"));
  for (const auto& name : h.crit) {
    bool understood = false;
    for (const auto& c : options_.critical) understood = understood || c == name;
    if (!understood)
      return make_error(
          refuse(reason::kUnsupportedCrit, "critical header extension " + quote(name) + " not understood"));
  }
  if (!options_.typ.empty() && !same_type(h.typ, options_.typ))
    return make_error(refuse(reason::kWrongType, "typ " + quote(h.typ) + ", expected " + quote(options_.typ)));
  if (same_type(h.cty, "JWT")) return make_error(refuse(reason::kMalformedToken, "nested JWTs are not accepted"));

  if (!keys) return make_error(Status(Code::kUnavailable, std::string(reason::kKeysUnavailable), "no keys loaded yet"));
  const Key* key = nullptr;
  bool verified = false;
  if (!h.kid.empty()) {
    key = keys->find(h.kid);
    if (!key) {
      if (unknown_kid) *unknown_kid = h.kid;
      return make_error(refuse(reason::kUnknownKid, "no key with kid " + quote(h.kid)).with_metadata("kid", h.kid));
    }
    // One algorithm per key (RFC 8725 §3.1): an RSA key never checks an HS256 or ES256 claim.
    if (key->algorithm() != *alg)
      return make_error(refuse(reason::kKeyAlgMismatch, "the key " + quote(h.kid) + " is for " +
                                                            std::string(algorithm_name(key->algorithm())) + ", not " +
                                                            std::string(algorithm_name(*alg))));
    verified = key->verify(jws->signing_input, jws->signature);
  } else {
    // No kid: the keys bound to this algorithm are tried, a few at most, so that a token without a
    // kid cannot make one request cost a signature check per key of a large set.
    constexpr int kMaxTries = 4;
    int tried = 0;
    for (const Key& k : keys->keys()) {
      if (k.algorithm() != *alg) continue;
      if (++tried > kMaxTries)
        return make_error(refuse(reason::kUnknownKid, "no kid, and too many keys to try them all"));
      if ((verified = k.verify(jws->signing_input, jws->signature))) break;
    }
    if (tried == 0)
      return make_error(refuse(reason::kUnknownKid, "no kid, and no key for " + std::string(algorithm_name(*alg))));
  }
  if (!verified) return make_error(refuse(reason::kBadSignature, "the signature does not verify"));

  auto claims = Claims::parse(jws->payload);
  if (!claims) return make_error(refuse(reason::kMalformedToken, "claims: " + std::string(claims.error().message())));
  if (Status st = check_claims(*claims); !st.ok()) return make_error(std::move(st));
  return claims;
}

Status Verifier::check_claims(const Claims& c) const {
  for (const auto& name : options_.required_claims)
    if (!c.has(name)) return refuse(reason::kMissingClaim, "the token has no " + quote(name) + " claim");
  auto now =
      std::chrono::floor<std::chrono::seconds>(options_.clock ? options_.clock() : std::chrono::system_clock::now());
  auto leeway = options_.leeway;
  // RFC 7519 §4.1.4: the current time must be before exp.
  if (auto exp = c.expires_at(); exp && now >= *exp + leeway)
    return refuse(reason::kTokenExpired, "the token has expired");
  if (auto nbf = c.not_before(); nbf && now + leeway < *nbf)
    return refuse(reason::kTokenNotYetValid, "the token is not valid yet (nbf)");
  if (auto iat = c.issued_at(); iat && now + leeway < *iat)
    return refuse(reason::kTokenNotYetValid, "the token was issued in the future (iat)");
  if (options_.max_age.count() > 0) {
    auto iat = c.issued_at();
    if (!iat) return refuse(reason::kMissingClaim, "the token has no \"iat\" claim (a maximum age is set)");
    if (now - *iat > options_.max_age + leeway) return refuse(reason::kTokenTooOld, "the token is older than allowed");
  }
  if (!options_.issuer.empty() && c.issuer() != options_.issuer)
    return refuse(reason::kWrongIssuer, c.issuer().empty() ? std::string("the token has no issuer")
                                                           : "issuer " + quote(c.issuer()) + " is not trusted");
  if (options_.audiences.empty()) {
    if (!c.audience().empty())
      return refuse(reason::kWrongAudience, "the token is for an audience; this verifier has none");
  } else {
    bool match = false;
    for (const auto& a : c.audience())
      for (const auto& want : options_.audiences) match = match || a == want;
    if (!match)
      return refuse(reason::kWrongAudience, c.audience().empty() ? std::string("the token names no audience")
                                                                 : "the token is not for this audience");
  }
  return {};
}

}  // namespace svckit::auth
