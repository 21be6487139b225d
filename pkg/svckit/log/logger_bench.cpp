// Logger micro-benchmarks, the same two cases Zap and zerolog publish (bench/log/run.sh runs the Go
// peers, configured for the same output, in the same run): a message with 10 fields, and a message
// from a logger that carries 10 context fields. allocs_per_op counts operator new calls.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "svckit/core/status.hpp"
#include "svckit/log/logger.hpp"

namespace {
std::atomic<std::uint64_t> g_allocs{0};
}

void* operator new(std::size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace {

using namespace std::chrono_literals;
using svckit::log::Logger;

Logger make_logger(std::shared_ptr<svckit::log::Sink> sink) {
  return Logger({.level = svckit::log::Level::kInfo, .sink = std::move(sink)});
}

void report_allocs(benchmark::State& state, std::uint64_t before) {
  state.counters["allocs_per_op"] =
      static_cast<double>(g_allocs.load() - before) / static_cast<double>(state.iterations());
}

// The 10 fields of Zap's benchmark, by type: what both message benchmarks log.
inline void log_ten_fields(const Logger& logger, const svckit::Status& err,
                           std::chrono::system_clock::time_point when) {
  logger.info("Go fast.", {{"int", 1},
                           {"int64", std::int64_t{2}},
                           {"string", "three"},
                           {"string2", "four, five"},
                           {"bool", true},
                           {"float", 6.5},
                           {"duration", 7ms},
                           {"time", when},
                           {"error", err},
                           {"uint", 8u}});
}

void BM_Message10Fields(benchmark::State& state) {
  Logger logger = make_logger(std::make_shared<svckit::log::DiscardSink>());
  svckit::Status err(svckit::Code::kUnavailable, "connection refused");
  auto when = std::chrono::system_clock::now();
  logger.info("warm up the thread's buffer", {{"s", std::string(512, 'x')}});
  auto before = g_allocs.load();
  for (auto _ : state) {
    log_ten_fields(logger, err, when);
  }
  report_allocs(state, before);
}
BENCHMARK(BM_Message10Fields);

void BM_AccumulatedContext10Fields(benchmark::State& state) {
  Logger base = make_logger(std::make_shared<svckit::log::DiscardSink>());
  svckit::Status err(svckit::Code::kUnavailable, "connection refused");
  Logger logger = base.with({{"int", 1},
                             {"int64", std::int64_t{2}},
                             {"string", "three"},
                             {"string2", "four, five"},
                             {"bool", true},
                             {"float", 6.5},
                             {"duration", 7ms},
                             {"time", std::chrono::system_clock::now()},
                             {"error", err},
                             {"uint", 8u}});
  logger.info("warm up");
  auto before = g_allocs.load();
  for (auto _ : state) logger.info("Go really fast.");
  report_allocs(state, before);
}
BENCHMARK(BM_AccumulatedContext10Fields);

void BM_DisabledLevel(benchmark::State& state) {
  Logger logger = make_logger(std::make_shared<svckit::log::DiscardSink>());
  for (auto _ : state) logger.debug("Should be discarded.", {{"int", 1}, {"string", "x"}});
}
BENCHMARK(BM_DisabledLevel);

// What a service actually runs: the async sink in front of a (discarding) writer.
void BM_Message10FieldsAsyncSink(benchmark::State& state) {
  auto async = std::make_shared<svckit::log::AsyncSink>(std::make_shared<svckit::log::DiscardSink>());
  Logger logger = make_logger(async);
  svckit::Status err(svckit::Code::kUnavailable, "connection refused");
  auto when = std::chrono::system_clock::now();
  logger.info("warm up", {{"s", std::string(512, 'x')}});
  auto before = g_allocs.load();
  for (auto _ : state) {
    log_ten_fields(logger, err, when);
  }
  report_allocs(state, before);
  state.counters["dropped"] = static_cast<double>(logger.dropped());
}
BENCHMARK(BM_Message10FieldsAsyncSink);

}  // namespace

BENCHMARK_MAIN();
