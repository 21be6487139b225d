// The verifier's rules (RFC 8725): algorithms decided by the verifier and bound per key, `none` and
// HMAC never, crit, explicit typing, time claims with leeway, issuer, audience, required claims;
// tampering of every part; the RFC's own tokens; key sources refreshing on an unknown kid.
#include "svckit/auth/verifier.hpp"

#include <gtest/gtest.h>
#include <openssl/hmac.h>

#include <filesystem>
#include <fstream>

#include "svckit/auth/base64url.hpp"
#include "svckit/auth/issuer.hpp"
#include "svckit/auth/principal.hpp"
#include "svckit/auth/settings.hpp"
#include "svckit/core/runtime.hpp"
#include "test_keys_test.hpp"

using namespace std::chrono_literals;

namespace svckit::auth {
namespace {

using Clock = std::chrono::system_clock;
const Clock::time_point kNow = Clock::time_point(std::chrono::seconds(1'700'000'000));

struct Fixture {
  Key ed = Key::generate(Algorithm::kEdDSA, "ed").value();
  Key ec = Key::generate(Algorithm::kES256, "ec").value();
  Key rsa = Key::from_jwk(testkeys::kRsaPrivate).value().with_kid("rsa");
  KeySet keys = [this] {
    KeySet s;
    for (const Key* k : {&ed, &ec, &rsa}) EXPECT_TRUE(s.add(k->public_key()).ok());
    return s;
  }();
  Clock::time_point now = kNow;
  VerifierOptions options() {
    return {.algorithms = {Algorithm::kEdDSA, Algorithm::kES256, Algorithm::kRS256},
            .issuer = "https://id.example",
            .audiences = {"orders", "billing"},
            .typ = "at+jwt",
            .clock = [this] { return now; }};
  }
  Claims claims() {
    Claims c;
    c.set_issuer("https://id.example").set_subject("user-42").set_audience("orders");
    c.set_issued_at(std::chrono::floor<std::chrono::seconds>(kNow));
    c.set_expires_at(std::chrono::floor<std::chrono::seconds>(kNow) + 900s);
    c.set("roles", std::vector<std::string>{"admin", "ops"}).set("scope", "read write");
    return c;
  }
  std::string sign(const Key& key, const Claims& c, std::string typ = "at+jwt") {
    return sign_jwt(key, c, {.typ = std::move(typ)}).value();
  }
  // Any header, any payload, signed by `key` with its own algorithm (whatever the header says).
  static std::string forge(std::string_view header, std::string_view payload, const Key& key) {
    std::string input = base64url_encode(header) + "." + base64url_encode(payload);
    return input + "." + base64url_encode(key.sign(input).value());
  }
  std::string reason(const Verifier& v, std::string_view token) {
    auto r = v.verify_with(keys, token);
    return r ? std::string("OK") : std::string(r.error().reason());
  }
  std::string reason(std::string_view token) {
    return reason(Verifier(std::make_shared<StaticKeys>(keys), options()), token);
  }
};

TEST(Verifier, AcceptsEachAlgorithmAndExposesTheClaims) {
  Fixture f;
  Verifier v(std::make_shared<StaticKeys>(f.keys), f.options());
  for (const Key* key : {&f.ed, &f.ec, &f.rsa}) {
    auto claims = v.verify(f.sign(*key, f.claims()));
    ASSERT_TRUE(claims.has_value()) << claims.error().to_string();
    EXPECT_EQ(claims->subject(), "user-42");
    EXPECT_EQ(claims->strings("roles"), (std::vector<std::string>{"admin", "ops"}));
    EXPECT_EQ(claims->strings("scope"), (std::vector<std::string>{"read", "write"}));
    EXPECT_EQ(claims->get<std::vector<std::string>>("roles").value()->size(), 2u);
    EXPECT_FALSE(claims->get<int>("roles").has_value());  // present, but not an int
    EXPECT_FALSE(claims->get<int>("absent").value().has_value());
  }
  auto p = make_principal(v.verify(f.sign(f.ed, f.claims())).value());
  EXPECT_EQ(p->subject, "user-42");
  EXPECT_TRUE(p->has_role("admin"));
  EXPECT_TRUE(p->has_scope("write"));
  Context ctx = with_principal(Context(), p);
  EXPECT_EQ(principal_of(ctx), p.get());
  EXPECT_TRUE(require_role(ctx, "ops").ok());
  EXPECT_EQ(require_role(ctx, "root").code(), Code::kPermissionDenied);
  EXPECT_EQ(require_scope(ctx, "delete").reason(), "MISSING_SCOPE");
  EXPECT_EQ(require_role(Context(), "ops").code(), Code::kUnauthenticated);
}

TEST(Verifier, Rfc7515TokensVerifyAtTheirTime) {
  Fixture f;
  KeySet rfc;
  ASSERT_TRUE(rfc.add(Key::from_jwk(testkeys::kRsaPrivate)->public_key().with_kid("rsa")).ok());
  ASSERT_TRUE(rfc.add(Key::from_jwk(testkeys::kEcPublic)->with_kid("ec")).ok());
  Verifier v(std::make_shared<StaticKeys>(rfc),
             {.algorithms = {Algorithm::kRS256, Algorithm::kES256}, .issuer = "joe", .clock = [] {
                return Clock::time_point(std::chrono::seconds(1300819000));
              }});
  std::string payload(testkeys::kRfcPayload);
  for (std::string token : {"eyJhbGciOiJSUzI1NiJ9." + payload + "." + std::string(testkeys::kRs256Signature),
                            "eyJhbGciOiJFUzI1NiJ9." + payload + "." + std::string(testkeys::kEs256Signature)}) {
    auto claims = v.verify(token);  // no kid: the keys bound to the header's alg are tried
    ASSERT_TRUE(claims.has_value()) << claims.error().to_string();
    EXPECT_EQ(claims->issuer(), "joe");
    EXPECT_EQ(claims->get<bool>("http://example.com/is_root").value(), std::optional<bool>(true));
  }
  Verifier later(std::make_shared<StaticKeys>(rfc), {.algorithms = {Algorithm::kRS256}, .issuer = "joe"});
  EXPECT_EQ(
      later.verify("eyJhbGciOiJSUzI1NiJ9." + payload + "." + std::string(testkeys::kRs256Signature)).error().reason(),
      "TOKEN_EXPIRED");
}

TEST(Verifier, TamperingWithAnyPartFails) {
  Fixture f;
  std::string token = f.sign(f.ed, f.claims());
  ASSERT_EQ(f.reason(token), "OK");
  auto dot1 = token.find('.'), dot2 = token.rfind('.');
  // The payload with a claim changed, re-encoded: the signature no longer covers it.
  Claims other = f.claims();
  other.set_subject("user-1");
  std::string swapped = token.substr(0, dot1 + 1) + base64url_encode(other.to_json()) + token.substr(dot2);
  EXPECT_EQ(f.reason(swapped), "BAD_SIGNATURE");
  // A header with an extra member.
  std::string header = base64url_encode(R"({"alg":"EdDSA","kid":"ed","typ":"at+jwt","x":1})");
  EXPECT_EQ(f.reason(header + token.substr(dot1)), "BAD_SIGNATURE");
  std::string sig = base64url_decode(token.substr(dot2 + 1)).value();
  sig[10] ^= 4;
  EXPECT_EQ(f.reason(token.substr(0, dot2 + 1) + base64url_encode(sig)), "BAD_SIGNATURE");
  EXPECT_EQ(f.reason(token.substr(0, dot2 + 1)), "BAD_SIGNATURE");  // no signature at all
  // The signature of another token.
  std::string other_token = f.sign(f.ed, other);
  EXPECT_EQ(f.reason(token.substr(0, dot2) + other_token.substr(other_token.rfind('.'))), "BAD_SIGNATURE");
}

TEST(Verifier, AlgorithmConfusionIsRefused) {
  Fixture f;
  std::string payload = f.claims().to_json();
  // none, in every spelling, even with a perfectly good payload.
  for (std::string alg : {"none", "None", "NONE"}) {
    std::string token =
        base64url_encode(R"({"alg":")" + alg + R"(","typ":"at+jwt"})") + "." + base64url_encode(payload) + ".";
    EXPECT_EQ(f.reason(token), "ALG_NOT_ALLOWED") << alg;
  }
  // HS256 with the RSA key's public JWK as the HMAC secret: the classic confusion.
  std::string input =
      base64url_encode(R"({"alg":"HS256","kid":"rsa","typ":"at+jwt"})") + "." + base64url_encode(payload);
  std::string secret = f.rsa.public_key().to_jwk();
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  EXPECT_EQ(f.reason(input + "." + base64url_encode(std::string_view(reinterpret_cast<char*>(mac), len))),
            "ALG_NOT_ALLOWED");
  // An RS256 header naming the EC key (signed with RSA): the key is for ES256 only.
  EXPECT_EQ(f.reason(Fixture::forge(R"({"alg":"RS256","kid":"ec","typ":"at+jwt"})", payload, f.rsa)),
            "KEY_ALG_MISMATCH");
  EXPECT_EQ(f.reason(Fixture::forge(R"({"alg":"ES256","kid":"ed","typ":"at+jwt"})", payload, f.ec)),
            "KEY_ALG_MISMATCH");
  // PS256 with the RS256-bound key, even though RSA can do both.
  EXPECT_EQ(f.reason(Fixture::forge(R"({"alg":"PS256","kid":"rsa","typ":"at+jwt"})", payload, f.rsa)),
            "ALG_NOT_ALLOWED");
  auto opts = f.options();
  opts.algorithms.push_back(Algorithm::kPS256);
  EXPECT_EQ(f.reason(Verifier(std::make_shared<StaticKeys>(f.keys), opts),
                     Fixture::forge(R"({"alg":"PS256","kid":"rsa","typ":"at+jwt"})", payload, f.rsa)),
            "KEY_ALG_MISMATCH");
  // An algorithm this verifier does not allow, though the key would do it.
  opts.algorithms = {Algorithm::kEdDSA};
  EXPECT_EQ(f.reason(Verifier(std::make_shared<StaticKeys>(f.keys), opts), f.sign(f.ec, f.claims())),
            "ALG_NOT_ALLOWED");
  EXPECT_EQ(f.reason(Fixture::forge(R"({"alg":"ES512","kid":"ec","typ":"at+jwt"})", payload, f.ec)), "ALG_NOT_ALLOWED");
  EXPECT_EQ(f.reason(Fixture::forge(R"({"alg":"EdDSA","kid":"nope","typ":"at+jwt"})", payload, f.ed)), "UNKNOWN_KID");
  // No kid: the keys for the algorithm are tried, but only a few.
  std::string no_kid = Fixture::forge(R"({"alg":"EdDSA","typ":"at+jwt"})", payload, f.ed);
  EXPECT_EQ(f.reason(no_kid), "OK");
  KeySet many;  // the right key after four others for the same algorithm
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE(many.add(Key::generate(Algorithm::kEdDSA, "x" + std::to_string(i))->public_key()).ok());
  ASSERT_TRUE(many.add(f.ed.public_key()).ok());
  auto r = Verifier(std::make_shared<StaticKeys>(f.keys), f.options()).verify_with(many, no_kid);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reason(), "UNKNOWN_KID");
}

TEST(Verifier, TimeClaimsWithLeeway) {
  Fixture f;
  auto at = [&](Clock::time_point t, const Claims& c) {
    f.now = t;
    return f.reason(f.sign(f.ed, c));
  };
  Claims c = f.claims();  // iat = now, exp = now + 900, leeway 30s
  EXPECT_EQ(at(kNow + 929s, c), "OK");
  EXPECT_EQ(at(kNow + 930s, c), "TOKEN_EXPIRED");
  EXPECT_EQ(at(kNow - 30s, c), "OK");
  EXPECT_EQ(at(kNow - 31s, c), "TOKEN_NOT_YET_VALID");  // issued in the future
  Claims nbf = f.claims();
  nbf.set_not_before(std::chrono::floor<std::chrono::seconds>(kNow) + 100s);
  EXPECT_EQ(at(kNow + 69s, nbf), "TOKEN_NOT_YET_VALID");
  EXPECT_EQ(at(kNow + 70s, nbf), "OK");
  Claims no_exp = f.claims();
  no_exp.erase("exp");
  EXPECT_EQ(at(kNow, no_exp), "MISSING_CLAIM");
  Claims bad_exp = f.claims();
  bad_exp.set_raw("x", "1");
  std::string bad = Fixture::forge(R"({"alg":"EdDSA","kid":"ed","typ":"at+jwt"})",
                                   R"({"iss":"https://id.example","aud":"orders","exp":"tomorrow"})", f.ed);
  f.now = kNow;
  EXPECT_EQ(f.reason(bad), "MALFORMED_TOKEN");
  // A maximum age (needs iat).
  auto opts = f.options();
  opts.max_age = 60s;
  Verifier aged(std::make_shared<StaticKeys>(f.keys), opts);
  f.now = kNow + 90s;
  EXPECT_EQ(f.reason(aged, f.sign(f.ed, c)), "OK");
  f.now = kNow + 91s;
  EXPECT_EQ(f.reason(aged, f.sign(f.ed, c)), "TOKEN_TOO_OLD");
  Claims no_iat = f.claims();
  no_iat.erase("iat");
  EXPECT_EQ(f.reason(aged, f.sign(f.ed, no_iat)), "MISSING_CLAIM");
}

TEST(Verifier, IssuerAudienceTypeAndCrit) {
  Fixture f;
  Claims c = f.claims();
  EXPECT_EQ(f.reason(f.sign(f.ed, Claims(c).set_issuer("https://evil.example"))), "WRONG_ISSUER");
  EXPECT_EQ(f.reason(f.sign(f.ed, Claims(c).erase("iss"))), "WRONG_ISSUER");
  EXPECT_EQ(f.reason(f.sign(f.ed, Claims(c).set_audience("payments"))), "WRONG_AUDIENCE");
  EXPECT_EQ(f.reason(f.sign(f.ed, Claims(c).set_audience(std::vector<std::string>{"x", "billing"}))), "OK");
  EXPECT_EQ(f.reason(f.sign(f.ed, Claims(c).erase("aud"))), "WRONG_AUDIENCE");
  auto opts = f.options();
  opts.audiences.clear();  // a verifier that is no audience refuses tokens meant for one
  EXPECT_EQ(f.reason(Verifier(std::make_shared<StaticKeys>(f.keys), opts), f.sign(f.ed, c)), "WRONG_AUDIENCE");
  EXPECT_EQ(f.reason(Verifier(std::make_shared<StaticKeys>(f.keys), opts), f.sign(f.ed, Claims(c).erase("aud"))), "OK");
  // Explicit typing: an ID token (typ JWT) is not an access token.
  EXPECT_EQ(f.reason(f.sign(f.ed, c, "JWT")), "WRONG_TYPE");
  EXPECT_EQ(f.reason(f.sign(f.ed, c, "")), "WRONG_TYPE");
  EXPECT_EQ(f.reason(f.sign(f.ed, c, "application/AT+JWT")), "OK");
  std::string payload = c.to_json();
  std::string crit = R"({"alg":"EdDSA","kid":"ed","typ":"at+jwt","crit":["x-bind"],"x-bind":"abc"})";
  EXPECT_EQ(f.reason(Fixture::forge(crit, payload, f.ed)), "UNSUPPORTED_CRIT");
  opts = f.options();
  opts.critical = {"x-bind"};
  EXPECT_EQ(f.reason(Verifier(std::make_shared<StaticKeys>(f.keys), opts), Fixture::forge(crit, payload, f.ed)), "OK");
  EXPECT_EQ(f.reason(Fixture::forge(R"({"alg":"EdDSA","kid":"ed","typ":"at+jwt","cty":"JWT"})", payload, f.ed)),
            "MALFORMED_TOKEN");
  // Claim sets that are not objects, or repeat a name.
  EXPECT_EQ(f.reason(Fixture::forge(R"({"alg":"EdDSA","kid":"ed","typ":"at+jwt"})", "[1]", f.ed)), "MALFORMED_TOKEN");
  EXPECT_EQ(f.reason(Fixture::forge(R"({"alg":"EdDSA","kid":"ed","typ":"at+jwt"})",
                                    R"({"sub":"a","sub":"admin","exp":1800000000})", f.ed)),
            "MALFORMED_TOKEN");
}

TEST(Verifier, OversizeAndGarbageNeverThrow) {
  Fixture f;
  Claims big = f.claims();
  big.set("blob", std::string(10000, 'x'));
  EXPECT_EQ(f.reason(f.sign(f.ed, big)), "TOKEN_TOO_LARGE");
  for (std::string junk : std::vector<std::string>{"", ".", "..", "...", "a.b.c", "eyJ.eyJ.eyJ", "Bearer x",
                                                   std::string(100, '.'), std::string("\0.\0.\0", 5)})
    EXPECT_EQ(f.reason(junk), "MALFORMED_TOKEN") << junk;
  auto deep = Fixture::forge(R"({"alg":"EdDSA","kid":"ed","typ":"at+jwt"})",
                             R"({"x":)" + std::string(200, '[') + std::string(200, ']') + "}", f.ed);
  EXPECT_EQ(f.reason(deep), "MALFORMED_TOKEN");
}

TEST(Issuer, IssuesAccessTokensTheVerifierAccepts) {
  Fixture f;
  KeySet signing;
  ASSERT_TRUE(signing.add(f.ed).ok());
  ASSERT_TRUE(signing.add(f.ec).ok());
  auto issuer = Issuer::create(
      signing, "ec", {.issuer = "https://id.example", .audience = {"orders"}, .clock = [&] { return f.now; }});
  ASSERT_TRUE(issuer.has_value());
  EXPECT_FALSE(Issuer::create(f.keys, "ed", {}).has_value());  // public keys only
  Claims c;
  c.set_subject("user-7").set("roles", std::vector<std::string>{"reader"});
  auto token = issuer->issue(c);
  ASSERT_TRUE(token.has_value());
  auto jws = parse_jws(*token);
  EXPECT_EQ(jws->header.kid, "ec");
  EXPECT_EQ(jws->header.alg, "ES256");
  EXPECT_EQ(jws->header.typ, "at+jwt");
  auto jwks = StaticKeys::from_jwks(issuer->jwks());
  ASSERT_TRUE(jwks.has_value());
  EXPECT_EQ(issuer->jwks().find("\"d\""), std::string::npos);
  Verifier v(*jwks, f.options());
  auto claims = v.verify(*token);
  ASSERT_TRUE(claims.has_value()) << claims.error().to_string();
  EXPECT_EQ(claims->subject(), "user-7");
  EXPECT_EQ(*claims->expires_at() - *claims->issued_at(), 900s);
  EXPECT_EQ(claims->id().size(), 22u);
  EXPECT_NE(v.verify(issuer->issue(c).value())->id(), claims->id());
}

TEST(KeySource, FileKeysRereadOnUnknownKidWithinTheRateLimit) {
  Fixture f;
  auto dir = std::filesystem::temp_directory_path() / ("svckit_auth_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = (dir / "jwks.json").string();
  auto write = [&](const KeySet& s) { std::ofstream(path) << s.to_jwks(); };
  KeySet first;
  ASSERT_TRUE(first.add(f.ed).ok());
  write(first);
  auto source = FileKeys::open(path, 200ms);
  ASSERT_TRUE(source.has_value()) << source.error().to_string();
  auto v = std::make_shared<Verifier>(*source, f.options());
  KeySet rotated = first;
  ASSERT_TRUE(rotated.add(f.ec).ok());
  write(rotated);
  std::string token = f.sign(f.ec, f.claims());
  Runtime rt({.workers = 1, .blocking_threads = 1});
  auto verify = [&] {
    return rt.block_on([](std::shared_ptr<Verifier> v, std::string t) -> Task<Result<Claims>> {
      co_return co_await v->verify(Context(), t);
    }(v, token));
  };
  EXPECT_EQ(verify().error().reason(), "UNKNOWN_KID");  // opened just now: the rate limit holds
  std::this_thread::sleep_for(250ms);
  EXPECT_TRUE(verify().has_value());  // re-read, then verified
  // A file that breaks keeps the set loaded before.
  std::ofstream(path) << "{not json";
  std::this_thread::sleep_for(250ms);
  std::string unknown = Fixture::forge(R"({"alg":"EdDSA","kid":"no","typ":"at+jwt"})", "{}", f.ed);
  EXPECT_EQ(rt.block_on([](std::shared_ptr<Verifier> v, std::string t) -> Task<Result<Claims>> {
                co_return co_await v->verify(Context(), t);
              }(v, unknown))
                .error()
                .reason(),
            "UNKNOWN_KID");
  EXPECT_TRUE(verify().has_value());
  std::filesystem::remove_all(dir);
}

TEST(Settings, VerifierOptionsFromSettings) {
  VerifierSettings s;
  s.issuer = "https://id.example";
  s.algorithms = {"EdDSA", "RS256"};
  auto o = s.verifier_options();
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->algorithms, (std::vector<Algorithm>{Algorithm::kEdDSA, Algorithm::kRS256}));
  EXPECT_EQ(o->typ, "at+jwt");
  s.algorithms = {"HS256"};
  EXPECT_FALSE(s.verifier_options().has_value());
  s.algorithms = {"none"};
  EXPECT_FALSE(s.verifier_options().has_value());
}

}  // namespace
}  // namespace svckit::auth
