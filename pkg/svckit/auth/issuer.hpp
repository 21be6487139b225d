#pragma once
// What an identity service needs to hand out access tokens: a KeySet holding its signing keys by
// kid (the current one and those still published for tokens in flight), the kid it signs with now,
// and the claims every token gets (iss, aud, iat, exp = iat + ttl, a random jti). Rotation is a new
// Issuer: generate a key, publish it in the JWKS first (verifiers refresh on the unknown kid anyway),
// switch active_kid to it, and drop the old key from the set once its last token has expired.
//
// ```cpp
//   Result<auth::Issuer> make_issuer() {
//     auto key = auth::Key::generate(auth::Algorithm::kEdDSA);
//     if (!key) return std::unexpected(key.error());
//     auth::KeySet keys;
//     if (Status st = keys.add(*key); !st.ok()) return std::unexpected(st);
//     return auth::Issuer::create(std::move(keys), key->kid(),
//                                 {.issuer = "https://id.example", .audience = {"orders"}, .ttl = 15min});
//   }
//   Result<std::string> login(const auth::Issuer& issuer) {
//     auth::Claims claims;
//     claims.set_subject("user-42").set("roles", std::vector<std::string>{"admin"});
//     return issuer.issue(std::move(claims));          // and issuer.jwks() for /.well-known/jwks.json
//   }
// ```
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "svckit/auth/claims.hpp"
#include "svckit/auth/jws.hpp"
#include "svckit/auth/key_set.hpp"

namespace svckit::auth {

struct IssuerOptions {
  std::string issuer;                 // iss
  std::vector<std::string> audience;  // aud (one item is written as a string)
  std::chrono::seconds ttl{900};      // exp = iat + ttl
  std::string typ = "at+jwt";         // the header's typ (RFC 9068 access tokens)
  // The time now (tests); empty: std::chrono::system_clock.
  std::function<std::chrono::system_clock::time_point()> clock;
};

class Issuer {
 public:
  // keys.find(active_kid) must hold a private part (INVALID_ARGUMENT otherwise).
  static Result<Issuer> create(KeySet keys, std::string active_kid, IssuerOptions options);

  // A signed token of `claims` plus iss, aud, iat, exp and jti, each unless the claims set it.
  Result<std::string> issue(Claims claims) const;

  const KeySet& keys() const noexcept { return keys_; }
  const Key& active() const noexcept { return *keys_.find(active_kid_); }
  // The public JWKS of every key in the set: what /.well-known/jwks.json serves.
  std::string jwks() const { return keys_.to_jwks(); }
  const IssuerOptions& options() const noexcept { return options_; }

 private:
  Issuer(KeySet keys, std::string active_kid, IssuerOptions options)
      : keys_(std::move(keys)), active_kid_(std::move(active_kid)), options_(std::move(options)) {}
  KeySet keys_;
  std::string active_kid_;
  IssuerOptions options_;
};

// 128 random bits from OpenSSL's CSPRNG, base64url: a jti, a nonce.
std::string random_id();

}  // namespace svckit::auth
