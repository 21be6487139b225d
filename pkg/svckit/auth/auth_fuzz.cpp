// libFuzzer target for the token parser and verifier (make fuzz): every input is tried as a compact
// JWS, as a token for a verifier with real keys, as a claim set, as a JWK and as a JWKS. Besides
// crashes and sanitizer reports it checks the parsers' promises: base64url has one text per byte
// string (decode then encode gives the input back), a parsed JWS's signing input is the token's
// first two parts, and no token of the fuzzer's making verifies.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "svckit/auth/base64url.hpp"
#include "svckit/auth/verifier.hpp"

using namespace svckit;
using namespace svckit::auth;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

struct Keys final : KeySource {
  std::shared_ptr<const KeySet> set;
  std::shared_ptr<const KeySet> keys() const override { return set; }
};

const Verifier& verifier() {
  static const Verifier v = [] {
    auto source = std::make_shared<Keys>();
    KeySet set;
    // Fixed kids the seed corpus names, so that inputs reach the signature check.
    (void)set.add(Key::generate(Algorithm::kEdDSA, "ed").value());
    (void)set.add(Key::generate(Algorithm::kES256, "ec").value());
    (void)set.add(Key::generate(Algorithm::kRS256, "rsa").value());
    source->set = std::make_shared<const KeySet>(std::move(set));
    return Verifier(source, {.algorithms = {Algorithm::kEdDSA, Algorithm::kES256, Algorithm::kRS256},
                             .required_claims = {},
                             .leeway = std::chrono::seconds(0),
                             .max_token_bytes = 4096});
  }();
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t len) {
  std::string_view in(reinterpret_cast<const char*>(bytes), len);

  if (auto raw = base64url_decode(in)) require(base64url_encode(*raw) == in);

  if (auto jws = parse_jws(in)) {
    require(in.starts_with(jws->signing_input));
    require(jws->signing_input.size() < in.size() && in[jws->signing_input.size()] == '.');
    require(!jws->header.alg.empty() || in.find("\"alg\"") != std::string_view::npos);
  }
  // Verifying needs a signature made with one of the keys, which the fuzzer cannot make.
  auto claims = verifier().verify(in);
  require(!claims.has_value());
  require(claims.error().code() == svckit::Code::kUnauthenticated);

  if (auto c = Claims::parse(in)) {
    auto again = Claims::parse(c->to_json());  // what parsed re-encodes to what parses the same
    require(again.has_value() && again->members().size() == c->members().size());
    require(again->subject() == c->subject() && again->expires_at() == c->expires_at());
  }
  if (auto k = Key::from_jwk(in)) {
    auto back = Key::from_jwk(k->to_jwk(true));
    require(back.has_value() && back->thumbprint() == k->thumbprint());
  }
  (void)KeySet::from_jwks(in);
  return 0;
}
