#include "verify.hpp"

#include "svckit/auth/base64url.hpp"

namespace svckit::license {

namespace {
Status bad_body(std::string field, std::string why) {
  return Status(Code::kInvalidArgument, "VALIDATION_FAILED", field + ": " + why).with_metadata(field, why);
}
}  // namespace

Result<Presented> presented(const Value& body) {
  if (!body.is_object()) return make_error(bad_body("body", "must be a JSON object"));
  Presented p;
  if (const Value* text = body.find("text")) {
    if (text->kind != Value::Kind::kString) return make_error(bad_body("text", "must be a string"));
    if (body.members.size() != 1) return make_error(bad_body("body", "text comes alone"));
    auto parts = parse_qr(text->string);
    if (!parts) return make_error(parts.error());
    p.canonical = std::move(parts->canonical);
    p.signature = std::move(parts->signature);
    auto doc = parse_document(p.canonical);
    if (!doc) {
      p.canonical_ok = false;
      return p;
    }
    p.doc = std::move(*doc);
    p.canonical_ok = canonical_document(p.doc) == p.canonical;
    return p;
  }
  const Value* sig = body.find("signature");
  if (!sig || sig->kind != Value::Kind::kString)
    return make_error(bad_body("signature", "a licence to verify needs its signature (or send {\"text\": qr})"));
  auto raw = auth::base64url_decode(sig->string);
  if (!raw) return make_error(bad_body("signature", "must be base64url without padding"));
  auto doc = document_of(body, true);
  if (!doc) return make_error(doc.error());
  p.doc = std::move(*doc);
  p.canonical = canonical_document(p.doc);
  p.signature = std::move(*raw);
  return p;
}

std::optional<Verdict> check_signature(const KeyRing& keys, const Presented& p) {
  if (!p.canonical_ok) return Verdict{"forged", "the signed document is not a licence in canonical form"};
  switch (keys.verify(p.doc.kid, p.canonical, p.signature)) {
    case KeyRing::Check::kValid:
      return std::nullopt;
    case KeyRing::Check::kUnknownKid:
      return Verdict{"forged", "signed with an unknown key (kid " + p.doc.kid + ")"};
    case KeyRing::Check::kBadSignature:
      break;
  }
  return Verdict{"forged", "the signature does not match the licence"};
}

Verdict judge(const Presented& p, const std::optional<LicenceRow>& stored, Seconds now) {
  if (!stored) return {"forged", "no licence was issued under this id"};
  if (stored->canonical != p.canonical) return {"forged", "the licence differs from the one issued under this id"};
  if (stored->revoked_at)
    return {"revoked",
            "revoked at " + format_time(from_db(*stored->revoked_at)) + ": " + stored->revoked_reason.value_or("")};
  if (now < p.doc.valid_from) return {"not_yet_valid", "valid from " + format_time(p.doc.valid_from)};
  if (now >= p.doc.valid_until) return {"expired", "expired at " + format_time(p.doc.valid_until)};
  return {"valid", "signature verified; within its validity window; not revoked"};
}

}  // namespace svckit::license
