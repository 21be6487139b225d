#pragma once
// The licence service's JSON values and canonical forms (docs/license.md, "Canonical form").
//
// A licence is signed over one exact byte string: a JSON object with a fixed set of members written
// with sorted keys and no whitespace, attributes canonicalised recursively. Value is the small DOM
// that canonicalisation, the attribute schemas (schema.hpp) and the request hash of Idempotency-Key
// need; parse() is strict: duplicate member names are refused, and numbers must be integers within
// ±(2^53 − 1), so that every value has exactly one canonical text.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "svckit/core/status.hpp"

namespace svckit::license {

struct Value {
  enum class Kind : std::uint8_t { kNull, kBool, kInteger, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  std::int64_t integer = 0;
  std::string string;
  std::vector<Value> items;                            // kArray
  std::vector<std::pair<std::string, Value>> members;  // kObject, in the order read

  const Value* find(std::string_view key) const noexcept;
  bool is_object() const noexcept { return kind == Kind::kObject; }
};

std::string_view kind_name(Value::Kind kind) noexcept;

// INVALID_ARGUMENT: MALFORMED_JSON for a syntax error, VALIDATION_FAILED (metadata `field`) for a
// duplicate member name, a fraction or exponent, or an integer beyond ±(2^53 − 1).
Result<Value> parse(std::string_view json, std::string_view field = "body", std::uint32_t max_depth = 32);

// Objects with members sorted by the bytes of their (UTF-8) names, arrays in order, no whitespace,
// integers in shortest decimal, strings escaped as svckit's JSON writer escapes them (", \, \n, \r,
// \t and the other controls as \u00xx; everything else, "/" and non-ASCII included, verbatim).
void canonical_to(std::string& out, const Value& v);
std::string canonical(const Value& v);

// RFC 3339 date-times: "2026-01-31T09:00:00Z", with an offset ("+08:00") or a zero fraction; a
// non-zero fraction of a second is refused (licences are dated to the second). INVALID_ARGUMENT.
using Seconds = std::chrono::sys_seconds;
Result<Seconds> parse_time(std::string_view text);
// Always UTC with Z, no fraction: "2026-01-31T01:00:00Z".
std::string format_time(Seconds t);

// The signed fields of a licence.
struct Document {
  std::string id;
  std::string type;
  std::string number;
  std::string holder;
  std::string authority;
  Seconds valid_from{};
  Seconds valid_until{};
  Value attributes;  // an object
  Seconds issued_at{};
  std::string kid;
};

// {"attributes":{...},"authority":"...","holder":"...","id":"...","issued_at":"...","kid":"...",
//  "number":"...","type":"...","valid_from":"...","valid_until":"..."}
std::string canonical_document(const Document& d);
// The document back from its canonical text (or from any JSON object holding exactly those members
// with the right types). INVALID_ARGUMENT naming the member at fault.
Result<Document> parse_document(std::string_view json);
// The same, from an already parsed object whose other members are ignored (a licence as the API
// shows it, with signature and status members beside the signed ones).
Result<Document> document_of(const Value& object, bool allow_other_members);

// The verification text of a QR code: SVCL1.<base64url(canonical)>.<base64url(signature)>.
inline constexpr std::string_view kQrPrefix = "SVCL1.";
std::string qr_text(std::string_view canonical, std::string_view signature);
struct QrParts {
  std::string canonical;
  std::string signature;  // raw bytes
};
Result<QrParts> parse_qr(std::string_view text);

}  // namespace svckit::license
