#pragma once
// JWS compact serialization (RFC 7515 §7.1): BASE64URL(header) "." BASE64URL(payload) "."
// BASE64URL(signature). parse_jws() checks the form only (strict base64url, a JSON header with unique
// members, `alg` present, `crit` well formed, size limits) and verifies nothing: Verifier does that.
// sign_jws()/sign_jwt() write tokens with a key's own algorithm and kid.
//
// ```cpp
//   Result<std::string> token(const auth::Key& key) {
//     auth::Claims claims;
//     claims.set_subject("user-42").set_expires_at(
//         std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) + 15min);
//     return auth::sign_jwt(key, claims, {.typ = "at+jwt"});
//   }
// ```
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "svckit/auth/claims.hpp"
#include "svckit/auth/key.hpp"
#include "svckit/core/status.hpp"

namespace svckit::auth {

struct JwsHeader {
  std::string alg;  // as written: the verifier decides whether it is allowed
  std::string kid;
  std::string typ;
  std::string cty;
  std::vector<std::string> crit;
  // Every other member: {name, JSON text} (extensions a `crit` may name).
  std::vector<std::pair<std::string, std::string>> extra;
};

struct Jws {
  JwsHeader header;
  std::string payload;             // decoded
  std::string_view signing_input;  // "header.payload" as in the token: valid while the token is
  std::string signature;           // decoded
};

inline constexpr std::size_t kDefaultMaxTokenBytes = 8192;

// UNAUTHENTICATED with reason TOKEN_TOO_LARGE (over max_bytes) or MALFORMED_TOKEN (and what is wrong).
Result<Jws> parse_jws(std::string_view compact, std::size_t max_bytes = kDefaultMaxTokenBytes);

struct SignOptions {
  std::string typ = "JWT";  // "" leaves it out; an access token says "at+jwt" (RFC 9068)
  bool include_kid = true;
  std::string cty;  // "" leaves it out
  // Extension members for the header ({name, JSON text}) and the names of those a verifier must
  // understand (crit).
  std::vector<std::pair<std::string, std::string>> extra;
  std::vector<std::string> crit;
};

// A compact JWS of `payload` signed with `key` (which must hold a private part), alg = key.algorithm().
Result<std::string> sign_jws(const Key& key, std::string_view payload, const SignOptions& options = {});
inline Result<std::string> sign_jwt(const Key& key, const Claims& claims, const SignOptions& options = {}) {
  return sign_jws(key, claims.to_json(), options);
}

}  // namespace svckit::auth
