#pragma once
// The `trace:` configuration section and the Tracer it builds (with a batch exporter and the ring
// buffer of recent spans behind /debug/traces).
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "svckit/config/binder.hpp"
#include "svckit/trace/otlp.hpp"
#include "svckit/trace/tracer.hpp"

namespace svckit::trace {

enum class ExporterKind { kNone, kStdout, kOtlp };
constexpr auto config_names(ExporterKind) {
  return std::array{std::pair{ExporterKind::kNone, "none"}, std::pair{ExporterKind::kStdout, "stdout"},
                    std::pair{ExporterKind::kOtlp, "otlp"}};
}
enum class SamplerKind { kAlwaysOn, kAlwaysOff, kRatio, kParentRatio };
constexpr auto config_names(SamplerKind) {
  return std::array{std::pair{SamplerKind::kAlwaysOn, "always_on"}, std::pair{SamplerKind::kAlwaysOff, "always_off"},
                    std::pair{SamplerKind::kRatio, "ratio"}, std::pair{SamplerKind::kParentRatio, "parent_ratio"}};
}

struct TraceSettings {
  ExporterKind exporter = ExporterKind::kNone;
  std::string otlp_endpoint = "http://127.0.0.1:4318/v1/traces";
  bool otlp_gzip = false;
  std::chrono::milliseconds otlp_timeout{10000};
  SamplerKind sampler = SamplerKind::kParentRatio;
  double ratio = 1.0;
  std::vector<std::string> propagation = {"w3c", "b3", "jaeger"};
  int queue_size = 2048;
  int batch_size = 512;
  std::chrono::milliseconds export_interval{5000};
  int recent_spans = 256;

  static void describe(config::Binder<TraceSettings>& b);
};

struct TracingSetup {
  std::shared_ptr<Tracer> tracer;
  std::shared_ptr<RingBufferProcessor> recent;
  std::shared_ptr<BatchSpanProcessor> batch;  // null with exporter: none
};

// `transport` is needed for exporter: otlp (http::otlp_transport provides one).
TracingSetup make_tracing(const TraceSettings& settings, Resource resource, Transport transport = nullptr);

}  // namespace svckit::trace
