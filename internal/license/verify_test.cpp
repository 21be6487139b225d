#include "verify.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "svckit/auth/base64url.hpp"

namespace svckit::license {
namespace {

Document sample(const std::string& kid) {
  Document d;
  d.id = "7d4c2b0e-1111-4000-8000-000000000002";
  d.type = "business_licence";
  d.number = "91310000MA1234567X";
  d.holder = "7";
  d.authority = "Pudong AMR";
  d.valid_from = *parse_time("2026-01-01T00:00:00Z");
  d.valid_until = *parse_time("2031-01-01T00:00:00Z");
  d.attributes = *parse(R"({"company_name":"Acme 有限公司","registered_capital_cny":1000000})");
  d.issued_at = *parse_time("2026-01-01T00:00:00Z");
  d.kid = kid;
  return d;
}

KeyRing ring() {
  auto key = auth::Key::generate(auth::Algorithm::kEdDSA);
  EXPECT_TRUE(key);
  auto r = KeyRing::of(*key);
  EXPECT_TRUE(r);
  return *r;
}

struct Issued {
  std::string canonical, signature, qr;
};

Issued issue(const KeyRing& keys, const Document& d) {
  Issued out;
  out.canonical = canonical_document(d);
  out.signature = *keys.sign(out.canonical);
  out.qr = qr_text(out.canonical, out.signature);
  return out;
}

Presented from_qr(const std::string& qr) {
  Value body;
  body.kind = Value::Kind::kObject;
  Value text;
  text.kind = Value::Kind::kString;
  text.string = qr;
  body.members.emplace_back("text", text);
  auto p = presented(body);
  EXPECT_TRUE(p) << (p ? "" : p.error().to_string());
  return *p;
}

LicenceRow stored(const Issued& i, const Document& d) {
  LicenceRow row;
  row.id = d.id;
  row.canonical = i.canonical;
  row.signature = auth::base64url_encode(i.signature);
  return row;
}

const Seconds kDuring = *parse_time("2027-06-01T00:00:00Z");

TEST(LicenseVerify, SignVerifyRoundTrip) {
  KeyRing keys = ring();
  Document d = sample(keys.signing().kid());
  Issued i = issue(keys, d);
  EXPECT_EQ(keys.verify(d.kid, i.canonical, i.signature), KeyRing::Check::kValid);
  Presented p = from_qr(i.qr);
  EXPECT_FALSE(check_signature(keys, p));
  EXPECT_EQ(judge(p, stored(i, d), kDuring).status, "valid");
}

TEST(LicenseVerify, OneFlippedByteIsForged) {
  KeyRing keys = ring();
  Document d = sample(keys.signing().kid());
  Issued i = issue(keys, d);
  for (std::size_t at : {std::size_t{0}, i.canonical.size() / 2, i.canonical.size() - 1}) {
    std::string doc = i.canonical;
    doc[at] ^= 0x01;
    EXPECT_NE(keys.verify(d.kid, doc, i.signature), KeyRing::Check::kValid) << at;
    auto v = check_signature(keys, from_qr(qr_text(doc, i.signature)));
    ASSERT_TRUE(v) << at;
    EXPECT_EQ(v->status, "forged");
  }
  std::string sig = i.signature;
  sig[10] ^= 0x01;
  auto v = check_signature(keys, from_qr(qr_text(i.canonical, sig)));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->status, "forged");
}

TEST(LicenseVerify, UnknownKidAndOtherKeysAreForged) {
  KeyRing keys = ring();
  KeyRing other = ring();
  Document d = sample(other.signing().kid());
  Issued i = issue(other, d);
  auto v = check_signature(keys, from_qr(i.qr));
  ASSERT_TRUE(v);
  EXPECT_NE(v->reason.find("unknown key"), std::string::npos);
  // The kid of ours, the signature of another key.
  d.kid = keys.signing().kid();
  Issued j = issue(other, d);
  v = check_signature(keys, from_qr(j.qr));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->status, "forged");
}

TEST(LicenseVerify, RetiredKeysStillVerify) {
  auto old = auth::Key::generate(auth::Algorithm::kEdDSA);
  auto now = auth::Key::generate(auth::Algorithm::kEdDSA);
  auth::KeySet retired;
  ASSERT_TRUE(retired.add(old->public_key()).ok());
  auto keys = KeyRing::of(*now, retired);
  ASSERT_TRUE(keys);
  Document d = sample(old->kid());
  std::string canonical = canonical_document(d);
  EXPECT_EQ(keys->verify(old->kid(), canonical, *old->sign(canonical)), KeyRing::Check::kValid);
  EXPECT_NE(keys->jwks().find(old->kid()), std::string::npos);
  EXPECT_EQ(keys->jwks().find("\"d\""), std::string::npos);  // public halves only
}

TEST(LicenseVerify, StoredStateDecides) {
  KeyRing keys = ring();
  Document d = sample(keys.signing().kid());
  Issued i = issue(keys, d);
  Presented p = from_qr(i.qr);
  EXPECT_EQ(judge(p, std::nullopt, kDuring).status, "forged");
  LicenceRow other = stored(i, d);
  other.canonical += " ";
  EXPECT_EQ(judge(p, other, kDuring).status, "forged");
  EXPECT_EQ(judge(p, stored(i, d), *parse_time("2025-12-31T23:59:59Z")).status, "not_yet_valid");
  EXPECT_EQ(judge(p, stored(i, d), d.valid_until).status, "expired");
  LicenceRow revoked = stored(i, d);
  revoked.revoked_at = to_db(kDuring);
  revoked.revoked_reason = "fraud";
  Verdict v = judge(p, revoked, kDuring);
  EXPECT_EQ(v.status, "revoked");
  EXPECT_NE(v.reason.find("fraud"), std::string::npos);
}

TEST(LicenseVerify, LicenceJsonWithSignatureIsPresentedToo) {
  KeyRing keys = ring();
  Document d = sample(keys.signing().kid());
  Issued i = issue(keys, d);
  LicenceRow row = stored(i, d);
  row.type = d.type;
  row.number = d.number;
  row.holder = d.holder;
  row.authority = d.authority;
  row.valid_from = to_db(d.valid_from);
  row.valid_until = to_db(d.valid_until);
  row.issued_at = to_db(d.issued_at);
  row.kid = d.kid;
  row.attributes = canonical(d.attributes);
  auto body = parse(licence_json(row));  // members in another order, status and qr beside them
  ASSERT_TRUE(body);
  auto p = presented(*body);
  ASSERT_TRUE(p) << p.error().to_string();
  EXPECT_EQ(p->canonical, i.canonical);
  EXPECT_FALSE(check_signature(keys, *p));
  // A changed attribute in the JSON no longer matches its signature.
  auto tampered = parse(R"({"a":1})");
  for (auto& [k, v] : body->members)
    if (k == "attributes") v = *tampered;
  auto q = presented(*body);
  ASSERT_TRUE(q);
  EXPECT_TRUE(check_signature(keys, *q));
}

TEST(LicenseKeys, GeneratedOnceWithMode0600) {
  auto dir = std::filesystem::temp_directory_path() / ("license-keys-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::string file = (dir / "sub" / "signing.jwk").string();
  auto first = KeyRing::open(file);
  ASSERT_TRUE(first) << first.error().to_string();
  EXPECT_TRUE(first->generated());
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto second = KeyRing::open(file);
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->generated());
  EXPECT_EQ(second->signing().kid(), first->signing().kid());
  ::chmod(file.c_str(), 0644);
  EXPECT_FALSE(KeyRing::open(file));  // a private key readable by others: refused
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace svckit::license
