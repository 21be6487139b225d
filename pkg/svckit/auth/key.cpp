// Key generation, PEM, and JWS signatures with OpenSSL 3's EVP interface.
#include "svckit/auth/key.hpp"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "svckit/auth/detail/crypto.hpp"

namespace svckit::auth {

namespace detail {

std::string last_openssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "openssl error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

Algorithm default_algorithm(KeyType type) noexcept {
  switch (type) {
    case KeyType::kOKP:
      return Algorithm::kEdDSA;
    case KeyType::kEC:
      return Algorithm::kES256;
    case KeyType::kRSA:
      break;
  }
  return Algorithm::kRS256;
}

bool compatible(KeyType type, Algorithm alg) noexcept {
  switch (alg) {
    case Algorithm::kEdDSA:
      return type == KeyType::kOKP;
    case Algorithm::kES256:
      return type == KeyType::kEC;
    case Algorithm::kRS256:
    case Algorithm::kPS256:
      return type == KeyType::kRSA;
  }
  return false;
}

std::string bn_param(const EVP_PKEY* pkey, const char* name, std::size_t width) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1) return {};
  Bn bn(raw);
  std::size_t n = static_cast<std::size_t>(BN_num_bytes(bn.get()));
  std::string out(width > n ? width : n, '\0');
  BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
  return out;
}

Result<std::shared_ptr<const KeyData>> wrap(EVP_PKEY* pkey) {
  auto data = std::make_shared<KeyData>();
  data->pkey = pkey;
  if (!pkey) return make_error(Code::kInvalidArgument, "no key: " + last_openssl_error());
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_ED25519: {
      data->type = KeyType::kOKP;
      std::size_t len = 0;
      data->has_private = EVP_PKEY_get_raw_private_key(pkey, nullptr, &len) == 1 && len == 32;
      break;
    }
    case EVP_PKEY_EC: {
      char group[64] = {};
      std::size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) != 1 ||
          std::string_view(group) != "prime256v1")
        return make_error(Code::kInvalidArgument, "EC keys must be on P-256");
      data->type = KeyType::kEC;
      data->has_private = !bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY).empty();
      break;
    }
    case EVP_PKEY_RSA:
      data->type = KeyType::kRSA;
      data->has_private = !bn_param(pkey, OSSL_PKEY_PARAM_RSA_D).empty();
      break;
    default:
      ERR_clear_error();
      return make_error(Code::kInvalidArgument, "unsupported key type (Ed25519, P-256 and RSA are)");
  }
  ERR_clear_error();  // probing for private parts leaves errors behind
  data->bits = EVP_PKEY_get_bits(pkey);
  // 2048 bits: RFC 7518 §3.3's minimum; the top bound keeps a hostile JWKS from buying seconds of CPU
  // per verification.
  if (data->type == KeyType::kRSA && (data->bits < 2048 || data->bits > 16384))
    return make_error(Code::kInvalidArgument,
                      "RSA keys must have 2048 to 16384 bits, this one has " + std::to_string(data->bits));
  return std::shared_ptr<const KeyData>(std::move(data));
}

}  // namespace detail

namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const noexcept { ECDSA_SIG_free(s); }
};
struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};

// Fetched once: OpenSSL 3 looks up an implicitly fetched digest on every EVP_sha256() use.
const EVP_MD* sha256() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

// DigestSign/DigestVerify context for alg; PS256 adds PSS padding with a salt as long as the hash
// (RFC 7518 §3.5).
std::unique_ptr<EVP_MD_CTX, MdCtxFree> start(const detail::KeyData& k, Algorithm alg, bool signing) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) return nullptr;
  EVP_PKEY_CTX* pctx = nullptr;
  const EVP_MD* md = alg == Algorithm::kEdDSA ? nullptr : sha256();
  int ok = signing ? EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, k.pkey)
                   : EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, k.pkey);
  if (ok != 1) return nullptr;
  if (alg == Algorithm::kPS256 && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                                   EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
    return nullptr;
  return ctx;
}

}  // namespace

std::string_view algorithm_name(Algorithm alg) noexcept {
  switch (alg) {
    case Algorithm::kEdDSA:
      return "EdDSA";
    case Algorithm::kES256:
      return "ES256";
    case Algorithm::kRS256:
      return "RS256";
    case Algorithm::kPS256:
      return "PS256";
  }
  return "?";
}

std::optional<Algorithm> parse_algorithm(std::string_view name) noexcept {
  for (Algorithm a : {Algorithm::kEdDSA, Algorithm::kES256, Algorithm::kRS256, Algorithm::kPS256})
    if (algorithm_name(a) == name) return a;
  return std::nullopt;
}

std::string_view key_type_name(KeyType type) noexcept {
  switch (type) {
    case KeyType::kOKP:
      return "OKP";
    case KeyType::kEC:
      return "EC";
    case KeyType::kRSA:
      return "RSA";
  }
  return "?";
}

Result<Key> Key::generate(Algorithm alg, std::string kid, int rsa_bits) {
  EVP_PKEY* pkey = nullptr;
  switch (alg) {
    case Algorithm::kEdDSA:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
    case Algorithm::kES256:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case Algorithm::kRS256:
    case Algorithm::kPS256:
      if (rsa_bits < 2048 || rsa_bits > 16384)
        return make_error(Code::kInvalidArgument, "RSA keys must have 2048 to 16384 bits");
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(rsa_bits));
      break;
  }
  auto data = detail::wrap(pkey);
  if (!data) return std::unexpected(data.error());
  Key key(std::move(*data), alg, std::move(kid));
  if (key.kid_.empty()) key.kid_ = key.thumbprint();
  return key;
}

Result<Key> Key::from_pem(std::string_view pem, std::optional<Algorithm> alg, std::string kid) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return make_error(Code::kInternal, "BIO_new_mem_buf failed");
  EVP_PKEY* pkey = nullptr;
  if (pem.find("PRIVATE KEY-----") != std::string_view::npos)
    pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  else
    pkey = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  auto data = detail::wrap(pkey);
  if (!data) return std::unexpected(data.error());
  Algorithm a = alg.value_or(detail::default_algorithm((*data)->type));
  if (!detail::compatible((*data)->type, a))
    return make_error(Code::kInvalidArgument, std::string(algorithm_name(a)) + " cannot be done with a " +
                                                  std::string(key_type_name((*data)->type)) + " key");
  Key key(std::move(*data), a, std::move(kid));
  if (key.kid_.empty()) key.kid_ = key.thumbprint();
  return key;
}

Result<std::string> Key::to_pem(bool include_private) const {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio) return make_error(Code::kInternal, "BIO_new failed");
  int ok = include_private && has_private()
               ? PEM_write_bio_PrivateKey(bio.get(), data_->pkey, nullptr, nullptr, 0, nullptr, nullptr)
               : PEM_write_bio_PUBKEY(bio.get(), data_->pkey);
  if (ok != 1) return make_error(Code::kInternal, "PEM export failed: " + detail::last_openssl_error());
  char* p = nullptr;
  long n = BIO_get_mem_data(bio.get(), &p);
  return std::string(p, static_cast<std::size_t>(n));
}

Key Key::with_kid(std::string kid) const {
  return Key(data_, alg_, std::move(kid));
}

KeyType Key::type() const noexcept {
  return data_->type;
}
bool Key::has_private() const noexcept {
  return data_->has_private;
}
int Key::bits() const noexcept {
  return data_->bits;
}
void* Key::native_handle() const noexcept {
  return data_->pkey;
}

Result<std::string> Key::sign(std::string_view input) const {
  if (!has_private()) return make_error(Code::kFailedPrecondition, "the key " + kid_ + " has no private part");
  auto ctx = start(*data_, alg_, true);
  if (!ctx) return make_error(Code::kInternal, "signing setup failed: " + detail::last_openssl_error());
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  std::size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, in, input.size()) != 1)
    return make_error(Code::kInternal, "signing failed: " + detail::last_openssl_error());
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in, input.size()) != 1)
    return make_error(Code::kInternal, "signing failed: " + detail::last_openssl_error());
  sig.resize(len);
  if (alg_ != Algorithm::kES256) return sig;
  // OpenSSL writes an ASN.1 ECDSA-Sig-Value; JWS wants r and s as 32 big-endian bytes each.
  const auto* der = reinterpret_cast<const unsigned char*>(sig.data());
  std::unique_ptr<ECDSA_SIG, SigFree> es(d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(sig.size())));
  if (!es) return make_error(Code::kInternal, "bad ECDSA signature from OpenSSL");
  std::string raw(64, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  BN_bn2binpad(ECDSA_SIG_get0_r(es.get()), out, 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(es.get()), out + 32, 32);
  return raw;
}

bool Key::verify(std::string_view input, std::string_view signature) const noexcept {
  std::string der;
  if (alg_ == Algorithm::kES256) {
    if (signature.size() != 64) return false;
    const auto* p = reinterpret_cast<const unsigned char*>(signature.data());
    std::unique_ptr<ECDSA_SIG, SigFree> es(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(p, 32, nullptr);
    BIGNUM* s = BN_bin2bn(p + 32, 32, nullptr);
    if (!es || !r || !s || ECDSA_SIG_set0(es.get(), r, s) != 1) {
      BN_free(r);
      BN_free(s);
      return false;
    }
    int n = i2d_ECDSA_SIG(es.get(), nullptr);
    if (n <= 0) return false;
    der.resize(static_cast<std::size_t>(n));
    auto* out = reinterpret_cast<unsigned char*>(der.data());
    i2d_ECDSA_SIG(es.get(), &out);
    signature = der;
  } else if (alg_ == Algorithm::kEdDSA && signature.size() != 64) {
    return false;
  } else if ((alg_ == Algorithm::kRS256 || alg_ == Algorithm::kPS256) &&
             signature.size() != static_cast<std::size_t>((data_->bits + 7) / 8)) {
    return false;
  }
  auto ctx = start(*data_, alg_, false);
  bool ok =
      ctx && EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                              reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace svckit::auth
