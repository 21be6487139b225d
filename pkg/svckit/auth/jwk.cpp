// JWK import and export (RFC 7517, RFC 7518 §6, RFC 8037) and RFC 7638 thumbprints.
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>

#include <map>

#include "svckit/auth/base64url.hpp"
#include "svckit/auth/detail/crypto.hpp"
#include "svckit/auth/detail/json_object.hpp"
#include "svckit/auth/key.hpp"
#include "svckit/json/json.hpp"

namespace svckit::auth {

namespace {

using detail::Bn;

struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* b) const noexcept { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const noexcept { EVP_PKEY_CTX_free(c); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};

Status bad(std::string why) {
  return Status(Code::kInvalidArgument, "JWK: " + std::move(why));
}

// The string members a JWK may carry; others (key_ops, x5c...) are skipped.
using Members = std::map<std::string, std::string, std::less<>>;

// A member as bytes: a fixed width (EC coordinates, OKP keys), or a Base64urlUInt (RFC 7518 §2:
// the fewest octets, so no leading zero).
Result<std::string> bytes(const Members& m, std::string_view name, std::size_t width) {
  auto it = m.find(name);
  if (it == m.end()) return std::unexpected(bad("\"" + std::string(name) + "\" is missing"));
  auto raw = base64url_decode(it->second);
  if (!raw) return std::unexpected(bad("\"" + std::string(name) + "\": " + std::string(raw.error().message())));
  if (width != 0 && raw->size() != width)
    return std::unexpected(bad("\"" + std::string(name) + "\" must be " + std::to_string(width) + " bytes"));
  if (width == 0 && (raw->empty() || (raw->size() > 1 && (*raw)[0] == '\0')))
    return std::unexpected(bad("\"" + std::string(name) + "\" is not a minimal unsigned integer"));
  return raw;
}

Bn to_bn(const std::string& b) {
  return Bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(b.data()), static_cast<int>(b.size()), nullptr));
}

Result<EVP_PKEY*> from_params(const char* type, OSSL_PARAM_BLD* bld, bool priv) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
    return std::unexpected(bad("not a valid key: " + detail::last_openssl_error()));
  // A point off the curve, or a private part that is not the public one's, is refused here rather
  // than failing (or worse, leaking) at the first signature.
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  int ok = check ? (priv ? EVP_PKEY_pairwise_check(check.get()) : EVP_PKEY_public_check(check.get())) : 0;
  if (ok != 1) {
    EVP_PKEY_free(pkey);
    return std::unexpected(bad("the key does not check out: " + detail::last_openssl_error()));
  }
  return pkey;
}

Result<EVP_PKEY*> okp(const Members& m) {
  auto crv = m.find("crv");
  if (crv == m.end() || crv->second != "Ed25519") return std::unexpected(bad("OKP keys must have crv Ed25519"));
  auto x = bytes(m, "x", 32);
  if (!x) return std::unexpected(x.error());
  const auto* xp = reinterpret_cast<const unsigned char*>(x->data());
  if (!m.contains("d")) {
    EVP_PKEY* k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, xp, 32);
    if (!k) return std::unexpected(bad("not a valid Ed25519 key"));
    return k;
  }
  auto d = bytes(m, "d", 32);
  if (!d) return std::unexpected(d.error());
  EVP_PKEY* k =
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(d->data()), 32);
  OPENSSL_cleanse(d->data(), d->size());
  unsigned char pub[32];
  std::size_t len = sizeof pub;
  if (!k || EVP_PKEY_get_raw_public_key(k, pub, &len) != 1 || len != 32 || CRYPTO_memcmp(pub, xp, 32) != 0) {
    EVP_PKEY_free(k);
    return std::unexpected(bad("\"d\" is not the private key of \"x\""));
  }
  return k;
}

Result<EVP_PKEY*> ec(const Members& m) {
  auto crv = m.find("crv");
  if (crv == m.end() || crv->second != "P-256") return std::unexpected(bad("EC keys must have crv P-256"));
  auto x = bytes(m, "x", 32);
  if (!x) return std::unexpected(x.error());
  auto y = bytes(m, "y", 32);
  if (!y) return std::unexpected(y.error());
  std::string point = "\x04" + *x + *y;
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
  OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  Bn d;
  if (m.contains("d")) {
    auto raw = bytes(m, "d", 32);
    if (!raw) return std::unexpected(raw.error());
    d = to_bn(*raw);
    OPENSSL_cleanse(raw->data(), raw->size());
    OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get());
  }
  return from_params("EC", bld.get(), d != nullptr);
}

Result<EVP_PKEY*> rsa(const Members& m) {
  if (m.contains("oth")) return std::unexpected(bad("multi-prime RSA keys (\"oth\") are not supported"));
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  std::vector<Bn> keep;  // the builder refers to them until to_param
  auto push = [&](std::string_view jwk_name, const char* param) -> Status {
    auto raw = bytes(m, jwk_name, 0);
    if (!raw) return raw.error();
    keep.push_back(to_bn(*raw));
    OPENSSL_cleanse(raw->data(), raw->size());
    OSSL_PARAM_BLD_push_BN(bld.get(), param, keep.back().get());
    return {};
  };
  if (Status st = push("n", OSSL_PKEY_PARAM_RSA_N); !st.ok()) return std::unexpected(st);
  if (Status st = push("e", OSSL_PKEY_PARAM_RSA_E); !st.ok()) return std::unexpected(st);
  bool priv = m.contains("d");
  if (priv) {
    // The CRT parameters are required: every producer we know writes them, and with them OpenSSL
    // checks the pair and signs four times faster.
    static constexpr std::pair<const char*, const char*> kPrivate[] = {
        {"d", OSSL_PKEY_PARAM_RSA_D},          {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
        {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},    {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
        {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2}, {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1}};
    for (auto [jwk_name, param] : kPrivate)
      if (Status st = push(jwk_name, param); !st.ok()) return std::unexpected(st);
  }
  // Size limits first: a public check of a 100,000-bit modulus is itself the attack.
  if (BN_num_bits(keep[0].get()) > 16384 || BN_num_bits(keep[0].get()) < 2048)
    return std::unexpected(bad("RSA keys must have 2048 to 16384 bits"));
  return from_params("RSA", bld.get(), priv);
}

void put(json::Writer& w, std::string_view name, const std::string& bytes) {
  w.key(name).string(base64url_encode(bytes));
}

std::string minimal(std::string b) {
  std::size_t i = 0;
  while (i + 1 < b.size() && b[i] == '\0') ++i;
  return b.substr(i);
}

std::string raw_public(const detail::KeyData& k) {
  std::string out(32, '\0');
  std::size_t len = out.size();
  EVP_PKEY_get_raw_public_key(k.pkey, reinterpret_cast<unsigned char*>(out.data()), &len);
  return out;
}

// x and y of an EC public key, each 32 bytes.
std::pair<std::string, std::string> ec_point(const detail::KeyData& k) {
  return {detail::bn_param(k.pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32),
          detail::bn_param(k.pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32)};
}

}  // namespace

Result<Key> Key::from_jwk(std::string_view text) {
  json::Reader r(text, json::ReaderOptions{.max_depth = 8});
  Members m;
  Status st = detail::read_members(r, "JWK", 64, [&](const std::string& name, json::Reader& rd) -> std::string {
    static constexpr std::string_view kStrings[] = {"kty", "crv", "x",  "y",  "d",   "n",   "e",   "p",
                                                    "q",   "dp",  "dq", "qi", "kid", "alg", "use", "oth"};
    for (auto s : kStrings)
      if (s == name) {
        if (name == "oth") return "multi-prime RSA keys (\"oth\") are not supported";
        return detail::read_string_member(rd, name, m[name]);
      }
    rd.skip();
    return {};
  });
  if (!st.ok()) return std::unexpected(st);
  auto kty = m.find("kty");
  if (kty == m.end()) return std::unexpected(bad("\"kty\" is missing"));
  if (auto use = m.find("use"); use != m.end() && use->second != "sig")
    return std::unexpected(bad("\"use\" is \"" + use->second + "\", not \"sig\""));
  Result<EVP_PKEY*> pkey = kty->second == "OKP"  ? okp(m)
                           : kty->second == "EC" ? ec(m)
                           : kty->second == "RSA"
                               ? rsa(m)
                               : std::unexpected(bad("unsupported kty \"" + kty->second + "\" (OKP, EC, RSA are)"));
  for (auto name : {"d", "p", "q", "dp", "dq", "qi"})
    if (auto it = m.find(name); it != m.end()) OPENSSL_cleanse(it->second.data(), it->second.size());
  if (!pkey) return std::unexpected(pkey.error());
  auto data = detail::wrap(*pkey);
  if (!data) return std::unexpected(data.error());
  Algorithm alg = detail::default_algorithm((*data)->type);
  if (auto a = m.find("alg"); a != m.end()) {
    auto parsed = parse_algorithm(a->second);
    if (!parsed || !detail::compatible((*data)->type, *parsed))
      return std::unexpected(bad("\"alg\" " + a->second + " is not one svckit does with a " + kty->second + " key"));
    alg = *parsed;
  }
  std::string kid = m.contains("kid") ? m["kid"] : std::string();
  Key key = KeyAccess::make(std::move(*data), alg, std::move(kid));
  if (key.kid().empty()) key = key.with_kid(key.thumbprint());
  return key;
}

std::string Key::to_jwk(bool include_private) const {
  const detail::KeyData& k = *data_;
  bool priv = include_private && k.has_private;
  std::string out;
  json::Writer w(out);
  w.begin_object();
  w.key("kty").string(key_type_name(k.type));
  switch (k.type) {
    case KeyType::kOKP: {
      w.key("crv").string("Ed25519");
      put(w, "x", raw_public(k));
      if (priv) {
        std::string d(32, '\0');
        std::size_t len = d.size();
        EVP_PKEY_get_raw_private_key(k.pkey, reinterpret_cast<unsigned char*>(d.data()), &len);
        put(w, "d", d);
        OPENSSL_cleanse(d.data(), d.size());
      }
      break;
    }
    case KeyType::kEC: {
      auto [x, y] = ec_point(k);
      w.key("crv").string("P-256");
      put(w, "x", x);
      put(w, "y", y);
      if (priv) put(w, "d", detail::bn_param(k.pkey, OSSL_PKEY_PARAM_PRIV_KEY, 32));
      break;
    }
    case KeyType::kRSA:
      put(w, "n", detail::bn_param(k.pkey, OSSL_PKEY_PARAM_RSA_N));
      put(w, "e", detail::bn_param(k.pkey, OSSL_PKEY_PARAM_RSA_E));
      if (priv) {
        static constexpr std::pair<const char*, const char*> kPrivate[] = {
            {"d", OSSL_PKEY_PARAM_RSA_D},          {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
            {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},    {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
            {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2}, {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1}};
        for (auto [name, param] : kPrivate) put(w, name, minimal(detail::bn_param(k.pkey, param)));
      }
      break;
  }
  if (!kid_.empty()) w.key("kid").string(kid_);
  w.key("alg").string(algorithm_name(alg_));
  w.key("use").string("sig");
  w.end_object();
  return out;
}

std::string Key::thumbprint() const {
  const detail::KeyData& k = *data_;
  // RFC 7638 §3.2: the required members only, lexicographic order, no whitespace.
  std::string canonical;
  switch (k.type) {
    case KeyType::kOKP:
      canonical = R"({"crv":"Ed25519","kty":"OKP","x":")" + base64url_encode(raw_public(k)) + "\"}";
      break;
    case KeyType::kEC: {
      auto [x, y] = ec_point(k);
      canonical =
          R"({"crv":"P-256","kty":"EC","x":")" + base64url_encode(x) + R"(","y":")" + base64url_encode(y) + "\"}";
      break;
    }
    case KeyType::kRSA:
      canonical = R"({"e":")" + base64url_encode(detail::bn_param(k.pkey, OSSL_PKEY_PARAM_RSA_E)) +
                  R"(","kty":"RSA","n":")" + base64url_encode(detail::bn_param(k.pkey, OSSL_PKEY_PARAM_RSA_N)) + "\"}";
      break;
  }
  unsigned char digest[32];
  unsigned int len = 0;
  EVP_Digest(canonical.data(), canonical.size(), digest, &len, EVP_sha256(), nullptr);
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(digest), len));
}

Key Key::public_key() const {
  if (!data_->has_private) return *this;
  EVP_PKEY* pub = nullptr;
  if (data_->type == KeyType::kOKP) {
    std::string x = raw_public(*data_);
    pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(x.data()), 32);
  } else {
    OSSL_PARAM* params = nullptr;
    if (EVP_PKEY_todata(data_->pkey, EVP_PKEY_PUBLIC_KEY, &params) == 1) {
      std::unique_ptr<OSSL_PARAM, ParamFree> owned(params);
      std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
          EVP_PKEY_CTX_new_from_name(nullptr, data_->type == KeyType::kEC ? "EC" : "RSA", nullptr));
      if (ctx && EVP_PKEY_fromdata_init(ctx.get()) == 1)
        EVP_PKEY_fromdata(ctx.get(), &pub, EVP_PKEY_PUBLIC_KEY, owned.get());
    }
  }
  auto data = detail::wrap(pub);
  // Exporting the public half of a key OpenSSL accepted cannot fail short of running out of memory.
  if (!data) throw std::runtime_error("auth::Key::public_key: " + std::string(data.error().message()));
  return KeyAccess::make(std::move(*data), alg_, kid_);
}

}  // namespace svckit::auth
