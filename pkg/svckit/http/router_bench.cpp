// Router lookup on the GitHub API route set (203 routes): every route's concrete path looked up in turn.
#include <benchmark/benchmark.h>

#include "svckit/http/router.hpp"
#include "svckit/testing/github_routes.hpp"

namespace {
using namespace svckit::http;

struct Fixture {
  Router router;
  std::vector<std::pair<Method, std::string>> paths;
  RequestHead head;
  Fixture() {
    for (auto& [m, p] : testdata::kGithubRoutes) {
      router.handle(m, p, [](Request&, Response&) {});
      paths.emplace_back(m, testdata::concrete_path(p));
    }
    router.freeze();
  }
};

void BM_GithubAllRoutes(benchmark::State& state) {
  static Fixture f;
  Request req;
  req.set_head(&f.head);
  std::size_t i = 0;
  for (auto _ : state) {
    auto& [m, p] = f.paths[i];
    auto match = f.router.find(m, p, req);
    benchmark::DoNotOptimize(match.route);
    if (++i == f.paths.size()) i = 0;
  }
  state.SetLabel("ns per lookup, 203 routes");
}
BENCHMARK(BM_GithubAllRoutes);

void BM_GithubStatic(benchmark::State& state) {
  static Fixture f;
  Request req;
  req.set_head(&f.head);
  for (auto _ : state) benchmark::DoNotOptimize(f.router.find(Method::kGet, "/user/repos", req).route);
}
BENCHMARK(BM_GithubStatic);

void BM_GithubParam(benchmark::State& state) {
  static Fixture f;
  Request req;
  req.set_head(&f.head);
  for (auto _ : state)
    benchmark::DoNotOptimize(f.router.find(Method::kGet, "/repos/julienschmidt/httprouter/stargazers", req).route);
}
BENCHMARK(BM_GithubParam);
}  // namespace

BENCHMARK_MAIN();
