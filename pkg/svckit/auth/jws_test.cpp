// JWS, keys and JWKs against the RFCs' own examples: RFC 8037 A.4 (Ed25519), RFC 7515 A.2 (RS256)
// and A.3 (ES256), RFC 7638 and RFC 8037 A.3 thumbprints; strict base64url; the parser's limits.
#include "svckit/auth/jws.hpp"

#include <gtest/gtest.h>

#include "svckit/auth/base64url.hpp"
#include "svckit/auth/key_set.hpp"
#include "test_keys_test.hpp"

namespace svckit::auth {
namespace {

using namespace testkeys;

Key jwk(std::string_view text) {
  auto k = Key::from_jwk(text);
  EXPECT_TRUE(k.has_value()) << (k ? "" : k.error().to_string());
  return *k;
}

TEST(Base64url, RoundTripsAndRefusesWhatIsNotCanonical) {
  for (std::string s :
       std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar", std::string("\xff\xfe\x00", 3)})
    EXPECT_EQ(base64url_decode(base64url_encode(s)).value(), s);
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_FALSE(base64url_decode("Zm8=").has_value());    // padding
  EXPECT_FALSE(base64url_decode("Zm9v+g").has_value());  // '+' is base64, not base64url
  EXPECT_FALSE(base64url_decode("Zm9v Zg").has_value());
  EXPECT_FALSE(base64url_decode("Z").has_value());    // no encoding has length 1 mod 4
  EXPECT_FALSE(base64url_decode("Zh").has_value());   // "Zg" is the canonical form of "f"
  EXPECT_FALSE(base64url_decode("Zm9").has_value());  // "Zm8" is the canonical form of "fo"
  EXPECT_TRUE(base64url_decode("Zm8").has_value());
}

TEST(Jws, Rfc8037A4Ed25519SignsTheRfcSignatureAndVerifies) {
  Key key = jwk(kEd25519Private);
  EXPECT_EQ(key.algorithm(), Algorithm::kEdDSA);
  EXPECT_TRUE(key.has_private());
  // RFC 8037 A.3: the thumbprint is the default kid.
  EXPECT_EQ(key.thumbprint(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
  EXPECT_EQ(key.kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
  auto token = sign_jws(key, "Example of Ed25519 signing", {.typ = "", .include_kid = false});
  ASSERT_TRUE(token.has_value());
  EXPECT_EQ(*token,
            "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
            "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg");
  auto jws = parse_jws(*token);
  ASSERT_TRUE(jws.has_value());
  EXPECT_EQ(jws->payload, "Example of Ed25519 signing");
  Key pub = jwk(kEd25519Public);
  EXPECT_FALSE(pub.has_private());
  EXPECT_TRUE(pub.verify(jws->signing_input, jws->signature));
  std::string tampered = jws->signature;
  tampered[5] ^= 1;
  EXPECT_FALSE(pub.verify(jws->signing_input, tampered));
  EXPECT_FALSE(pub.sign("x").has_value());
}

TEST(Jws, Rfc7515A2Rs256SignsTheRfcSignatureAndVerifies) {
  Key key = jwk(kRsaPrivate);
  EXPECT_EQ(key.algorithm(), Algorithm::kRS256);
  EXPECT_EQ(key.bits(), 2048);
  std::string input = "eyJhbGciOiJSUzI1NiJ9." + std::string(kRfcPayload);
  auto sig = key.sign(input);
  ASSERT_TRUE(sig.has_value());
  EXPECT_EQ(base64url_encode(*sig), kRs256Signature);  // PKCS#1 v1.5 is deterministic
  Key pub = key.public_key();
  EXPECT_FALSE(pub.has_private());
  EXPECT_TRUE(pub.verify(input, *sig));
  EXPECT_FALSE(pub.verify(input + "x", *sig));
}

TEST(Jwk, Rfc7638ThumbprintOfTheRfcKey) {
  Key key = jwk(
      R"({"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPeb)"
      R"(WKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9)"
      R"(c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFC)"
      R"(ur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"})");
  EXPECT_EQ(key.kid(), "2011-04-29");
  EXPECT_EQ(key.thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

TEST(Jws, Rfc7515A3Es256VerifiesTheRfcTokenAndSignsRawRS) {
  Key pub = jwk(kEcPublic);
  EXPECT_EQ(pub.algorithm(), Algorithm::kES256);
  std::string token = "eyJhbGciOiJFUzI1NiJ9." + std::string(kRfcPayload) + "." + std::string(kEs256Signature);
  auto jws = parse_jws(token);
  ASSERT_TRUE(jws.has_value());
  EXPECT_EQ(jws->header.alg, "ES256");
  EXPECT_EQ(jws->payload, "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}");
  EXPECT_EQ(jws->signature.size(), 64u);  // r||s, not DER
  EXPECT_TRUE(pub.verify(jws->signing_input, jws->signature));
  std::string tampered = jws->signature;
  tampered[40] ^= 0x80;
  EXPECT_FALSE(pub.verify(jws->signing_input, tampered));
  EXPECT_FALSE(pub.verify(jws->signing_input, jws->signature.substr(0, 63)));
  Key key = jwk(kEcPrivate);
  auto sig = key.sign("abc");
  ASSERT_TRUE(sig.has_value());
  EXPECT_EQ(sig->size(), 64u);
  EXPECT_TRUE(pub.verify("abc", *sig));
}

TEST(Jwk, ExportImportRoundTripsForEveryTypeAndKeepsPrivatePartsOutOfPublicJwks) {
  for (Algorithm alg : {Algorithm::kEdDSA, Algorithm::kES256, Algorithm::kRS256, Algorithm::kPS256}) {
    SCOPED_TRACE(std::string(algorithm_name(alg)));
    auto key = Key::generate(alg);
    ASSERT_TRUE(key.has_value());
    EXPECT_EQ(key->kid(), key->thumbprint());
    std::string priv = key->to_jwk(true), pub = key->to_jwk();
    EXPECT_EQ(pub.find("\"d\""), std::string::npos);
    EXPECT_NE(priv.find("\"d\""), std::string::npos);
    EXPECT_NE(pub.find("\"alg\":\"" + std::string(algorithm_name(alg)) + "\""), std::string::npos);
    Key back = jwk(priv), back_pub = jwk(pub);
    EXPECT_EQ(back.algorithm(), alg);
    EXPECT_EQ(back_pub.kid(), key->kid());
    EXPECT_EQ(back_pub.thumbprint(), key->thumbprint());
    auto sig = back.sign("payload");
    ASSERT_TRUE(sig.has_value());
    EXPECT_TRUE(back_pub.verify("payload", *sig));
    EXPECT_TRUE(key->public_key().verify("payload", *sig));
    auto pem = key->to_pem(true);
    ASSERT_TRUE(pem.has_value());
    auto from_pem = Key::from_pem(*pem, alg);
    ASSERT_TRUE(from_pem.has_value());
    EXPECT_EQ(from_pem->thumbprint(), key->thumbprint());
    EXPECT_TRUE(from_pem->has_private());
  }
}

TEST(Jwk, RefusesWhatItCannotUseSafely) {
  auto refused = [](std::string_view text) {
    auto k = Key::from_jwk(text);
    return !k.has_value() && k.error().code() == Code::kInvalidArgument;
  };
  EXPECT_TRUE(refused(R"({"kty":"oct","k":"c2VjcmV0"})"));  // HMAC secrets have no place here
  EXPECT_TRUE(refused(R"({"kty":"OKP","crv":"X25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})"));
  EXPECT_TRUE(refused(R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMl"})"));  // short
  // d of another key
  EXPECT_TRUE(refused(R"({"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2B",)"
                      R"("x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})"));
  // A point off the curve (y + 1).
  EXPECT_TRUE(refused(R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
                      R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a4"})"));
  EXPECT_TRUE(refused(R"({"kty":"EC","crv":"P-384","x":"AA","y":"AA"})"));
  EXPECT_TRUE(
      refused(R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","alg":"ES256"})"));
  EXPECT_TRUE(
      refused(R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","use":"enc"})"));
  EXPECT_TRUE(refused(R"({"kty":"OKP","kty":"EC","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})"));
  EXPECT_TRUE(refused(R"({"kty":"RSA","n":"AQAB","e":"AQAB"})"));  // 17 bits
  auto small = Key::generate(Algorithm::kRS256, "", 1024);
  EXPECT_FALSE(small.has_value());
  // A leading zero byte in n: not the minimal encoding RFC 7518 §2 asks for.
  std::string pub(kRsaPrivate.substr(0, kRsaPrivate.find(",\"d\"")));
  EXPECT_FALSE(refused(pub + "}"));
  std::string padded = pub;
  padded.replace(padded.find("\"n\":\"") + 5, 0, "AA");
  EXPECT_TRUE(refused(padded + "}"));
  // PS256 must be asked for: an RSA key without alg is RS256 only.
  EXPECT_EQ(jwk(pub + R"(,"alg":"PS256"})").algorithm(), Algorithm::kPS256);
}

TEST(KeySet, JwksSkipsUnusableKeysAndRefusesDuplicateKidsAndMalformedSets) {
  std::string ed = std::string(kEd25519Public.substr(0, kEd25519Public.size() - 1)) + R"(,"kid":"a"})";
  std::string ec = std::string(kEcPublic.substr(0, kEcPublic.size() - 1)) + R"(,"kid":"b"})";
  std::vector<std::string> skipped;
  auto set = KeySet::from_jwks(R"({"keys":[)" + ed + "," + ec + R"(,{"kty":"oct","k":"AA"}]})", &skipped);
  ASSERT_TRUE(set.has_value()) << set.error().to_string();
  EXPECT_EQ(set->size(), 2u);
  EXPECT_EQ(skipped.size(), 1u);
  ASSERT_NE(set->find("b"), nullptr);
  EXPECT_EQ(set->find("b")->algorithm(), Algorithm::kES256);
  EXPECT_EQ(set->find("c"), nullptr);
  auto again = KeySet::from_jwks(set->to_jwks());
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->size(), 2u);
  EXPECT_FALSE(KeySet::from_jwks(R"({"keys":[)" + ed + "," + ed + "]}").has_value());
  EXPECT_FALSE(KeySet::from_jwks(R"({"keys":{}})").has_value());
  EXPECT_FALSE(KeySet::from_jwks(R"({"keys":[]} x)").has_value());
  EXPECT_FALSE(KeySet::from_jwks(R"({"nokeys":[]})").has_value());
  EXPECT_FALSE(set->add(*set->find("a")).ok());
  // A private set publishes only public parts.
  KeySet priv;
  ASSERT_TRUE(priv.add(jwk(kEcPrivate)).ok());
  EXPECT_EQ(priv.to_jwks().find("\"d\""), std::string::npos);
  EXPECT_FALSE(priv.public_set().keys()[0].has_private());
}

TEST(Jws, ParserRefusesMalformedAndOversizedTokens) {
  Key key = jwk(kEd25519Private);
  std::string good = sign_jws(key, "{}").value();
  ASSERT_TRUE(parse_jws(good).has_value());
  auto reason = [](std::string_view token, std::size_t max = kDefaultMaxTokenBytes) {
    auto r = parse_jws(token, max);
    return r ? std::string("OK") : std::string(r.error().reason());
  };
  EXPECT_EQ(reason(good, good.size() - 1), "TOKEN_TOO_LARGE");
  EXPECT_EQ(reason(""), "MALFORMED_TOKEN");
  EXPECT_EQ(reason("a.b"), "MALFORMED_TOKEN");
  EXPECT_EQ(reason(good + ".x"), "MALFORMED_TOKEN");
  EXPECT_EQ(reason(good + "="), "MALFORMED_TOKEN");
  EXPECT_EQ(reason(" " + good), "MALFORMED_TOKEN");
  auto with_header = [&](std::string_view header) {
    return base64url_encode(header) + "." + base64url_encode("{}") + "." + base64url_encode("sig");
  };
  EXPECT_EQ(reason(with_header(R"({"alg":"EdDSA"})")), "OK");
  EXPECT_EQ(reason(with_header(R"({"alg":"EdDSA","alg":"none"})")), "MALFORMED_TOKEN");  // duplicate
  EXPECT_EQ(reason(with_header(R"({"kid":"x"})")), "MALFORMED_TOKEN");                   // no alg
  EXPECT_EQ(reason(with_header(R"({"alg":1})")), "MALFORMED_TOKEN");
  EXPECT_EQ(reason(with_header(R"(["alg"])")), "MALFORMED_TOKEN");
  EXPECT_EQ(reason(with_header(R"({"alg":"EdDSA"} {})")), "MALFORMED_TOKEN");
  EXPECT_EQ(reason(with_header(R"({"alg":"EdDSA","crit":[]})")), "MALFORMED_TOKEN");
  EXPECT_EQ(reason(with_header(R"({"alg":"EdDSA","crit":["kid"]})")), "MALFORMED_TOKEN");
  EXPECT_EQ(reason(with_header(R"({"alg":"EdDSA","crit":["exp"]})")), "MALFORMED_TOKEN");  // absent
  EXPECT_EQ(reason(with_header(R"({"alg":"EdDSA","crit":["exp"],"exp":1})")), "OK");
  EXPECT_EQ(reason(with_header(R"({"alg":"EdDSA","b64":false,"crit":["b64"]})")), "MALFORMED_TOKEN");
  auto jws = parse_jws(with_header(R"({"alg":"EdDSA","kid":"k1","typ":"at+jwt","x-ext":{"a":1}})"));
  ASSERT_TRUE(jws.has_value());
  EXPECT_EQ(jws->header.kid, "k1");
  EXPECT_EQ(jws->header.typ, "at+jwt");
  ASSERT_EQ(jws->header.extra.size(), 1u);
  EXPECT_EQ(jws->header.extra[0].second, R"({"a":1})");
}

}  // namespace
}  // namespace svckit::auth
