#pragma once
// The configuration of a token verifier (a gateway's, or any service checking tokens itself), bound
// from a section such as `auth:`:
//   auth:
//     jwks_url: http://identity:8080/.well-known/jwks.json   # or jwks_file: configs/jwks.json
//     issuer: https://id.example
//     audiences: [orders]
//     algorithms: [EdDSA, ES256]
//     leeway: 30s
//     typ: at+jwt
// auth_http's make_verifier() builds the Verifier and its key source from it.
//
// ```cpp
//   auto settings = app.settings<auth::VerifierSettings>("auth");
//   Result<auth::VerifierOptions> options = settings.verifier_options();
// ```
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "svckit/auth/verifier.hpp"
#include "svckit/config/binder.hpp"

namespace svckit::auth {

struct VerifierSettings {
  std::string jwks_url;   // http://... (svckit's HTTP client; discovery:/// too)
  std::string jwks_file;  // a JWKS document on disk
  std::string issuer;
  std::vector<std::string> audiences;
  std::vector<std::string> algorithms{"EdDSA", "ES256"};
  std::chrono::seconds leeway{30};
  std::chrono::seconds max_age{0};
  std::string typ = "at+jwt";
  std::vector<std::string> required_claims{"exp"};
  std::vector<std::string> critical;
  std::uint64_t max_token_size = kDefaultMaxTokenBytes;
  std::string roles_claim = "roles";
  // The JWKS cache: Cache-Control max-age is honoured within [cache_min, cache_max] (cache_min when
  // the response says nothing); a token with an unknown kid refetches at most once per min_refresh;
  // a failed fetch is tried again after min_refresh and keeps the last good set meanwhile.
  std::chrono::milliseconds jwks_cache_min{std::chrono::minutes(1)};
  std::chrono::milliseconds jwks_cache_max{std::chrono::hours(24)};
  std::chrono::milliseconds jwks_min_refresh{std::chrono::seconds(10)};
  std::chrono::milliseconds jwks_timeout{std::chrono::seconds(5)};

  static void describe(config::Binder<VerifierSettings>& b);
  // A key source is named (jwks_url or jwks_file): a service for which verification is optional
  // builds a verifier only then; make_verifier refuses settings without one.
  bool configured() const noexcept { return !jwks_url.empty() || !jwks_file.empty(); }
  // The verifier's options (INVALID_ARGUMENT for an algorithm name svckit does not verify).
  Result<VerifierOptions> verifier_options() const;
};

}  // namespace svckit::auth
