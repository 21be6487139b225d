// The price of identity at the edge per request (cmake --preset bench; build svckit_gateway_bench):
// a token verified from scratch (parse, signature, claims, the principal and its headers) against
// one answered by the verified-token cache, and the bare auth::Verifier for reference.
#include <benchmark/benchmark.h>

#include "edge_auth.hpp"
#include "svckit/auth/issuer.hpp"

namespace svckit::gateway {
namespace {

struct Setup {
  auth::Key key;
  std::string token;
  std::shared_ptr<auth::Verifier> verifier;
  explicit Setup(auth::Algorithm alg) : key(auth::Key::generate(alg, "k").value()) {
    auth::KeySet keys;
    (void)keys.add(key);
    auto issuer = auth::Issuer::create(keys, "k", {.issuer = "https://id.example", .audience = {"api"}}).value();
    auth::Claims c;
    c.set_subject("user-42").set("roles", std::vector<std::string>{"admin", "reader"}).set("scope", "orders:read");
    token = issuer.issue(std::move(c)).value();
    verifier = std::make_shared<auth::Verifier>(
        std::make_shared<auth::StaticKeys>(keys.public_set()),
        auth::VerifierOptions{
            .algorithms = {alg}, .issuer = "https://id.example", .audiences = {"api"}, .typ = "at+jwt"});
  }
};

Setup& setup(auth::Algorithm alg) {
  static Setup ed(auth::Algorithm::kEdDSA), ec(auth::Algorithm::kES256), rs(auth::Algorithm::kRS256);
  return alg == auth::Algorithm::kEdDSA ? ed : alg == auth::Algorithm::kES256 ? ec : rs;
}

void BM_Verifier(benchmark::State& state, auth::Algorithm alg) {
  Setup& s = setup(alg);
  for (auto _ : state) {
    auto claims = s.verifier->verify(s.token);
    if (!claims) state.SkipWithError("verification failed");
    benchmark::DoNotOptimize(claims);
  }
}

// Every request verified: the cache off.
void BM_EdgeVerifyCold(benchmark::State& state, auth::Algorithm alg) {
  Setup& s = setup(alg);
  EdgeAuth edge(s.verifier, {.cache_size = 0});
  for (auto _ : state) {
    auto id = edge.verify_now(s.token, edge.algorithms());
    if (!id) state.SkipWithError("verification failed");
    benchmark::DoNotOptimize(id);
  }
}

// The same token again: a hash lookup and the time checks.
void BM_EdgeVerifyCached(benchmark::State& state, auth::Algorithm alg) {
  Setup& s = setup(alg);
  static EdgeAuth* edge = nullptr;  // shared by the threads of a run
  if (state.thread_index() == 0) {
    edge = new EdgeAuth(s.verifier, {});
    (void)edge->verify_now(s.token, edge->algorithms());
  }
  bool hit = false;
  for (auto _ : state) {
    auto id = edge->verify_now(s.token, edge->algorithms(), &hit);
    if (!id || !hit) state.SkipWithError("not a cache hit");
    benchmark::DoNotOptimize(id);
  }
  if (state.thread_index() == 0) {
    delete edge;
    edge = nullptr;
  }
}

BENCHMARK_CAPTURE(BM_Verifier, EdDSA, auth::Algorithm::kEdDSA);
BENCHMARK_CAPTURE(BM_Verifier, ES256, auth::Algorithm::kES256);
BENCHMARK_CAPTURE(BM_Verifier, RS256, auth::Algorithm::kRS256);
BENCHMARK_CAPTURE(BM_EdgeVerifyCold, EdDSA, auth::Algorithm::kEdDSA);
BENCHMARK_CAPTURE(BM_EdgeVerifyCold, ES256, auth::Algorithm::kES256);
BENCHMARK_CAPTURE(BM_EdgeVerifyCold, RS256, auth::Algorithm::kRS256);
BENCHMARK_CAPTURE(BM_EdgeVerifyCached, EdDSA, auth::Algorithm::kEdDSA)->Threads(1)->Threads(2);

}  // namespace
}  // namespace svckit::gateway

BENCHMARK_MAIN();
