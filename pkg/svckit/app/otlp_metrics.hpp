#pragma once
// Optional OTLP metrics push (`POST /v1/metrics`): every `interval` the registry is rendered and sent
// as an ExportMetricsServiceRequest under the service's Resource (the same one its spans and logs
// carry). Counters become cumulative monotonic sums, gauges gauges, histograms cumulative explicit-
// bucket histograms. It reads the registry through its exposition text, as the OpenTelemetry
// Collector's Prometheus receiver does, so collectors (process, runtime, trace counters) travel too.
// Pull (/metrics) stays the primary path; push is for backends that cannot scrape.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "svckit/metrics/metrics.hpp"
#include "svckit/trace/otlp.hpp"

namespace svckit::app {

// One parsed family of the Prometheus text format 0.0.4.
struct ParsedFamily {
  struct Sample {
    std::vector<std::pair<std::string, std::string>> labels;  // without `le`
    double value = 0;
    // histograms: cumulative counts per upper bound (the last is +Inf), sum and count
    std::vector<std::pair<double, double>> buckets;
    double sum = 0;
    double count = 0;
  };
  std::string name;
  std::string help;
  std::string type;  // counter, gauge, histogram, summary, untyped
  std::vector<Sample> samples;
};
// Parses exposition text; INVALID_ARGUMENT with the line number on a malformed line.
Result<std::vector<ParsedFamily>> parse_prometheus_text(std::string_view text);

std::string encode_otlp_metrics_json(const std::vector<ParsedFamily>& families, const trace::Resource& resource,
                                     std::int64_t start_ns, std::int64_t now_ns);

struct OtlpMetricsOptions {
  trace::OtlpOptions otlp{.endpoint = "http://127.0.0.1:4318/v1/metrics"};
  std::chrono::milliseconds interval{30000};
};

class OtlpMetricsPusher {
 public:
  OtlpMetricsPusher(metrics::Registry& registry, OtlpMetricsOptions options, trace::Resource resource,
                    trace::Transport transport);
  ~OtlpMetricsPusher();  // stops without a last push; call shutdown() for one
  // Pushes once now (blocking; not from an event loop).
  Status push();
  // A final push, then stops the thread.
  void shutdown();
  std::uint64_t pushes() const noexcept { return pushes_.load(); }
  std::uint64_t failures() const noexcept { return failures_.load(); }

 private:
  void run();
  metrics::Registry& registry_;
  OtlpMetricsOptions options_;
  trace::Resource resource_;
  trace::OtlpClient client_;
  std::int64_t start_ns_;
  std::mutex mu_, push_mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::atomic<std::uint64_t> pushes_{0}, failures_{0};
  std::thread thread_;
};

}  // namespace svckit::app
