// Hot-path costs of the metrics (make bench-metrics). Targets from the observability issue:
// counter inc ≤ 5 ns, labelled inc with a cached handle ≤ 10 ns, histogram observe ≤ 20 ns,
// rendering 10,000 series ≤ 5 ms.
#include <benchmark/benchmark.h>

#include <array>

#include "svckit/metrics/metrics.hpp"

namespace {

using namespace svckit::metrics;

void BM_CounterInc(benchmark::State& state) {
  Registry r;
  Counter c = r.counter({.name = "b_total", .help = "x"});
  for (auto _ : state) c.inc();
  benchmark::DoNotOptimize(c.value());
}
BENCHMARK(BM_CounterInc)->ThreadRange(1, 2);

void BM_LabelledIncCachedHandle(benchmark::State& state) {
  static Registry r;
  static auto& v = r.counter_vec({.name = "b_labelled_total", .help = "x"}, {"method", "route", "status"});
  Counter c = v.with({"GET", "/users/:id", "200"});
  for (auto _ : state) c.inc();
}
BENCHMARK(BM_LabelledIncCachedHandle)->ThreadRange(1, 2);

void BM_LabelledIncLookup(benchmark::State& state) {
  static Registry r;
  static auto& v = r.counter_vec({.name = "b_lookup_total", .help = "x"}, {"method", "route", "status"});
  for (auto _ : state) v.with({"GET", "/users/:id", "200"}).inc();
}
BENCHMARK(BM_LabelledIncLookup)->ThreadRange(1, 2);

void BM_HistogramObserve(benchmark::State& state) {
  static Registry r;
  static Histogram h = r.histogram({.name = "b_seconds", .help = "x"});
  double v = 0.0001;
  for (auto _ : state) {
    h.observe(v);
    v = v > 20 ? 0.0001 : v * 1.7;  // walks every bucket
  }
}
BENCHMARK(BM_HistogramObserve)->ThreadRange(1, 2);

// An observation under a sampled span: the bucket's exemplar slot is shared by the threads.
void BM_HistogramObserveExemplar(benchmark::State& state) {
  static Registry r;
  static Histogram h = r.histogram({.name = "b_exemplar_seconds", .help = "x"});
  std::array<std::uint8_t, 16> trace{1, 2, 3};
  std::array<std::uint8_t, 8> span{4, 5, 6};
  double v = 0.0001;
  for (auto _ : state) {
    h.observe(v, {trace, span});
    v = v > 20 ? 0.0001 : v * 1.7;
  }
}
BENCHMARK(BM_HistogramObserveExemplar)->ThreadRange(1, 2);

void BM_GaugeIncDec(benchmark::State& state) {
  static Registry r;
  static Gauge g = r.gauge({.name = "b_inflight", .help = "x"});
  for (auto _ : state) {
    g.inc();
    g.dec();
  }
}
BENCHMARK(BM_GaugeIncDec);

void BM_Render10kSeries(benchmark::State& state) {
  Registry r;
  auto& c = r.counter_vec({.name = "b_series_total", .help = "x", .max_series = 20000}, {"route", "status"});
  auto& h = r.histogram_vec({.name = "b_series_seconds", .help = "x"}, {"route"});
  // 9,000 counter series + 77 histograms × 13 series = 10,001 series.
  for (int i = 0; i < 9000; ++i) c.with({"/r" + std::to_string(i / 9), std::to_string(200 + i % 9)}).inc(i);
  for (int i = 0; i < 77; ++i) h.with({"/r" + std::to_string(i)}).observe(i * 0.01);
  std::string out;
  for (auto _ : state) {
    out.clear();
    r.render_to(out, Format::kPrometheus);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_Render10kSeries)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
