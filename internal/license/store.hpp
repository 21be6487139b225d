#pragma once
// The licence service's rows (one description each for the row mapping), its tables and how a
// licence is shown in JSON. Every statement is parameterised; the repositories' SQL is generated from
// these descriptions (svckit/db/repository.hpp).
#include <cstdint>
#include <optional>
#include <string>

#include "canonical.hpp"
#include "svckit/db/repository.hpp"

namespace svckit::license {

// A licence as stored. `canonical` is the exact signed text and `signature` its Ed25519 signature
// (base64url); the other columns repeat its fields for queries. The version is the ETag.
struct LicenceRow {
  std::string id;
  std::string type;
  std::string number;
  std::string holder;
  std::string authority;
  db::Timestamp valid_from;
  db::Timestamp valid_until;
  std::string attributes;  // canonical JSON text
  db::Timestamp issued_at;
  std::string kid;
  std::string signature;
  std::string canonical;
  std::optional<db::Timestamp> revoked_at;
  std::optional<std::string> revoked_reason;
  std::optional<std::string> revoked_by;
  std::int64_t version = 0;
  static void json_schema(json::Schema<LicenceRow>& s);
  static void row_schema(db::RowSchema<LicenceRow>& s) { s.field("version", &LicenceRow::version); }
};

// One line of the append-only audit log: who (token subject and the role acted in), what (action and
// licence), when, from where (client address after trusted proxies, X-Forwarded-For as sent) and
// the request id.
struct AuditRow {
  std::int64_t id = 0;
  db::Timestamp at;
  std::string subject;
  std::string role;
  std::string action;  // license.issue, license.revoke
  std::string license_id;
  std::string client_ip;
  std::optional<std::string> forwarded_for;
  std::string request_id;
  static void json_schema(json::Schema<AuditRow>& s);
};

struct LicenceType {
  std::string code;
  std::string name;
  std::string schema;  // JSON text (schema.hpp)
  static void json_schema(json::Schema<LicenceType>& s);
};

// What an Idempotency-Key remembers: the request's hash and, once done, the answer.
struct IdempotencyRow {
  std::string request_hash;
  std::int64_t status = 0;
  std::string response;
  static void json_schema(json::Schema<IdempotencyRow>& s);
};

// The tables' options for db::Repository (cursor_secret signs page cursors).
db::TableOptions licence_table(std::string cursor_secret);
db::TableOptions audit_table(std::string cursor_secret);

db::Timestamp to_db(Seconds t);
Seconds from_db(db::Timestamp t);
db::Timestamp now();

// The signed document of a stored licence (from its canonical text).
Result<Document> document_of(const LicenceRow& row);
// The licence as the API shows it: the signed fields, signature, qr (the verification text), status
// (active | revoked) and, when revoked, revoked_at and revocation_reason.
void write_licence(json::Writer& w, const LicenceRow& row);
std::string licence_json(const LicenceRow& row);
void write_audit(json::Writer& w, const AuditRow& row);

// Hex SHA-256 (the request hash of Idempotency-Key).
std::string sha256_hex(std::string_view bytes);

}  // namespace svckit::license
