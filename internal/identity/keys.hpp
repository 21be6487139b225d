#pragma once
// Identity's signing keys. Each key is stored in the database sealed (XChaCha20-Poly1305 with a
// 32-byte key read from a secret file; the kid is the associated data, so a sealed key cannot be
// moved to another row), with its public JWK beside it. The ring signs with the newest key whose
// activation time has come: a rotation (scheduled, or an admin's call) inserts a key that activates
// `publish_ahead` later, so every instance publishes it in its JWKS before any token carries its kid,
// and the key it replaces stays published until the last token it signed has expired
// (access token lifetime + leeway). Instances sharing a database converge by reloading the table.
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "svckit/auth/issuer.hpp"
#include "svckit/core/task.hpp"
#include "svckit/db/database.hpp"

namespace svckit::identity {

struct KeyRingOptions {
  auth::Algorithm algorithm = auth::Algorithm::kEdDSA;
  std::chrono::seconds rotate_every{std::chrono::hours(24 * 30)};  // 0: only by an admin's call
  std::chrono::seconds publish_ahead{60};                          // a new key is published this long before it signs
  std::chrono::seconds retire_after{900 + 60};  // an old key stays published this long after it stops signing
  auth::IssuerOptions issuer;                   // iss, aud, ttl, typ of the tokens
};

// Reads the sealing key: a file holding 32 bytes as 64 hexadecimal digits (whitespace ignored).
Result<std::string> read_sealing_key(const std::string& path);
// 64 hexadecimal digits of fresh random bytes: what a sealing key file holds.
std::string new_sealing_key_hex();

class KeyRing {
 public:
  KeyRing(std::shared_ptr<db::Database> db, std::string sealing_key, KeyRingOptions options);

  // Reads the table (creating the first key when there is none, or when the newest has expired) and
  // rotates when the schedule says so. Call at start and periodically: other instances' rotations
  // arrive this way.
  Task<Status> refresh(const Context& ctx);
  // Adds a key that activates publish_ahead from now and retires the current one when it does.
  // Returns the new kid.
  Task<Result<std::string>> rotate(const Context& ctx);

  // The issuer of the moment: signs with the active key, publishes every key not yet expired. Null
  // before the first successful refresh.
  std::shared_ptr<const auth::Issuer> issuer() const;
  std::string jwks() const;

 private:
  Task<Result<std::string>> insert_key(const Context& ctx, std::chrono::system_clock::time_point activates);
  Task<Status> load(const Context& ctx);

  std::shared_ptr<db::Database> db_;
  std::string sealing_key_;
  KeyRingOptions options_;
  mutable std::mutex mu_;
  std::shared_ptr<const auth::Issuer> issuer_;
  std::chrono::system_clock::time_point active_since_{};
};

}  // namespace svckit::identity
