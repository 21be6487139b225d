#pragma once
// Internal: the OpenSSL side of Key, shared by key.cpp (signatures, generation, PEM) and jwk.cpp
// (JWK import and export, thumbprints).
#include <openssl/bn.h>
#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>

#include "svckit/auth/key.hpp"

namespace svckit::auth {

namespace detail {

struct KeyData {
  EVP_PKEY* pkey = nullptr;
  KeyType type = KeyType::kOKP;
  bool has_private = false;
  int bits = 0;
  KeyData() = default;
  KeyData(const KeyData&) = delete;
  KeyData& operator=(const KeyData&) = delete;
  ~KeyData() { EVP_PKEY_free(pkey); }
};

struct BnFree {
  void operator()(BIGNUM* b) const noexcept { BN_clear_free(b); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;

// Takes ownership of pkey (also on error): the key's facts, or INVALID_ARGUMENT for a type, curve or
// size svckit does not accept.
Result<std::shared_ptr<const KeyData>> wrap(EVP_PKEY* pkey);
// The algorithm a key of this type is bound to when nothing says otherwise.
Algorithm default_algorithm(KeyType type) noexcept;
// Whether alg can be done with a key of this type.
bool compatible(KeyType type, Algorithm alg) noexcept;
// A big-number parameter of the key as big-endian bytes, left-padded to `width` (0: minimal).
std::string bn_param(const EVP_PKEY* pkey, const char* name, std::size_t width = 0);
std::string last_openssl_error();

}  // namespace detail

struct KeyAccess {
  static Key make(std::shared_ptr<const detail::KeyData> data, Algorithm alg, std::string kid) {
    return Key(std::move(data), alg, std::move(kid));
  }
  static const detail::KeyData& data(const Key& k) noexcept { return *k.data_; }
};

}  // namespace svckit::auth
