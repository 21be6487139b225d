#pragma once
// The licence service's signing keys: one Ed25519 key that signs new licences, kept in a file as a
// private JWK (license.signing_key_file, mode 0600, generated on first start when missing), and the
// public keys of earlier signing keys (license.verification_keys_file, a JWKS) so that licences they
// signed still verify. Rotation: append the current key's public JWK (GET /v1/licenses/keys shows
// it) to the verification keys file, remove the signing key file, restart.
#include <string>
#include <string_view>

#include "svckit/auth/key.hpp"
#include "svckit/auth/key_set.hpp"

namespace svckit::license {

class KeyRing {
 public:
  // Reads (or creates) the signing key and reads the verification keys. A signing key file readable
  // by group or others, not an Ed25519 private key, or a kid that a verification key also has is
  // FAILED_PRECONDITION / INVALID_ARGUMENT: the service refuses to start.
  static Result<KeyRing> open(const std::string& signing_key_file, const std::string& verification_keys_file = {});
  // A ring of given keys (tests, benchmarks): `signing` must hold its private part.
  static Result<KeyRing> of(auth::Key signing, const auth::KeySet& retired = {});

  const auth::Key& signing() const noexcept { return signing_; }
  Result<std::string> sign(std::string_view canonical) const { return signing_.sign(canonical); }

  enum class Check { kValid, kUnknownKid, kBadSignature };
  Check verify(std::string_view kid, std::string_view canonical, std::string_view signature) const noexcept;

  // {"keys":[...]}: the public JWK of the signing key, then the verification keys.
  std::string jwks() const { return keys_.to_jwks(); }
  bool generated() const noexcept { return generated_; }  // open() made a new signing key file

 private:
  explicit KeyRing(auth::Key signing) : signing_(std::move(signing)) {}
  auth::Key signing_;
  auth::KeySet keys_;  // public: the signing key and the retired ones
  bool generated_ = false;
};

}  // namespace svckit::license
