#include "canonical.hpp"

#include <gtest/gtest.h>

namespace svckit::license {
namespace {

Value must_parse(std::string_view text) {
  auto v = parse(text);
  EXPECT_TRUE(v.has_value()) << (v ? "" : v.error().to_string());
  return v ? *v : Value{};
}

TEST(LicenseCanonical, StableUnderMemberOrderAndWhitespace) {
  std::string a = canonical(must_parse(R"({"b":1,"a":{"y":[1,2,{"q":true,"p":null}],"x":"s"}})"));
  std::string b = canonical(
      must_parse("{ \"a\" : { \"x\" : \"s\",\n \"y\" : [ 1 , 2 , { \"p\" : null , \"q\" : true } ] } ,\t\"b\" : 1 }"));
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, R"({"a":{"x":"s","y":[1,2,{"p":null,"q":true}]},"b":1})");
}

TEST(LicenseCanonical, StringsHaveOneForm) {
  // An escaped and a literal form of the same string are one canonical text; "/" and non-ASCII stay.
  EXPECT_EQ(canonical(must_parse(R"({"k":"\u00e9\/\u4e2d\n"})")), "{\"k\":\"é/中\\n\"}");
  EXPECT_EQ(canonical(must_parse("{\"k\":\"é/中\\n\"}")), "{\"k\":\"é/中\\n\"}");
  // Keys sort by UTF-8 bytes: "Z" < "a" < "é".
  EXPECT_EQ(canonical(must_parse(R"({"é":1,"a":2,"Z":3})")), R"({"Z":3,"a":2,"é":1})");
}

TEST(LicenseCanonical, RefusesWhatWouldHaveTwoForms) {
  EXPECT_FALSE(parse(R"({"a":1,"a":2})"));  // duplicate member
  EXPECT_FALSE(parse(R"({"a":1.5})"));      // fractions
  EXPECT_FALSE(parse(R"({"a":1e3})"));      // exponents
  EXPECT_FALSE(parse(R"({"a":9007199254740992})"));
  EXPECT_TRUE(parse(R"({"a":-9007199254740991})"));
  EXPECT_FALSE(parse(R"({"a":)"));
  EXPECT_FALSE(parse(""));
}

TEST(LicenseCanonical, Times) {
  auto t = parse_time("2026-01-31T09:00:00+08:00");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_time(*t), "2026-01-31T01:00:00Z");
  EXPECT_EQ(format_time(*parse_time("2026-01-31T01:00:00.000Z")), "2026-01-31T01:00:00Z");
  EXPECT_FALSE(parse_time("2026-01-31T01:00:00.5Z"));  // not whole seconds
  EXPECT_FALSE(parse_time("2026-02-30T01:00:00Z"));
  EXPECT_FALSE(parse_time("2026-01-31 01:00:00"));
  EXPECT_FALSE(parse_time("2026-01-31T01:00:00Zjunk"));
}

Document sample() {
  Document d;
  d.id = "5f0c6a1e-0000-4000-8000-000000000001";
  d.type = "driving_licence";
  d.number = "DL-1";
  d.holder = "42";
  d.authority = "Shanghai PSB";
  d.valid_from = *parse_time("2026-01-01T00:00:00Z");
  d.valid_until = *parse_time("2032-01-01T00:00:00Z");
  d.attributes = must_parse(R"({"name":"Li Lei","class":"C1"})");
  d.issued_at = *parse_time("2026-01-01T08:00:00Z");
  d.kid = "k1";
  return d;
}

TEST(LicenseCanonical, DocumentIsFixedAndRoundTrips) {
  std::string text = canonical_document(sample());
  EXPECT_EQ(text, R"({"attributes":{"class":"C1","name":"Li Lei"},"authority":"Shanghai PSB","holder":"42",)"
                  R"("id":"5f0c6a1e-0000-4000-8000-000000000001","issued_at":"2026-01-01T08:00:00Z","kid":"k1",)"
                  R"("number":"DL-1","type":"driving_licence","valid_from":"2026-01-01T00:00:00Z",)"
                  R"("valid_until":"2032-01-01T00:00:00Z"})");
  auto back = parse_document(text);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(canonical_document(*back), text);
  EXPECT_FALSE(parse_document(R"({"extra":1})"));
}

TEST(LicenseCanonical, QrText) {
  std::string qr = qr_text("{\"a\":1}", std::string("\x01\xff", 2));
  EXPECT_EQ(qr, "SVCL1.eyJhIjoxfQ.Af8");
  auto parts = parse_qr(qr);
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->canonical, "{\"a\":1}");
  EXPECT_EQ(parts->signature, std::string("\x01\xff", 2));
  EXPECT_FALSE(parse_qr("SVCL2.eyJhIjoxfQ.Af8"));
  EXPECT_FALSE(parse_qr("SVCL1.eyJhIjoxfQ"));
  EXPECT_FALSE(parse_qr("SVCL1.eyJhIjoxfQ=.Af8"));
}

}  // namespace
}  // namespace svckit::license
