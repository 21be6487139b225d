#pragma once
// The electronic licence service (docs/license.md; its OpenAPI document at /openapi.json): clerks issue signed
// licences of the types in a catalogue, holders read their own, anyone verifies one (its QR text or
// its JSON) without logging in, clerks and admins revoke, admins read the append-only audit log.
// Tokens are verified here with auth_http's authenticate (roles citizen, clerk, admin; a clerk's
// `authority` claim names the authority it issues for). On any svckit Database: SQLite by default,
// PostgreSQL by config; a database that is down answers 503 with Retry-After.
#include <memory>
#include <string>

#include "keys.hpp"
#include "svckit/auth/verifier.hpp"
#include "svckit/config/binder.hpp"
#include "svckit/db/database.hpp"
#include "svckit/http/router.hpp"
#include "svckit/log/logger.hpp"

namespace svckit::license {

// The `license:` configuration section (docs/config.md).
struct Settings {
  std::string signing_key_file = "data/license-signing-key.jwk";
  std::string verification_keys_file;
  std::string cursor_secret;
  std::uint64_t max_body = 64 * 1024;
  int default_page = 20;
  int max_page = 100;
  int max_reason = 500;
  static void describe(config::Binder<Settings>& b);
};

struct Options {
  int default_page = 20;
  int max_page = 100;
  std::uint64_t max_body = 64 * 1024;  // bytes of a request body
  std::size_t max_reason = 500;        // characters of a revocation reason
  std::string cursor_secret;           // signs page cursors (HMAC-SHA256); empty: checked, not signed
  static Options from(const Settings& s);
};

// Registers GET /v1/license-types, POST/GET /v1/licenses, GET /v1/licenses/keys,
// POST /v1/licenses/verify, GET /v1/licenses/:id, GET /v1/licenses/:id/qr.svg, POST
// /v1/licenses/:id/revoke and GET /v1/audit.
// db, keys and verifier must outlive the router.
void mount(http::Router& router, std::shared_ptr<db::Database> db, std::shared_ptr<const KeyRing> keys,
           std::shared_ptr<const auth::Verifier> verifier, log::Logger logger, Options options = {});

}  // namespace svckit::license
