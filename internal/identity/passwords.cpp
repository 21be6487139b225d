#include "passwords.hpp"

#include <sodium.h>

#include <fstream>
#include <stdexcept>

namespace svckit::identity {

bool init_sodium() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

PasswordHasher::PasswordHasher(Argon2Params params) : params_(params) {
  if (!init_sodium()) throw std::runtime_error("libsodium cannot start");
  if (params_.ops < crypto_pwhash_OPSLIMIT_MIN || params_.memory < crypto_pwhash_MEMLIMIT_MIN)
    throw std::invalid_argument("argon2id parameters below libsodium's minimum");
  unsigned char random[32];
  randombytes_buf(random, sizeof random);
  auto decoy = hash(std::string_view(reinterpret_cast<const char*>(random), sizeof random));
  if (!decoy) throw std::runtime_error("argon2id: " + std::string(decoy.error().message()));
  decoy_ = std::move(*decoy);
}

Result<std::string> PasswordHasher::hash(std::string_view password) const {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), params_.ops, static_cast<size_t>(params_.memory),
                            crypto_pwhash_ALG_ARGON2ID13) != 0)
    return make_error(Status(Code::kResourceExhausted, "HASH_FAILED", "argon2id could not allocate its memory"));
  return std::string(out);
}

bool PasswordHasher::verify(std::string_view hash, std::string_view password) const {
  if (hash.size() >= crypto_pwhash_STRBYTES || !hash.starts_with("$argon2id$")) return false;
  char buf[crypto_pwhash_STRBYTES] = {};
  hash.copy(buf, hash.size());
  return crypto_pwhash_str_verify(buf, password.data(), password.size()) == 0;
}

bool PasswordHasher::needs_rehash(std::string_view hash) const {
  if (hash.size() >= crypto_pwhash_STRBYTES) return true;
  char buf[crypto_pwhash_STRBYTES] = {};
  hash.copy(buf, hash.size());
  return crypto_pwhash_str_needs_rehash(buf, params_.ops, static_cast<size_t>(params_.memory)) != 0;
}

namespace {

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

Status weak(std::string why) {
  return Status(Code::kInvalidArgument, "WEAK_PASSWORD", std::move(why)).with_metadata("password", "weak");
}

}  // namespace

Result<PasswordPolicy> PasswordPolicy::load(PolicySettings settings, const std::string& common_file) {
  std::unordered_set<std::string> common;
  if (!common_file.empty()) {
    std::ifstream in(common_file);
    if (!in) return make_error(Status(Code::kInvalidArgument, "cannot read the common passwords list " + common_file));
    std::string line;
    while (std::getline(in, line)) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (line.empty() || line.front() == '#') continue;
      common.insert(lower_ascii(line));
    }
  }
  return PasswordPolicy(settings, std::move(common));
}

Status PasswordPolicy::check(std::string_view password, std::string_view email) const {
  std::size_t n = code_points(password);
  if (n < settings_.min_length)
    return weak("a password has at least " + std::to_string(settings_.min_length) + " characters");
  if (n > settings_.max_length)
    return weak("a password has at most " + std::to_string(settings_.max_length) + " characters");
  std::string lowered = lower_ascii(password);
  if (common_->contains(lowered)) return weak("this password is on the list of commonly used passwords");
  std::string local = lower_ascii(email.substr(0, email.find('@')));
  if (!local.empty() && lowered.find(local) != std::string::npos && local.size() * 2 >= lowered.size())
    return weak("a password must not be mostly the email address");
  return Status();
}

}  // namespace svckit::identity
