#include "store.hpp"

#include <openssl/evp.h>

#include "svckit/auth/base64url.hpp"

namespace svckit::license {

void LicenceRow::json_schema(json::Schema<LicenceRow>& s) {
  s.field("id", &LicenceRow::id);
  s.field("type", &LicenceRow::type);
  s.field("number", &LicenceRow::number);
  s.field("holder", &LicenceRow::holder);
  s.field("authority", &LicenceRow::authority);
  s.field("valid_from", &LicenceRow::valid_from);
  s.field("valid_until", &LicenceRow::valid_until);
  s.field("attributes", &LicenceRow::attributes);
  s.field("issued_at", &LicenceRow::issued_at);
  s.field("kid", &LicenceRow::kid);
  s.field("signature", &LicenceRow::signature);
  s.field("canonical", &LicenceRow::canonical);
  s.field("revoked_at", &LicenceRow::revoked_at);
  s.field("revoked_reason", &LicenceRow::revoked_reason);
  s.field("revoked_by", &LicenceRow::revoked_by);
}

void AuditRow::json_schema(json::Schema<AuditRow>& s) {
  s.field("id", &AuditRow::id);
  s.field("at", &AuditRow::at);
  s.field("subject", &AuditRow::subject);
  s.field("role", &AuditRow::role);
  s.field("action", &AuditRow::action);
  s.field("license_id", &AuditRow::license_id);
  s.field("client_ip", &AuditRow::client_ip);
  s.field("forwarded_for", &AuditRow::forwarded_for);
  s.field("request_id", &AuditRow::request_id);
}

void LicenceType::json_schema(json::Schema<LicenceType>& s) {
  s.field("code", &LicenceType::code);
  s.field("name", &LicenceType::name);
  s.field("schema", &LicenceType::schema);
}

void IdempotencyRow::json_schema(json::Schema<IdempotencyRow>& s) {
  s.field("request_hash", &IdempotencyRow::request_hash);
  s.field("status", &IdempotencyRow::status);
  s.field("response", &IdempotencyRow::response);
}

db::TableOptions licence_table(std::string cursor_secret) {
  // Everything but the revocation is written once, at issue.
  return {.table = "licenses",
          .id_generated = false,
          .version = "version",
          .insert_only = {"type", "number", "holder", "authority", "valid_from", "valid_until", "attributes",
                          "issued_at", "kid", "signature", "canonical"},
          .page_key = {"issued_at", "id"},
          .cursor_secret = std::move(cursor_secret)};
}

db::TableOptions audit_table(std::string cursor_secret) {
  return {.table = "audit_log", .cursor_secret = std::move(cursor_secret)};
}

db::Timestamp to_db(Seconds t) {
  return std::chrono::time_point_cast<std::chrono::microseconds>(t);
}
Seconds from_db(db::Timestamp t) {
  return std::chrono::floor<std::chrono::seconds>(t);
}
db::Timestamp now() {
  return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

Result<Document> document_of(const LicenceRow& row) {
  return parse_document(row.canonical);
}

void write_licence(json::Writer& w, const LicenceRow& row) {
  w.begin_object();
  w.key("id").string(row.id);
  w.key("type").string(row.type);
  w.key("number").string(row.number);
  w.key("holder").string(row.holder);
  w.key("authority").string(row.authority);
  w.key("valid_from").string(format_time(from_db(row.valid_from)));
  w.key("valid_until").string(format_time(from_db(row.valid_until)));
  w.key("attributes").raw(row.attributes);
  w.key("issued_at").string(format_time(from_db(row.issued_at)));
  w.key("kid").string(row.kid);
  w.key("signature").string(row.signature);
  auto sig = auth::base64url_decode(row.signature);
  w.key("qr").string(qr_text(row.canonical, sig ? *sig : std::string()));
  w.key("status").string(row.revoked_at ? "revoked" : "active");
  if (row.revoked_at) {
    w.key("revoked_at").string(format_time(from_db(*row.revoked_at)));
    w.key("revocation_reason").string(row.revoked_reason.value_or(""));
  }
  w.end_object();
}

std::string licence_json(const LicenceRow& row) {
  std::string out;
  json::Writer w(out);
  write_licence(w, row);
  return out;
}

void write_audit(json::Writer& w, const AuditRow& row) {
  w.begin_object();
  w.key("id").integer(row.id);
  w.key("at").string(db::format_timestamp(row.at));
  w.key("subject").string(row.subject);
  w.key("role").string(row.role);
  w.key("action").string(row.action);
  w.key("license_id").string(row.license_id);
  w.key("client_ip").string(row.client_ip);
  if (row.forwarded_for) w.key("forwarded_for").string(*row.forwarded_for);
  w.key("request_id").string(row.request_id);
  w.end_object();
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xf];
  }
  return out;
}

}  // namespace svckit::license
