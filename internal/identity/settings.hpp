#pragma once
// The identity service's configuration: the `identity:` section (docs/identity.md lists every key).
// Keys that name files resolve from the service's root.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "svckit/config/binder.hpp"
#include "svckit/config/units.hpp"

namespace svckit::identity {

struct IdentitySettings {
  // ---- tokens ----
  std::string issuer = "http://127.0.0.1:8080";  // iss, and the base of the discovery document's URLs
  std::vector<std::string> audience{"svckit"};   // aud of every access token
  std::string algorithm = "EdDSA";               // EdDSA | ES256
  std::chrono::seconds access_ttl{900};
  std::chrono::seconds refresh_ttl{std::chrono::hours(24 * 30)};
  std::chrono::seconds leeway{30};

  // ---- signing keys ----
  std::string sealing_key_file = "data/identity/sealing.key";      // 64 hex digits; seals the private keys at rest
  std::chrono::seconds key_rotation{std::chrono::hours(24 * 30)};  // 0: only POST /v1/auth/keys/rotate
  std::chrono::seconds key_publish_ahead{60};
  std::chrono::milliseconds key_reload{30000};  // how often the key table is re-read (other instances' rotations)

  // ---- passwords ----
  std::uint64_t argon2_ops = 2;
  config::ByteSize argon2_memory{64ull << 20};
  std::size_t password_min = 10;
  std::size_t password_max = 128;
  std::string common_passwords = "internal/identity/data/common-passwords.txt";

  // ---- login throttling ----
  double login_ip_rate = 1.0;
  double login_ip_burst = 20;
  int login_free_failures = 5;
  std::chrono::milliseconds login_first_lockout{1000};
  std::chrono::milliseconds login_max_lockout{std::chrono::minutes(15)};

  // ---- the rest of the platform ----
  std::string users_url = "discovery:///user-svc";  // the user centre, where profiles live
  std::string bootstrap_file;                       // first accounts (admin, clerk), applied once

  static void describe(config::Binder<IdentitySettings>& b);
};

}  // namespace svckit::identity
