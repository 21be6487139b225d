#include "svckit/auth/issuer.hpp"

#include <openssl/rand.h>

#include <stdexcept>

#include "svckit/auth/base64url.hpp"

namespace svckit::auth {

std::string random_id() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("auth::random_id: the CSPRNG failed");
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

Result<Issuer> Issuer::create(KeySet keys, std::string active_kid, IssuerOptions options) {
  const Key* key = keys.find(active_kid);
  if (!key) return make_error(Code::kInvalidArgument, "auth::Issuer: no key with kid " + active_kid);
  if (!key->has_private())
    return make_error(Code::kInvalidArgument, "auth::Issuer: the key " + active_kid + " has no private part");
  if (options.ttl.count() <= 0) return make_error(Code::kInvalidArgument, "auth::Issuer: ttl must be positive");
  return Issuer(std::move(keys), std::move(active_kid), std::move(options));
}

Result<std::string> Issuer::issue(Claims claims) const {
  auto now =
      std::chrono::floor<std::chrono::seconds>(options_.clock ? options_.clock() : std::chrono::system_clock::now());
  if (!options_.issuer.empty() && !claims.has("iss")) claims.set_issuer(options_.issuer);
  if (!options_.audience.empty() && !claims.has("aud")) {
    if (options_.audience.size() == 1)
      claims.set_audience(options_.audience.front());
    else
      claims.set_audience(options_.audience);
  }
  if (!claims.has("iat")) claims.set_issued_at(now);
  if (!claims.has("exp")) claims.set_expires_at(*claims.issued_at() + options_.ttl);
  if (!claims.has("jti")) claims.set_id(random_id());
  return sign_jwt(active(), claims, {.typ = options_.typ});
}

}  // namespace svckit::auth
