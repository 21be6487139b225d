#pragma once
// Prometheus-style metrics: counters, gauges and histograms, plain or with labels, in a Registry that
// renders the Prometheus text format 0.0.4 or OpenMetrics 1.0. Writes go to per-thread cells (see
// cells.hpp) and cost a few nanoseconds; a labelled series is looked up once and its handle kept.
//
// ```cpp
//   auto& registry = metrics::Registry::global();
//   auto& requests =
//       registry.counter_vec({.name = "shop_orders_total", .help = "Orders placed."}, {"channel", "status"});
//   metrics::Counter web_ok = requests.with({"web", "ok"});   // keep the handle
//   web_ok.inc();
//   auto latency = registry.histogram({.name = "shop_checkout_seconds", .help = "Checkout latency."});
//   latency.observe(0.012);
// ```
//
// Names follow Prometheus conventions: base units, counters end in `_total`. A family refuses more than
// `max_series` label sets: further ones fold into one series whose labels all read "overflow", and
// svckit_metrics_overflow_total{metric} counts the refusals.
//
// A histogram observation made under a sampled span can carry the span's ids (observe(v, ids)): each
// bucket keeps the latest such one as its exemplar, shown only in the OpenMetrics format as
// `# {trace_id="...",span_id="..."} value timestamp` after the bucket's sample.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "svckit/metrics/cells.hpp"
#include "svckit/metrics/exemplars.hpp"

namespace svckit {
class Runtime;
}

namespace svckit::metrics {

enum class Type { kCounter, kGauge, kHistogram };
enum class Format { kPrometheus, kOpenMetrics };

// The format a scraper asked for in its Accept header (OpenMetrics when it lists it).
Format negotiate(std::string_view accept) noexcept;
std::string_view content_type(Format f) noexcept;

class Counter {
 public:
  Counter() = default;
  void inc() const noexcept { detail::add(cell_, 1.0); }
  // v must be ≥ 0 (a negative add is ignored: counters only go up).
  void inc(double v) const noexcept {
    if (v > 0) detail::add(cell_, v);
  }
  double value() const;
  explicit Counter(detail::CellId cell) : cell_(cell) {}
  // The handle as one integer (Counter(cell()) is the same series): for caches that keep it atomically.
  detail::CellId cell() const noexcept { return cell_; }

 private:
  detail::CellId cell_ = 0;
};

class Gauge {
 public:
  Gauge() = default;
  void inc(double v = 1.0) const noexcept { detail::add(cell_, v); }
  void dec(double v = 1.0) const noexcept { detail::add(cell_, -v); }
  void add(double v) const noexcept { detail::add(cell_, v); }
  // Slower than add (it reads every thread's share): for values sampled now and then.
  void set(double v) const;
  double value() const;
  Gauge(detail::CellId cell, std::atomic<double>* base) : cell_(cell), base_(base) {}

 private:
  detail::CellId cell_ = 0;
  std::atomic<double>* base_ = nullptr;
};

// The sampled span an observation was made under (W3C trace id and span id bytes).
struct TraceIds {
  std::span<const std::uint8_t, 16> trace_id;
  std::span<const std::uint8_t, 8> span_id;
};

class Histogram {
 public:
  Histogram() = default;
  void observe(double v) const noexcept {
    // Buckets are few: a linear scan over sorted upper bounds beats a binary search here.
    std::size_t i = 0;
    const std::size_t n = bounds_->size();
    const double* b = bounds_->data();
    while (i < n && v > b[i]) ++i;
    detail::add(first_ + static_cast<detail::CellId>(i), 1.0);
    detail::add(first_ + static_cast<detail::CellId>(n + 1), v);
  }
  // The same, and the span's ids become the bucket's exemplar (the latest wins). For observations of
  // a sampled span only: the plain observe above stays the cheap path for everything else.
  void observe(double v, const TraceIds& ids) const noexcept {
    std::size_t i = 0;
    const std::size_t n = bounds_->size();
    const double* b = bounds_->data();
    while (i < n && v > b[i]) ++i;
    detail::add(first_ + static_cast<detail::CellId>(i), 1.0);
    detail::add(first_ + static_cast<detail::CellId>(n + 1), v);
    if (exemplars_) exemplars_->record(i, v, ids.trace_id.data(), ids.span_id.data());
  }
  std::uint64_t count() const;
  double sum() const;
  Histogram(const std::vector<double>* bounds, detail::CellId first, detail::Exemplars* exemplars = nullptr)
      : bounds_(bounds), first_(first), exemplars_(exemplars) {}

 private:
  const std::vector<double>* bounds_ = nullptr;
  detail::CellId first_ = 0;  // cells: one per bound, +Inf, then the sum
  detail::Exemplars* exemplars_ = nullptr;
};

// Prometheus' defaults, for latencies in seconds.
std::vector<double> default_buckets();
std::vector<double> exponential_buckets(double start, double factor, std::size_t count);
std::vector<double> linear_buckets(double start, double width, std::size_t count);

struct Options {
  std::string name;
  std::string help;
  std::vector<double> buckets;     // histograms; empty → default_buckets()
  std::size_t max_series = 10000;  // label sets per family
};

class Registry;

// A metric family: one name, one type, a fixed list of label names, many series.
class Family {
 public:
  const std::string& name() const noexcept { return name_; }
  Type type() const noexcept { return type_; }
  const std::vector<std::string>& label_names() const noexcept { return label_names_; }
  std::size_t series_count() const;

 protected:
  friend class Registry;
  struct Series {
    std::string labels;  // rendered `a="x",b="y"` (escaped), empty without labels
    detail::CellId cell;
    std::unique_ptr<std::atomic<double>> base;     // gauges
    std::unique_ptr<detail::Exemplars> exemplars;  // histograms
  };
  Family(Registry& registry, Type type, Options options, std::vector<std::string> label_names);
  const Series& series(std::span<const std::string_view> values);
  std::vector<const Series*> list() const;
  void render(std::string& out, Format f, const detail::Snapshot& snap, const std::vector<const Series*>& series) const;

  Registry& registry_;
  Type type_;
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;
  std::vector<std::string> le_text_[2];  // per format
  std::size_t max_series_;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<Series>> by_key_;
  std::vector<const Series*> order_;
  const Series* overflow_ = nullptr;
  Counter overflow_counter_;
};

template <class Handle>
class Vec : public Family {
 public:
  // The series for these label values (in the order of the label names); keep the handle.
  Handle with(std::initializer_list<std::string_view> values) {
    return make(series(std::span<const std::string_view>(values.begin(), values.size())));
  }
  Handle with(std::span<const std::string_view> values) { return make(series(values)); }

 private:
  friend class Registry;
  using Family::Family;
  Handle make(const Series& s) const {
    if constexpr (std::is_same_v<Handle, Counter>)
      return Counter(s.cell);
    else if constexpr (std::is_same_v<Handle, Gauge>)
      return Gauge(s.cell, s.base.get());
    else
      return Histogram(&bounds_, s.cell, s.exemplars.get());
  }
};
using CounterVec = Vec<Counter>;
using GaugeVec = Vec<Gauge>;
using HistogramVec = Vec<Histogram>;

// Writes samples computed at scrape time (process metrics, a queue's depth, dropped log lines).
class Emitter {
 public:
  Emitter(std::string& out, Format f) : out_(out), format_(f) {}
  void gauge(std::string_view name, std::string_view help, double value);
  void counter(std::string_view name, std::string_view help, double value);  // name ends in _total
  // One family with labelled samples: call begin, then sample for each, in one go.
  void begin(std::string_view name, std::string_view help, Type type);
  void sample(std::string_view name, std::span<const std::pair<std::string_view, std::string_view>> labels,
              double value);

 private:
  std::string& out_;
  Format format_;
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The process-wide registry that svckit's own instrumentation uses.
  static Registry& global();

  // Registering a name again with the same type and labels returns the existing family; with a
  // different type or labels, or an invalid name, it is a programmer error (std::invalid_argument).
  Counter counter(Options o) { return counter_vec(std::move(o), {}).with({}); }
  Gauge gauge(Options o) { return gauge_vec(std::move(o), {}).with({}); }
  Histogram histogram(Options o) { return histogram_vec(std::move(o), {}).with({}); }
  CounterVec& counter_vec(Options o, std::vector<std::string> labels);
  GaugeVec& gauge_vec(Options o, std::vector<std::string> labels);
  HistogramVec& histogram_vec(Options o, std::vector<std::string> labels);

  // Called at every scrape, before the families are rendered.
  void add_collector(std::function<void(Emitter&)> collector);
  // A gauge read at scrape time.
  void gauge_fn(std::string name, std::string help, std::function<double()> fn);

  std::string render(Format f = Format::kPrometheus) const;
  void render_to(std::string& out, Format f) const;

 private:
  friend class Family;
  Family& add(Type type, Options o, std::vector<std::string> labels);
  Counter overflow_counter(std::string_view family);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family>> families_;
  std::vector<std::function<void(Emitter&)>> collectors_;
  CounterVec* overflow_ = nullptr;
};

// Registers the standard process metrics (process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds, process_start_time_seconds,
// process_threads) read from /proc at scrape time.
void register_process_metrics(Registry& registry);

// Registers runtime metrics: svckit_runtime_loop_lag_seconds{loop} (a probe timer per loop every
// `interval`; lag means something blocked the loop) with its histogram, and the blocking pool's queue
// depth, capacity and threads. The probes stop with the runtime.
void register_runtime_metrics(Registry& registry, Runtime& rt,
                              std::chrono::milliseconds interval = std::chrono::milliseconds(250));

namespace detail {
// Prometheus number formatting: integers without a fraction, NaN, +Inf, -Inf, else shortest.
void append_value(std::string& out, double v);
void append_label_value(std::string& out, std::string_view v);  // escaped, invalid UTF-8 as U+FFFD
// Appends the UTF-8 sequence at s[i], or U+FFFD for a byte that starts none; returns the bytes read.
std::size_t append_utf8(std::string& out, std::string_view s, std::size_t i);
bool valid_metric_name(std::string_view name) noexcept;
bool valid_label_name(std::string_view name) noexcept;
}  // namespace detail

}  // namespace svckit::metrics
