// Signing and verification per algorithm (make bench-auth): the raw signature over a token-sized
// signing input (what `openssl speed` measures, so bench/auth/run.sh can report ratios against it),
// a whole access token signed, and a whole token verified (parse, key lookup, signature, claims).
#include <benchmark/benchmark.h>

#include "svckit/auth/issuer.hpp"
#include "svckit/auth/verifier.hpp"

namespace svckit::auth {
namespace {

struct Setup {
  Key key;
  KeySet keys;
  Claims claims;
  std::string token;
  std::unique_ptr<Verifier> verifier;
  explicit Setup(Algorithm alg) : key(Key::generate(alg, "k").value()) {
    (void)keys.add(key.public_key());
    auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    claims.set_issuer("https://id.example").set_subject("user-42").set_audience("orders");
    claims.set_issued_at(now).set_expires_at(now + std::chrono::hours(1)).set_id("jti-0123456789abcdef");
    claims.set("roles", std::vector<std::string>{"admin", "reader"});
    token = sign_jwt(key, claims, {.typ = "at+jwt"}).value();
    verifier = std::make_unique<Verifier>(
        std::make_shared<StaticKeys>(keys),
        VerifierOptions{.algorithms = {alg}, .issuer = "https://id.example", .audiences = {"orders"}, .typ = "at+jwt"});
  }
  std::string_view signing_input() const { return std::string_view(token).substr(0, token.rfind('.')); }
};

Setup& setup(Algorithm alg) {
  static Setup ed(Algorithm::kEdDSA), ec(Algorithm::kES256), rs(Algorithm::kRS256), ps(Algorithm::kPS256);
  switch (alg) {
    case Algorithm::kEdDSA:
      return ed;
    case Algorithm::kES256:
      return ec;
    case Algorithm::kRS256:
      return rs;
    case Algorithm::kPS256:
      break;
  }
  return ps;
}

void BM_RawSign(benchmark::State& state, Algorithm alg) {
  Setup& s = setup(alg);
  std::string_view input = s.signing_input();
  for (auto _ : state) benchmark::DoNotOptimize(s.key.sign(input));
}

void BM_RawVerify(benchmark::State& state, Algorithm alg) {
  Setup& s = setup(alg);
  std::string_view input = s.signing_input();
  std::string sig = s.key.sign(input).value();
  for (auto _ : state) benchmark::DoNotOptimize(s.key.verify(input, sig));
}

void BM_SignToken(benchmark::State& state, Algorithm alg) {
  Setup& s = setup(alg);
  for (auto _ : state) benchmark::DoNotOptimize(sign_jwt(s.key, s.claims, {.typ = "at+jwt"}));
}

void BM_VerifyToken(benchmark::State& state, Algorithm alg) {
  Setup& s = setup(alg);
  for (auto _ : state) {
    auto claims = s.verifier->verify(s.token);
    if (!claims) state.SkipWithError("verification failed");
    benchmark::DoNotOptimize(claims);
  }
}

void BM_ParseToken(benchmark::State& state) {
  Setup& s = setup(Algorithm::kEdDSA);
  for (auto _ : state) benchmark::DoNotOptimize(parse_jws(s.token));
}

#define SVCKIT_AUTH_BENCH(fn)                      \
  BENCHMARK_CAPTURE(fn, EdDSA, Algorithm::kEdDSA); \
  BENCHMARK_CAPTURE(fn, ES256, Algorithm::kES256); \
  BENCHMARK_CAPTURE(fn, RS256, Algorithm::kRS256); \
  BENCHMARK_CAPTURE(fn, PS256, Algorithm::kPS256)
SVCKIT_AUTH_BENCH(BM_RawSign);
SVCKIT_AUTH_BENCH(BM_RawVerify);
SVCKIT_AUTH_BENCH(BM_SignToken);
SVCKIT_AUTH_BENCH(BM_VerifyToken);
BENCHMARK(BM_ParseToken);

}  // namespace
}  // namespace svckit::auth

BENCHMARK_MAIN();
