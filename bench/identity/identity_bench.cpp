// argon2id at identity's default parameters (2 passes, 64 MiB: libsodium's interactive level) and at
// the minimum the tests use, and an access token as a login issues it. Per core: each iteration is one
// hash or one verification on the calling thread, as the blocking pool runs them.
#include <benchmark/benchmark.h>

#include "passwords.hpp"
#include "svckit/auth/issuer.hpp"

namespace {

using svckit::identity::Argon2Params;
using svckit::identity::PasswordHasher;

void BM_Argon2idHash(benchmark::State& state) {
  PasswordHasher h(
      Argon2Params{static_cast<std::uint64_t>(state.range(0)), static_cast<std::uint64_t>(state.range(1))});
  for (auto _ : state) benchmark::DoNotOptimize(h.hash("correct-horse-battery"));
}
BENCHMARK(BM_Argon2idHash)->Args({2, 64 << 20})->Args({1, 8 << 10})->Unit(benchmark::kMillisecond);

void BM_Argon2idVerify(benchmark::State& state) {
  PasswordHasher h(
      Argon2Params{static_cast<std::uint64_t>(state.range(0)), static_cast<std::uint64_t>(state.range(1))});
  auto hash = h.hash("correct-horse-battery");
  for (auto _ : state) benchmark::DoNotOptimize(h.verify(*hash, "correct-horse-battery"));
}
BENCHMARK(BM_Argon2idVerify)->Args({2, 64 << 20})->Args({1, 8 << 10})->Unit(benchmark::kMillisecond);

void BM_IssueAccessToken(benchmark::State& state) {
  auto key = svckit::auth::Key::generate(svckit::auth::Algorithm::kEdDSA);
  svckit::auth::KeySet keys;
  (void)keys.add(*key);
  auto issuer = svckit::auth::Issuer::create(std::move(keys), key->kid(),
                                             {.issuer = "http://127.0.0.1:8080", .audience = {"svckit"}});
  for (auto _ : state) {
    svckit::auth::Claims claims;
    claims.set_subject("1001").set("roles", std::vector<std::string>{"citizen"}).set("email", "ann@example.com");
    benchmark::DoNotOptimize(issuer->issue(std::move(claims)));
  }
}
BENCHMARK(BM_IssueAccessToken)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
