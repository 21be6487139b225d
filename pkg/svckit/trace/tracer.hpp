#pragma once
// Spans and the Tracer that makes them. A Span is a move-only handle that ends when destroyed (or at
// end()); an unsampled span records nothing and costs little. Finished spans go to processors: a
// batch processor that exports in the background (bounded queue, drops counted, never blocks the
// caller) and a ring buffer of recent spans for /debug/traces.
//
// ```cpp
//   auto tracer = std::make_shared<trace::Tracer>(trace::TracerOptions{
//       .resource = trace::Resource::detect("user-svc", "1.2.0", "prod"),
//       .sampler = trace::parent_based(trace::ratio(0.1))});
//   trace::Span span = tracer->start(req.ctx, "load user", trace::SpanKind::kInternal);
//   Context ctx = trace::with_span(req.ctx, span.context());   // children and outgoing calls use it
//   span.set_attribute("user.id", req.param("id"));
// ```
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include "svckit/core/context.hpp"
#include "svckit/core/status.hpp"
#include "svckit/trace/context.hpp"

namespace svckit::trace {

enum class SpanKind : std::uint8_t { kInternal = 1, kServer = 2, kClient = 3, kProducer = 4, kConsumer = 5 };
enum class StatusCode : std::uint8_t { kUnset = 0, kOk = 1, kError = 2 };

using AttributeValue = std::variant<bool, std::int64_t, double, std::string>;
struct Attribute {
  std::string key;
  AttributeValue value;
};
struct Event {
  std::string name;
  std::int64_t time_ns = 0;
  std::vector<Attribute> attributes;
};
struct Link {
  SpanContext context;
  std::vector<Attribute> attributes;
};

// A finished (or, in the ring buffer, finished) span.
struct SpanData {
  SpanContext context;
  SpanId parent_span_id;  // zero for a root span
  std::string name;
  SpanKind kind = SpanKind::kInternal;
  std::int64_t start_ns = 0;  // Unix epoch nanoseconds
  std::int64_t end_ns = 0;
  std::vector<Attribute> attributes;
  std::vector<Event> events;
  std::vector<Link> links;
  StatusCode status = StatusCode::kUnset;
  std::string status_message;
  std::uint32_t dropped_attributes = 0;
  std::uint32_t dropped_events = 0;
  std::uint32_t dropped_links = 0;
};

// Who produced the telemetry: service.name, service.version, deployment.environment, host.name,
// service.instance.id (and whatever else is added). Shared by traces, logs and metrics export.
struct Resource {
  std::vector<Attribute> attributes;
  static Resource detect(std::string service_name, std::string service_version = "", std::string environment = "");
  std::string_view get(std::string_view key) const noexcept;  // string attributes
};

struct SpanLimits {
  std::uint32_t max_attributes = 128;
  std::uint32_t max_events = 128;
  std::uint32_t max_links = 128;
  std::uint32_t max_attribute_length = 4096;  // longer string values are cut
};

class Sampler {
 public:
  virtual ~Sampler() = default;
  virtual bool should_sample(const std::optional<SpanContext>& parent, const TraceId& trace_id) const = 0;
  virtual std::string description() const = 0;
};
std::shared_ptr<const Sampler> always_on();
std::shared_ptr<const Sampler> always_off();
// Samples the fraction `p` of traces, decided by the trace id (so every service agrees).
std::shared_ptr<const Sampler> ratio(double p);
// Follows the parent's decision when there is one; otherwise asks `root`.
std::shared_ptr<const Sampler> parent_based(std::shared_ptr<const Sampler> root);

class SpanProcessor {
 public:
  virtual ~SpanProcessor() = default;
  virtual void on_end(const SpanData& span) = 0;
  // The tracer's last processor gets the span to keep: nothing reads it afterwards, so a processor
  // that stores spans moves it instead of copying every attribute string.
  virtual void on_end_moved(SpanData&& span) { on_end(span); }
  // The same, with the span's storage itself: a processor that keeps spans may take it and hand back
  // other storage in its place (a ring, the span it evicts) or none; the tracer reuses what it gets
  // back for a later span. Default: on_end_moved(*span).
  virtual void on_end_owned(std::unique_ptr<SpanData>& span) { on_end_moved(std::move(*span)); }
  virtual void force_flush() {}
  virtual void shutdown() {}
};

class SpanExporter {
 public:
  virtual ~SpanExporter() = default;
  // Called from the batch processor's thread, never from an event loop: it may block.
  virtual Status export_spans(std::span<const SpanData> spans, const Resource& resource) = 0;
};

struct BatchOptions {
  std::size_t max_queue = 2048;
  std::size_t max_batch = 512;
  std::chrono::milliseconds interval{5000};
};

// Queues finished spans and exports them from its own thread in batches. A full queue drops the new
// span and counts it; the request that ended the span never waits.
class BatchSpanProcessor : public SpanProcessor {
 public:
  BatchSpanProcessor(std::shared_ptr<SpanExporter> exporter, const Resource& resource, BatchOptions options = {});
  ~BatchSpanProcessor() override;
  void on_end(const SpanData& span) override;
  void on_end_moved(SpanData&& span) override;
  void force_flush() override;  // exports what is queued and waits for it
  void shutdown() override;     // flushes and stops the thread
  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
  std::uint64_t exported() const noexcept { return exported_.load(std::memory_order_relaxed); }
  std::uint64_t export_failures() const noexcept { return failures_.load(std::memory_order_relaxed); }

 private:
  void run();
  std::shared_ptr<SpanExporter> exporter_;
  Resource resource_;
  BatchOptions options_;
  std::mutex mu_;
  std::condition_variable cv_, flushed_;
  std::deque<SpanData> queue_;
  bool stop_ = false;
  std::uint64_t flush_requested_ = 0, flush_done_ = 0;
  std::atomic<std::uint64_t> dropped_{0}, exported_{0}, failures_{0};
  std::thread thread_;
};

// The most recent spans, for /debug/traces.
class RingBufferProcessor : public SpanProcessor {
 public:
  explicit RingBufferProcessor(std::size_t capacity = 256) : capacity_(capacity) {}
  void on_end(const SpanData& span) override;
  void on_end_moved(SpanData&& span) override;
  void on_end_owned(std::unique_ptr<SpanData>& span) override;  // exchanges pointers with the oldest
  std::vector<SpanData> recent() const;                         // oldest first

 private:
  std::size_t capacity_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<SpanData>> spans_;  // a ring once full; next_ is the oldest
  std::size_t next_ = 0;
};

class Tracer;

class Span {
 public:
  Span() = default;
  Span(Span&& other) noexcept;
  Span& operator=(Span&& other) noexcept;
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;
  ~Span() { end(); }

  // False for unsampled spans: setting attributes on them does nothing.
  bool recording() const noexcept { return data_ != nullptr; }
  const SpanContext& context() const noexcept { return context_; }

  Span& set_attribute(std::string_view key, bool v) { return set(key, AttributeValue(v)); }
  Span& set_attribute(std::string_view key, int v) { return set(key, AttributeValue(std::int64_t{v})); }
  Span& set_attribute(std::string_view key, std::int64_t v) { return set(key, AttributeValue(v)); }
  Span& set_attribute(std::string_view key, std::uint64_t v) {
    return set(key, AttributeValue(static_cast<std::int64_t>(v)));
  }
  Span& set_attribute(std::string_view key, double v) { return set(key, AttributeValue(v)); }
  Span& set_attribute(std::string_view key, std::string_view v) { return set(key, AttributeValue(std::string(v))); }
  Span& set_attribute(std::string_view key, const char* v) { return set(key, AttributeValue(std::string(v))); }
  Span& set_attribute(std::string_view key, const std::string& v) { return set(key, AttributeValue(v)); }
  Span& set_attribute(std::string_view key, AttributeValue v) { return set(key, std::move(v)); }
  Span& add_event(std::string_view name, std::vector<Attribute> attributes = {});
  Span& add_link(const SpanContext& linked, std::vector<Attribute> attributes = {});
  Span& set_name(std::string_view name);
  Span& set_status(StatusCode code, std::string_view message = {});
  // Error status from a svckit Status, plus an "exception" event with its text.
  Span& record_error(const Status& status);
  void end();

 private:
  friend class Tracer;
  Span& set(std::string_view key, AttributeValue value);
  Span(const Tracer* tracer, SpanContext context, std::unique_ptr<SpanData> data)
      : tracer_(tracer), context_(std::move(context)), data_(std::move(data)) {}
  const Tracer* tracer_ = nullptr;
  SpanContext context_;
  std::unique_ptr<SpanData> data_;
};

struct TracerOptions {
  Resource resource;
  std::shared_ptr<const Sampler> sampler;  // default: parent_based(always_on())
  SpanLimits limits;
  std::vector<Format> propagation = {Format::kW3C};  // extract: tried in order; inject: all of them
  std::vector<std::shared_ptr<SpanProcessor>> processors;
};

class Tracer {
 public:
  explicit Tracer(TracerOptions options);
  ~Tracer();

  Span start_span(std::string_view name, SpanKind kind, const std::optional<SpanContext>& parent,
                  std::vector<Attribute>&& attributes = {}) const;
  // Attributes from a list built once (per route or method; distinct keys) and copied straight into
  // the span: cheaper than one set_attribute per span and attribute.
  Span start_span(std::string_view name, SpanKind kind, const std::optional<SpanContext>& parent,
                  const std::vector<Attribute>& attributes) const;
  // The parent is the span in ctx (see with_span), if any.
  Span start(const Context& ctx, std::string_view name, SpanKind kind = SpanKind::kInternal,
             std::vector<Attribute> attributes = {}) const;

  const Resource& resource() const noexcept { return options_.resource; }
  const SpanLimits& limits() const noexcept { return options_.limits; }
  const std::vector<Format>& propagation() const noexcept { return options_.propagation; }
  void add_processor(std::shared_ptr<SpanProcessor> p);
  void force_flush() const;
  void shutdown();

  // The tracer svckit's own instrumentation uses (HTTP server and client, later gRPC and the database);
  // none until set.
  static std::shared_ptr<Tracer> global();
  static void set_global(std::shared_ptr<Tracer> tracer);
  // The global tracer for a call path that only starts spans with it (spans keep a plain pointer to
  // their tracer, which must outlive them): no lock and no reference count, where global() takes
  // both. Each thread holds a reference to the tracer it last saw until it sees a newer one.
  static Tracer* current() noexcept;

 private:
  friend class Span;
  void finish(std::unique_ptr<SpanData>& data) const;
  using Processors = std::vector<std::shared_ptr<SpanProcessor>>;
  const Processors& processors() const noexcept { return *now_.load(std::memory_order_acquire); }
  TracerOptions options_;
  std::mutex mu_;  // guards lists_; a list is never changed in place
  // Every processor list published (add_processor copies), newest last, kept for the tracer's life:
  // a span ending while a processor is added may still be reading an older list through now_.
  std::vector<std::unique_ptr<const Processors>> lists_;
  std::atomic<const Processors*> now_{nullptr};
};

// The current span of a Context, for children and for outgoing calls; also adds trace_id and
// span_id to the Context's log fields so that every log line of the request carries them.
Context with_span(const Context& ctx, const SpanContext& span);
std::optional<SpanContext> span_from(const Context& ctx);
// Baggage travels in the Context too.
Context with_baggage(const Context& ctx, Baggage baggage);
const Baggage* baggage_from(const Context& ctx);

std::int64_t now_ns() noexcept;

}  // namespace svckit::trace
