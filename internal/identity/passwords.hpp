#pragma once
// Passwords: argon2id hashes (libsodium's crypto_pwhash_str, the PHC string format with its own salt
// and parameters), verification in constant time, a rehash signal when the configured parameters
// changed, and the policy a new password must meet (length, not a commonly used one). Hashing is
// deliberately slow and memory-hard: callers run it off the event loops (run_blocking).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>

#include "svckit/core/status.hpp"

namespace svckit::identity {

struct Argon2Params {
  std::uint64_t ops = 2;            // passes over memory (crypto_pwhash_OPSLIMIT_INTERACTIVE)
  std::uint64_t memory = 64 << 20;  // bytes (crypto_pwhash_MEMLIMIT_INTERACTIVE)
};

class PasswordHasher {
 public:
  explicit PasswordHasher(Argon2Params params);
  Result<std::string> hash(std::string_view password) const;
  // False for a wrong password and for a string that is not an argon2id hash.
  bool verify(std::string_view hash, std::string_view password) const;
  // The hash was made with other parameters than the configured ones (or another algorithm).
  bool needs_rehash(std::string_view hash) const;
  // A hash of a random password with the configured parameters: verifying against it costs what a
  // real verification costs, so an unknown account answers in the same time as a wrong password.
  const std::string& decoy() const noexcept { return decoy_; }
  const Argon2Params& params() const noexcept { return params_; }

 private:
  Argon2Params params_;
  std::string decoy_;
};

struct PolicySettings {
  std::size_t min_length = 10;   // characters (UTF-8 code points)
  std::size_t max_length = 128;  // argon2 takes any length; this bounds the work per attempt
};

class PasswordPolicy {
 public:
  // common: one password per line (lower-cased when compared); '#' lines are comments.
  static Result<PasswordPolicy> load(PolicySettings settings, const std::string& common_file);
  PasswordPolicy(PolicySettings settings, std::unordered_set<std::string> common)
      : settings_(settings), common_(std::make_shared<const std::unordered_set<std::string>>(std::move(common))) {}
  // INVALID_ARGUMENT WEAK_PASSWORD naming the rule the password breaks; OK otherwise.
  Status check(std::string_view password, std::string_view email) const;
  std::size_t common_count() const noexcept { return common_->size(); }

 private:
  PolicySettings settings_;
  std::shared_ptr<const std::unordered_set<std::string>> common_;
};

// libsodium's one-time initialisation; false when it cannot start (no entropy source).
bool init_sodium();

}  // namespace svckit::identity
