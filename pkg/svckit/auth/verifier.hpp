#pragma once
// Verifies JWTs by the rules of RFC 8725: the header's alg must be one this verifier allows (never
// `none`, never HMAC) and the very algorithm the key is bound to; `crit` names only extensions the
// caller understands; the type is checked when one is expected (explicit typing, §3.11); and only
// after the signature holds are the claims looked at: exp, nbf and iat with leeway, a maximum age,
// the issuer, one of the audiences, required claims. Every refusal is a Status, UNAUTHENTICATED with a
// reason from auth::reason (TOKEN_EXPIRED, BAD_SIGNATURE, UNKNOWN_KID...), never an exception.
//
// ```cpp
//   Task<void> check(std::shared_ptr<const auth::Verifier> verifier, std::string token, Context ctx) {
//     Result<auth::Claims> claims = co_await verifier->verify(ctx, token);   // refreshes on unknown kid
//     if (!claims) co_return;   // claims.error().reason() == auth::reason::kTokenExpired, ...
//   }
// ```
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "svckit/auth/claims.hpp"
#include "svckit/auth/jws.hpp"
#include "svckit/auth/key.hpp"
#include "svckit/auth/key_source.hpp"
#include "svckit/core/context.hpp"
#include "svckit/core/task.hpp"

namespace svckit::auth {

// The reasons of refused tokens (Status::reason()); all UNAUTHENTICATED except kKeysUnavailable
// (UNAVAILABLE: no key set has been loaded yet, the verifier's trouble rather than the token's).
namespace reason {
inline constexpr std::string_view kMalformedToken = "MALFORMED_TOKEN";
inline constexpr std::string_view kTokenTooLarge = "TOKEN_TOO_LARGE";
inline constexpr std::string_view kAlgNotAllowed = "ALG_NOT_ALLOWED";
inline constexpr std::string_view kKeyAlgMismatch = "KEY_ALG_MISMATCH";
inline constexpr std::string_view kUnknownKid = "UNKNOWN_KID";
inline constexpr std::string_view kBadSignature = "BAD_SIGNATURE";
inline constexpr std::string_view kUnsupportedCrit = "UNSUPPORTED_CRIT";
inline constexpr std::string_view kWrongType = "WRONG_TYPE";
inline constexpr std::string_view kTokenExpired = "TOKEN_EXPIRED";
inline constexpr std::string_view kTokenNotYetValid = "TOKEN_NOT_YET_VALID";
inline constexpr std::string_view kTokenTooOld = "TOKEN_TOO_OLD";
inline constexpr std::string_view kWrongIssuer = "WRONG_ISSUER";
inline constexpr std::string_view kWrongAudience = "WRONG_AUDIENCE";
inline constexpr std::string_view kMissingClaim = "MISSING_CLAIM";
inline constexpr std::string_view kKeysUnavailable = "KEYS_UNAVAILABLE";
}  // namespace reason

struct VerifierOptions {
  // The algorithms a token may use. Each key is further bound to its own one algorithm.
  std::vector<Algorithm> algorithms{Algorithm::kEdDSA, Algorithm::kES256};
  // Expected `iss` exactly; empty: not checked.
  std::string issuer;
  // The token's `aud` must contain one of these. Empty: a token that names an audience is refused
  // (RFC 7519 §4.1.3: a recipient that does not find itself in `aud` must reject the token).
  std::vector<std::string> audiences;
  // Claims that must be present (checked for their types when registered).
  std::vector<std::string> required_claims{"exp"};
  // Clock skew allowed on exp, nbf, iat and max_age.
  std::chrono::seconds leeway{30};
  // Refuse tokens issued longer ago than this (needs iat); zero: no limit.
  std::chrono::seconds max_age{0};
  // Expected `typ` ("at+jwt"), compared as RFC 7515 §4.1.9 says (case-insensitive, "application/"
  // optional); empty: not checked.
  std::string typ;
  // Header extensions this caller understands: a `crit` naming any other is refused.
  std::vector<std::string> critical;
  std::size_t max_token_bytes = kDefaultMaxTokenBytes;
  // The time now (tests); empty: std::chrono::system_clock.
  std::function<std::chrono::system_clock::time_point()> clock;
};

class Verifier {
 public:
  // Programmer errors (std::invalid_argument): no key source, no algorithm.
  Verifier(std::shared_ptr<KeySource> keys, VerifierOptions options);

  // With the keys at hand, no I/O. A token naming an unknown kid fails with UNKNOWN_KID and asks the
  // source to refresh in the background (KeySource::refresh_later).
  Result<Claims> verify(std::string_view token) const;
  // As above, but an unknown kid first makes the source refresh (within its rate limit) and the
  // token is tried again with the new set. `token` must stay valid until the task completes.
  Task<Result<Claims>> verify(Context ctx, std::string_view token) const;
  // Verification against a given set, for tools and tests.
  Result<Claims> verify_with(const KeySet& keys, std::string_view token) const;

  const VerifierOptions& options() const noexcept { return options_; }
  const std::shared_ptr<KeySource>& source() const noexcept { return keys_; }

 private:
  // unknown_kid: set to the token's kid when the result is UNKNOWN_KID for a named kid.
  Result<Claims> check(std::string_view token, const KeySet* keys, std::string* unknown_kid) const;
  Status check_claims(const Claims& claims) const;
  std::shared_ptr<KeySource> keys_;
  VerifierOptions options_;
};

// The token of an `Authorization: Bearer <token>` value (HTTP header or gRPC metadata; the scheme
// is case-insensitive); empty for another scheme or no token.
std::string_view bearer_token(std::string_view authorization) noexcept;

}  // namespace svckit::auth
