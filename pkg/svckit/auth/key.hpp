#pragma once
// A signing or verification key for JWS: Ed25519 (EdDSA), P-256 (ES256) or RSA of 2048 bits or more
// (RS256, PS256), on OpenSSL 3. A Key is bound to exactly one algorithm (RFC 8725 §3.1): the JWK's
// `alg` when it has one, else its type's only algorithm (OKP → EdDSA, EC P-256 → ES256, RSA → RS256),
// and a verifier refuses a token whose header names another. Keys are immutable values, cheap to copy
// (the key material is shared) and safe to use from many threads at once.
//
// ```cpp
//   Result<std::string> new_signing_key() {
//     auto key = auth::Key::generate(auth::Algorithm::kEdDSA);   // kid: its RFC 7638 thumbprint
//     if (!key) return std::unexpected(key.error());
//     std::string public_jwk = key->public_key().to_jwk();       // {"kty":"OKP","crv":"Ed25519",...}
//     return key->to_jwk(/*include_private=*/true);             // keep it secret
//   }
// ```
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "svckit/core/status.hpp"

namespace svckit::auth {

// The JWS algorithms svckit signs and verifies. `none` and the HMAC family are deliberately absent:
// a verifier can never be talked into them.
enum class Algorithm : std::uint8_t { kEdDSA, kES256, kRS256, kPS256 };
std::string_view algorithm_name(Algorithm alg) noexcept;
// nullopt for every other name ("none", "HS256", "ES384", "eddsa"...): names are case-sensitive.
std::optional<Algorithm> parse_algorithm(std::string_view name) noexcept;

enum class KeyType : std::uint8_t { kOKP, kEC, kRSA };
std::string_view key_type_name(KeyType type) noexcept;  // "OKP", "EC", "RSA"

namespace detail {
struct KeyData;
}

class Key {
 public:
  // A fresh key for `alg` (RSA keys have rsa_bits, at least 2048). kid: the RFC 7638 thumbprint
  // unless one is given.
  static Result<Key> generate(Algorithm alg, std::string kid = {}, int rsa_bits = 2048);
  // A JWK (RFC 7517/7518/8037), public or private: kty OKP (crv Ed25519), EC (crv P-256) or RSA.
  // Refused: other types and curves, an `alg` the key cannot do, malformed or non-canonical members,
  // EC points off the curve, RSA moduli under 2048 or over 16384 bits, `use` other than "sig".
  static Result<Key> from_jwk(std::string_view json);
  // A PEM public key (SubjectPublicKeyInfo) or private key (PKCS#8 or traditional). alg: needed to
  // bind an RSA key to PS256; otherwise the type's algorithm.
  static Result<Key> from_pem(std::string_view pem, std::optional<Algorithm> alg = std::nullopt, std::string kid = {});

  // The JWK with kty, the key's members, kid, alg and "use":"sig"; the private members only when
  // asked for (and held).
  std::string to_jwk(bool include_private = false) const;
  Result<std::string> to_pem(bool include_private = false) const;
  // The public half (itself when it holds no private key).
  Key public_key() const;
  // RFC 7638: base64url(SHA-256 of the required members in lexicographic order).
  std::string thumbprint() const;
  Key with_kid(std::string kid) const;

  const std::string& kid() const noexcept { return kid_; }
  Algorithm algorithm() const noexcept { return alg_; }
  KeyType type() const noexcept;
  bool has_private() const noexcept;
  int bits() const noexcept;

  // JWS signature of `signing_input` with algorithm(): raw r||s for ES256 (RFC 7518 §3.4), not DER.
  // FAILED_PRECONDITION without a private key.
  Result<std::string> sign(std::string_view signing_input) const;
  bool verify(std::string_view signing_input, std::string_view signature) const noexcept;

  // The OpenSSL EVP_PKEY* (for code that needs more than JWS); owned by the key.
  void* native_handle() const noexcept;

 private:
  Key(std::shared_ptr<const detail::KeyData> data, Algorithm alg, std::string kid)
      : data_(std::move(data)), kid_(std::move(kid)), alg_(alg) {}
  friend struct KeyAccess;
  std::shared_ptr<const detail::KeyData> data_;
  std::string kid_;
  Algorithm alg_ = Algorithm::kEdDSA;
};

}  // namespace svckit::auth
