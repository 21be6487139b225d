#include "svckit/auth/settings.hpp"

namespace svckit::auth {

using namespace std::chrono_literals;

void VerifierSettings::describe(config::Binder<VerifierSettings>& b) {
  b.field("jwks_url", &VerifierSettings::jwks_url).doc("where the issuer publishes its keys (JWKS); or jwks_file");
  b.field("jwks_file", &VerifierSettings::jwks_file).doc("a JWKS document on disk, re-read on an unknown kid");
  b.field("issuer", &VerifierSettings::issuer).non_empty().doc("the expected iss claim, exactly");
  b.field("audiences", &VerifierSettings::audiences)
      .doc("the token's aud must name one of these; empty: tokens with an aud are refused");
  b.field("algorithms", &VerifierSettings::algorithms)
      .check(
          [](const std::vector<std::string>& algs) {
            for (const auto& a : algs)
              if (!parse_algorithm(a)) return false;
            return !algs.empty();
          },
          "must list some of EdDSA, ES256, RS256, PS256")
      .doc("allowed JWS algorithms (none and HMAC are never accepted)");
  b.field("leeway", &VerifierSettings::leeway).range(0s, 5min).doc("clock skew allowed on exp, nbf, iat");
  b.field("max_age", &VerifierSettings::max_age)
      .range(0s, 24h * 365)
      .doc("refuse tokens older than this (iat); 0: off");
  b.field("typ", &VerifierSettings::typ).doc("the expected header typ (explicit typing, RFC 8725); empty: not checked");
  b.field("required_claims", &VerifierSettings::required_claims).doc("claims a token must carry");
  b.field("critical", &VerifierSettings::critical).doc("header extensions (crit) this service understands");
  b.bytes("max_token_size", &VerifierSettings::max_token_size)
      .range(256, 1 << 20)
      .doc("larger tokens are refused before parsing");
  b.field("roles_claim", &VerifierSettings::roles_claim).non_empty().doc("the claim the principal's roles come from");
  b.field("jwks_cache_min", &VerifierSettings::jwks_cache_min).range(1s, 24h).doc("shortest JWKS cache lifetime");
  b.field("jwks_cache_max", &VerifierSettings::jwks_cache_max).range(1s, 7 * 24h).doc("longest JWKS cache lifetime");
  b.field("jwks_min_refresh", &VerifierSettings::jwks_min_refresh)
      .range(100ms, 1h)
      .doc("at most one JWKS fetch per this interval for unknown kids and after failures");
  b.field("jwks_timeout", &VerifierSettings::jwks_timeout).range(100ms, 1min).doc("one JWKS fetch");
  b.validate([](const VerifierSettings& s) {
    if (!s.jwks_url.empty() && !s.jwks_file.empty())
      return Status(Code::kInvalidArgument, "set one of jwks_url and jwks_file, not both");
    if (s.jwks_cache_min > s.jwks_cache_max)
      return Status(Code::kInvalidArgument, "jwks_cache_min must not exceed jwks_cache_max");
    return Status();
  });
}

Result<VerifierOptions> VerifierSettings::verifier_options() const {
  VerifierOptions o;
  o.algorithms.clear();
  for (const auto& name : algorithms) {
    auto a = parse_algorithm(name);
    if (!a) return make_error(Code::kInvalidArgument, "auth: algorithm \"" + name + "\" is not one svckit verifies");
    o.algorithms.push_back(*a);
  }
  if (o.algorithms.empty()) return make_error(Code::kInvalidArgument, "auth: no algorithm allowed");
  o.issuer = issuer;
  o.audiences = audiences;
  o.required_claims = required_claims;
  o.leeway = leeway;
  o.max_age = max_age;
  o.typ = typ;
  o.critical = critical;
  o.max_token_bytes = static_cast<std::size_t>(max_token_size);
  return o;
}

}  // namespace svckit::auth
