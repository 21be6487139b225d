#include "settings.hpp"

#include <sodium.h>

namespace svckit::identity {

void IdentitySettings::describe(config::Binder<IdentitySettings>& b) {
  using namespace std::chrono_literals;
  using S = IdentitySettings;
  b.field("issuer", &S::issuer).non_empty().doc("the tokens' iss; the discovery document's URLs start with it");
  b.field("audience", &S::audience).non_empty().doc("aud of every access token");
  b.field("algorithm", &S::algorithm).one_of({"EdDSA", "ES256"}).doc("the signing algorithm of new keys");
  b.field("access_ttl", &S::access_ttl).range(60s, std::chrono::seconds(24h)).doc("access token lifetime");
  b.field("refresh_ttl", &S::refresh_ttl)
      .range(std::chrono::seconds(1h), std::chrono::seconds(24h * 365))
      .doc("refresh token lifetime (each use rotates it)");
  b.field("leeway", &S::leeway).range(0s, 300s).doc("clock skew allowed when checking tokens");
  b.field("sealing_key_file", &S::sealing_key_file)
      .non_empty()
      .doc("64 hex digits (openssl rand -hex 32) that seal the private signing keys in the database");
  b.field("key_rotation", &S::key_rotation)
      .range(0s, std::chrono::seconds(24h * 365))
      .doc("a new signing key this often; 0: only by POST /v1/auth/keys/rotate");
  b.field("key_publish_ahead", &S::key_publish_ahead)
      .range(0s, std::chrono::seconds(1h))
      .doc("a new key is in the JWKS this long before it signs");
  b.field("key_reload", &S::key_reload)
      .range(100ms, std::chrono::milliseconds(10min))
      .doc("how often the key table is re-read");
  b.field("argon2_ops", &S::argon2_ops)
      .range(std::uint64_t{crypto_pwhash_OPSLIMIT_MIN}, std::uint64_t{20})
      .doc("argon2id passes; a change rehashes each password at its next login");
  b.field("argon2_memory", &S::argon2_memory)
      .range(config::ByteSize{8 << 10}, config::ByteSize{4ull << 30})
      .doc("argon2id memory per hash; a change rehashes each password at its next login");
  b.field("password_min", &S::password_min).range(std::size_t{8}, std::size_t{64}).doc("characters");
  b.field("password_max", &S::password_max).range(std::size_t{16}, std::size_t{1024}).doc("characters");
  b.field("common_passwords", &S::common_passwords).doc("one refused password per line; empty: no list");
  b.field("login_ip_rate", &S::login_ip_rate).range(0.001, 1e6).doc("logins per second per client address");
  b.field("login_ip_burst", &S::login_ip_burst).range(1.0, 1e6).doc("logins in a burst per client address");
  b.field("login_free_failures", &S::login_free_failures)
      .range(1, 100)
      .doc("wrong passwords in a row before an account name is locked");
  b.field("login_first_lockout", &S::login_first_lockout)
      .range(1ms, std::chrono::milliseconds(1h))
      .doc("the first lockout; each further failure doubles it");
  b.field("login_max_lockout", &S::login_max_lockout)
      .range(1ms, std::chrono::milliseconds(24h))
      .doc("the longest lockout");
  b.field("users_url", &S::users_url).non_empty().doc("the user centre's base URL (discovery:/// or http://)");
  b.field("bootstrap_file", &S::bootstrap_file)
      .doc("a JSON file of first accounts (admin, clerk) applied once, at the first start that finds it");
}

}  // namespace svckit::identity
