#include "svckit/trace/settings.hpp"

namespace svckit::trace {

void TraceSettings::describe(config::Binder<TraceSettings>& b) {
  b.field("exporter", &TraceSettings::exporter).doc("where finished spans go: none, stdout or otlp");
  b.field("otlp_endpoint", &TraceSettings::otlp_endpoint).non_empty().doc("OTLP/HTTP traces URL");
  b.field("otlp_gzip", &TraceSettings::otlp_gzip);
  b.field("otlp_timeout", &TraceSettings::otlp_timeout)
      .range(std::chrono::milliseconds(100), std::chrono::milliseconds(120000));
  b.field("sampler", &TraceSettings::sampler)
      .doc("always_on, always_off, ratio, or parent_ratio (the parent's decision, else ratio)");
  b.field("ratio", &TraceSettings::ratio).range(0.0, 1.0).doc("fraction of new traces sampled");
  b.field("propagation", &TraceSettings::propagation)
      .check(
          [](const std::vector<std::string>& v) {
            for (auto& f : v)
              if (!parse_format(f)) return false;
            return !v.empty();
          },
          "must list one or more of w3c, b3, b3multi, jaeger");
  b.field("queue_size", &TraceSettings::queue_size).range(1, 1000000);
  b.field("batch_size", &TraceSettings::batch_size).range(1, 100000);
  b.field("export_interval", &TraceSettings::export_interval)
      .range(std::chrono::milliseconds(10), std::chrono::milliseconds(600000));
  b.field("recent_spans", &TraceSettings::recent_spans).range(0, 100000);
}

TracingSetup make_tracing(const TraceSettings& s, Resource resource, Transport transport) {
  TracingSetup out;
  TracerOptions o;
  o.resource = std::move(resource);
  switch (s.sampler) {
    case SamplerKind::kAlwaysOn:
      o.sampler = always_on();
      break;
    case SamplerKind::kAlwaysOff:
      o.sampler = always_off();
      break;
    case SamplerKind::kRatio:
      o.sampler = ratio(s.ratio);
      break;
    case SamplerKind::kParentRatio:
      o.sampler = parent_based(ratio(s.ratio));
      break;
  }
  o.propagation.clear();
  for (auto& f : s.propagation)
    if (auto p = parse_format(f)) o.propagation.push_back(*p);
  if (s.recent_spans > 0) {
    out.recent = std::make_shared<RingBufferProcessor>(static_cast<std::size_t>(s.recent_spans));
    o.processors.push_back(out.recent);
  }
  std::shared_ptr<SpanExporter> exporter;
  if (s.exporter == ExporterKind::kStdout) {
    exporter = std::make_shared<StreamExporter>(stdout);
  } else if (s.exporter == ExporterKind::kOtlp) {
    if (!transport) throw std::invalid_argument("trace.exporter otlp needs an HTTP transport");
    exporter = std::make_shared<OtlpHttpExporter>(
        OtlpOptions{.endpoint = s.otlp_endpoint, .gzip = s.otlp_gzip, .timeout = s.otlp_timeout}, std::move(transport));
  }
  if (exporter) {
    out.batch = std::make_shared<BatchSpanProcessor>(exporter, o.resource,
                                                     BatchOptions{.max_queue = static_cast<std::size_t>(s.queue_size),
                                                                  .max_batch = static_cast<std::size_t>(s.batch_size),
                                                                  .interval = s.export_interval});
    o.processors.push_back(out.batch);
  }
  out.tracer = std::make_shared<Tracer>(std::move(o));
  return out;
}

}  // namespace svckit::trace
