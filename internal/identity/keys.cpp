#include "keys.hpp"

#include <sodium.h>

#include <fstream>
#include <sstream>

#include "passwords.hpp"
#include "svckit/auth/base64url.hpp"

namespace svckit::identity {

namespace {

using Clock = std::chrono::system_clock;

struct KeyRow {
  std::string kid;
  std::string alg;
  std::string sealed;
  std::string public_jwk;
  db::Timestamp activates_at;
  static void row_schema(db::RowSchema<KeyRow>& s) {
    s.field("kid", &KeyRow::kid);
    s.field("alg", &KeyRow::alg);
    s.field("sealed", &KeyRow::sealed);
    s.field("public_jwk", &KeyRow::public_jwk);
    s.field("activates_at", &KeyRow::activates_at);
  }
};

db::Timestamp to_ts(Clock::time_point t) {
  return std::chrono::time_point_cast<std::chrono::microseconds>(t);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> seal(const std::string& key, std::string_view kid, std::string_view plain) {
  std::string out(
      crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + plain.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &written,
                                             reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
                                             reinterpret_cast<const unsigned char*>(kid.data()), kid.size(), nullptr,
                                             nonce, reinterpret_cast<const unsigned char*>(key.data()));
  out.resize(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + written);
  return auth::base64url_encode(out);
}

Result<std::string> unseal(const std::string& key, std::string_view kid, std::string_view sealed) {
  auto raw = auth::base64url_decode(sealed);
  constexpr std::size_t kOverhead =
      crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES;
  if (!raw || raw->size() < kOverhead)
    return make_error(
        Status(Code::kDataLoss, "KEY_UNREADABLE", "signing key " + std::string(kid) + " is not sealed data"));
  const auto* nonce = reinterpret_cast<const unsigned char*>(raw->data());
  std::string plain(raw->size() - kOverhead, '\0');
  unsigned long long n = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(plain.data()), &n, nullptr,
                                                 nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                                                 raw->size() - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                                                 reinterpret_cast<const unsigned char*>(kid.data()), kid.size(), nonce,
                                                 reinterpret_cast<const unsigned char*>(key.data())) != 0)
    return make_error(
        Status(Code::kDataLoss, "KEY_UNREADABLE",
               "signing key " + std::string(kid) + " does not open with the sealing key (wrong key file?)"));
  plain.resize(n);
  return plain;
}

}  // namespace

Result<std::string> read_sealing_key(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(Status(Code::kInvalidArgument, "cannot read the sealing key file " + path));
  std::stringstream text;
  text << in.rdbuf();
  std::string hex;
  for (char c : text.str())
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') hex.push_back(c);
  if (hex.size() != 2 * crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
    return make_error(Status(Code::kInvalidArgument, path + ": a sealing key is 64 hexadecimal digits (32 bytes)"));
  std::string key(crypto_aead_xchacha20poly1305_ietf_KEYBYTES, '\0');
  for (std::size_t i = 0; i < key.size(); ++i) {
    int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return make_error(Status(Code::kInvalidArgument, path + ": not hexadecimal"));
    key[i] = static_cast<char>(hi * 16 + lo);
  }
  return key;
}

std::string new_sealing_key_hex() {
  init_sodium();
  unsigned char key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
  crypto_aead_xchacha20poly1305_ietf_keygen(key);
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : key) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  sodium_memzero(key, sizeof key);
  return out;
}

KeyRing::KeyRing(std::shared_ptr<db::Database> db, std::string sealing_key, KeyRingOptions options)
    : db_(std::move(db)), sealing_key_(std::move(sealing_key)), options_(std::move(options)) {
  if (!init_sodium()) throw std::runtime_error("libsodium cannot start");
  if (sealing_key_.size() != crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
    throw std::invalid_argument("KeyRing: the sealing key is 32 bytes");
}

Task<Result<std::string>> KeyRing::insert_key(const Context& ctx, Clock::time_point activates) {
  auto key = auth::Key::generate(options_.algorithm);
  if (!key) co_return std::unexpected(key.error());
  auto sealed = seal(sealing_key_, key->kid(), key->to_jwk(true));
  if (!sealed) co_return std::unexpected(sealed.error());
  db::Params args{key->kid(),       std::string(auth::algorithm_name(key->algorithm())),
                  *sealed,          key->public_key().to_jwk(),
                  to_ts(activates), to_ts(Clock::now())};
  auto n = co_await db_->exec(ctx,
                              "INSERT INTO signing_keys (kid, alg, sealed, public_jwk, activates_at, created_at) "
                              "VALUES ($1, $2, $3, $4, $5, $6)",
                              std::move(args));
  if (!n) co_return std::unexpected(n.error());
  co_return key->kid();
}

Task<Status> KeyRing::load(const Context& ctx) {
  auto rows = co_await db_->query_as<KeyRow>(
      ctx, "SELECT kid, alg, sealed, public_jwk, activates_at FROM signing_keys ORDER BY activates_at, kid");
  if (!rows) co_return rows.error();
  const auto now = Clock::now();
  // The active key: the newest that has activated. A key stays published until the key after it
  // has been active for retire_after; keys still to activate are published already.
  int active = -1;
  for (std::size_t i = 0; i < rows->size(); ++i)
    if ((*rows)[i].activates_at <= now) active = static_cast<int>(i);
  if (active < 0) co_return Status(Code::kNotFound, "no active signing key");
  auth::KeySet set;
  for (std::size_t i = 0; i < rows->size(); ++i) {
    const KeyRow& row = (*rows)[i];
    if (i + 1 < rows->size() && (*rows)[i + 1].activates_at <= now &&
        (*rows)[i + 1].activates_at + options_.retire_after < now)
      continue;  // retired long enough: every token it signed has expired
    Result<auth::Key> key = std::unexpected(Status());
    if (static_cast<int>(i) == active) {
      auto jwk = unseal(sealing_key_, row.kid, row.sealed);
      if (!jwk) co_return jwk.error();
      key = auth::Key::from_jwk(*jwk);
      sodium_memzero(jwk->data(), jwk->size());
    } else {
      key = auth::Key::from_jwk(row.public_jwk);
    }
    if (!key) co_return Status(Code::kDataLoss, "signing key " + row.kid + ": " + std::string(key.error().message()));
    if (Status st = set.add(key->with_kid(row.kid)); !st.ok()) co_return st;
  }
  auto issuer = auth::Issuer::create(std::move(set), (*rows)[static_cast<std::size_t>(active)].kid, options_.issuer);
  if (!issuer) co_return issuer.error();
  std::lock_guard lock(mu_);
  issuer_ = std::make_shared<const auth::Issuer>(std::move(*issuer));
  active_since_ = (*rows)[static_cast<std::size_t>(active)].activates_at;
  co_return Status();
}

Task<Status> KeyRing::refresh(const Context& ctx) {
  Status st = co_await load(ctx);
  if (st.code() == Code::kNotFound) {  // the first start, or every key lies in the future
    auto made = co_await insert_key(ctx, Clock::now());
    if (!made) co_return made.error();
    st = co_await load(ctx);
  }
  if (!st.ok()) co_return st;
  if (options_.rotate_every.count() > 0) {
    auto newest = co_await db_->query_one_as<db::Timestamp>(ctx, "SELECT MAX(activates_at) FROM signing_keys");
    if (newest && *newest + options_.rotate_every <= Clock::now()) {
      auto kid = co_await rotate(ctx);
      if (!kid) co_return kid.error();
    }
  }
  co_return Status();
}

Task<Result<std::string>> KeyRing::rotate(const Context& ctx) {
  auto kid = co_await insert_key(ctx, Clock::now() + options_.publish_ahead);
  if (!kid) co_return kid;
  if (Status st = co_await load(ctx); !st.ok()) co_return std::unexpected(st);
  co_return kid;
}

std::shared_ptr<const auth::Issuer> KeyRing::issuer() const {
  std::lock_guard lock(mu_);
  return issuer_;
}

std::string KeyRing::jwks() const {
  auto issuer = this->issuer();
  return issuer ? issuer->jwks() : std::string(R"({"keys":[]})");
}

}  // namespace svckit::identity
