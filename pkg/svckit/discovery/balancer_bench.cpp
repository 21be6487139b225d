// Pick cost of each balancer at 3 and 100 instances (the target: P2C at most 50 ns a pick), with a
// report after every pick for the latency-aware one, as a client does.
#include <benchmark/benchmark.h>

#include "svckit/discovery/balancer.hpp"

namespace {

using svckit::discovery::Instance;
using svckit::discovery::Policy;

std::vector<Instance> set_of(int n) {
  std::vector<Instance> set;
  for (int k = 0; k < n; ++k) {
    Instance i;
    i.id = "instance-" + std::to_string(k);
    i.name = "user-svc";
    i.endpoints = {"http://10.0.0." + std::to_string(k % 250 + 1) + ":8080"};
    i.weight = 50 + static_cast<std::uint32_t>(k % 3) * 50;
    set.push_back(std::move(i));
  }
  return set;
}

void BM_Pick(benchmark::State& state, Policy policy) {
  auto b = svckit::discovery::make_balancer(policy);
  b->update(set_of(static_cast<int>(state.range(0))));
  std::string key = "session-12345";
  for (auto _ : state) {
    const Instance* i = b->pick({.key = key});
    benchmark::DoNotOptimize(i);
  }
}

void BM_PickAndReport(benchmark::State& state) {
  auto b = svckit::discovery::make_balancer(Policy::kP2C);
  b->update(set_of(static_cast<int>(state.range(0))));
  for (auto _ : state) {
    const Instance* i = b->pick({});
    b->report(i->id, std::chrono::microseconds(800), true);
  }
}

BENCHMARK_CAPTURE(BM_Pick, round_robin, Policy::kRoundRobin)->Arg(3)->Arg(100);
BENCHMARK_CAPTURE(BM_Pick, weighted, Policy::kWeighted)->Arg(3)->Arg(100);
BENCHMARK_CAPTURE(BM_Pick, p2c, Policy::kP2C)->Arg(3)->Arg(100);
BENCHMARK_CAPTURE(BM_Pick, consistent_hash, Policy::kConsistentHash)->Arg(3)->Arg(100);
BENCHMARK(BM_PickAndReport)->Arg(3)->Arg(100);

}  // namespace

BENCHMARK_MAIN();
