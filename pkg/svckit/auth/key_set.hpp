#pragma once
// Keys by kid: what a verifier looks a token's key up in, what a JWKS document (RFC 7517 §5) reads
// into and is written from, and what an issuer holds while it rotates (the current key and the
// previous ones, published together until tokens signed with the old one have expired).
//
// ```cpp
//   Result<std::string> publish(const auth::Key& current, const auth::Key& previous) {
//     auth::KeySet keys;
//     if (Status st = keys.add(current); !st.ok()) return std::unexpected(st);
//     if (Status st = keys.add(previous); !st.ok()) return std::unexpected(st);
//     return keys.to_jwks();          // {"keys":[...]}: public parts only, whatever the keys hold
//   }
// ```
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "svckit/auth/key.hpp"
#include "svckit/core/status.hpp"

namespace svckit::auth {

class KeySet {
 public:
  KeySet() = default;

  // A JWKS document. Keys svckit cannot use (other kty or curves, "use":"enc", an unknown alg,
  // RSA under 2048 bits) are left out rather than failing the set, as RFC 7517 §5 asks; `skipped`
  // gets one line per key left out. Malformed JSON, a "keys" member that is not an array, a
  // duplicate kid or more than max_keys keys fail it (INVALID_ARGUMENT).
  static Result<KeySet> from_jwks(std::string_view json, std::vector<std::string>* skipped = nullptr,
                                  std::size_t max_keys = 100);

  // Adds a key; INVALID_ARGUMENT when another key has its kid (or it has none).
  Status add(Key key);
  // The key with this kid, or null.
  const Key* find(std::string_view kid) const noexcept;
  std::span<const Key> keys() const noexcept { return keys_; }
  std::size_t size() const noexcept { return keys_.size(); }
  bool empty() const noexcept { return keys_.empty(); }

  // {"keys":[...]} with each key's public JWK: what /.well-known/jwks.json serves.
  std::string to_jwks() const;
  // The same keys without their private parts.
  KeySet public_set() const;

 private:
  std::vector<Key> keys_;
};

}  // namespace svckit::auth
