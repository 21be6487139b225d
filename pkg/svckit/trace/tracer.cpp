#include "svckit/trace/tracer.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

namespace svckit::trace {

std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---------------- Resource ----------------

Resource Resource::detect(std::string service_name, std::string service_version, std::string environment) {
  Resource r;
  r.attributes.push_back({"service.name", std::move(service_name)});
  if (!service_version.empty()) r.attributes.push_back({"service.version", std::move(service_version)});
  if (!environment.empty()) r.attributes.push_back({"deployment.environment", std::move(environment)});
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) r.attributes.push_back({"host.name", std::string(host)});
  // A random id per process start, so that replicas of one service are told apart.
  TraceId id = TraceId::random();
  std::string hex = id.hex();
  std::string uuid = hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) +
                     "-" + hex.substr(20);
  r.attributes.push_back({"service.instance.id", uuid});
  r.attributes.push_back({"process.pid", std::int64_t{getpid()}});
  r.attributes.push_back({"telemetry.sdk.name", std::string("svckit")});
  r.attributes.push_back({"telemetry.sdk.language", std::string("cpp")});
  return r;
}

std::string_view Resource::get(std::string_view key) const noexcept {
  for (const auto& a : attributes)
    if (a.key == key)
      if (auto* s = std::get_if<std::string>(&a.value)) return *s;
  return {};
}

// ---------------- Samplers ----------------

namespace {

class AlwaysOn : public Sampler {
 public:
  bool should_sample(const std::optional<SpanContext>&, const TraceId&) const override { return true; }
  std::string description() const override { return "AlwaysOnSampler"; }
};
class AlwaysOff : public Sampler {
 public:
  bool should_sample(const std::optional<SpanContext>&, const TraceId&) const override { return false; }
  std::string description() const override { return "AlwaysOffSampler"; }
};
class Ratio : public Sampler {
 public:
  explicit Ratio(double p) : p_(std::clamp(p, 0.0, 1.0)) {
    // As OpenTelemetry's TraceIdRatioBased: compare the trace id's last 8 bytes (big endian, top bit
    // cleared) with p × 2^63.
    bound_ = p_ >= 1.0 ? UINT64_MAX : static_cast<std::uint64_t>(p_ * 9223372036854775808.0);
  }
  bool should_sample(const std::optional<SpanContext>&, const TraceId& id) const override {
    std::uint64_t v = 0;
    for (int i = 8; i < 16; ++i) v = (v << 8) | id.bytes[static_cast<std::size_t>(i)];
    v &= 0x7fffffffffffffffull;
    return p_ >= 1.0 || v < bound_;
  }
  std::string description() const override { return "TraceIdRatioBased{" + std::to_string(p_) + "}"; }

 private:
  double p_;
  std::uint64_t bound_;
};
class ParentBased : public Sampler {
 public:
  explicit ParentBased(std::shared_ptr<const Sampler> root) : root_(std::move(root)) {}
  bool should_sample(const std::optional<SpanContext>& parent, const TraceId& id) const override {
    if (parent && parent->valid()) return parent->sampled;
    return root_->should_sample(parent, id);
  }
  std::string description() const override { return "ParentBased{root:" + root_->description() + "}"; }

 private:
  std::shared_ptr<const Sampler> root_;
};

// Attribute keys of recycled spans, kept with their storage: set_attribute's keys are mostly longer
// than a std::string holds inline ("http.response.status_code"), and reusing a key's buffer keeps an
// attribute set after start from allocating.
struct KeyStash {
  static constexpr std::size_t kMax = 64;
  std::string keys[kMax];
  std::size_t size = 0;
};
thread_local KeyStash t_key_stash;

// Every stashed key holds at least kRoom characters, so that any of them serves any usual key.
constexpr std::size_t kRoom = 32;

void stash_key(std::string&& key) {
  auto& stash = t_key_stash;
  if (stash.size >= KeyStash::kMax || key.capacity() <= 15) return;
  key.reserve(kRoom);  // grows a key once in its life, the first time it is stashed
  stash.keys[stash.size++] = std::move(key);
}

std::string stashed_key(std::string_view key) {
  if (key.size() <= 15) return std::string(key);  // held inline: nothing to save
  auto& stash = t_key_stash;
  for (std::size_t i = stash.size; i-- > 0;) {
    if (stash.keys[i].capacity() >= key.size()) {
      std::string k = std::move(stash.keys[i]);
      if (i != stash.size - 1) stash.keys[i] = std::move(stash.keys[stash.size - 1]);
      --stash.size;
      k.assign(key);
      return k;
    }
  }
  return std::string(key);
}

}  // namespace

std::shared_ptr<const Sampler> always_on() {
  return std::make_shared<AlwaysOn>();
}
std::shared_ptr<const Sampler> always_off() {
  return std::make_shared<AlwaysOff>();
}
std::shared_ptr<const Sampler> ratio(double p) {
  return std::make_shared<Ratio>(p);
}
std::shared_ptr<const Sampler> parent_based(std::shared_ptr<const Sampler> root) {
  return std::make_shared<ParentBased>(std::move(root));
}

// ---------------- Span ----------------

Span::Span(Span&& o) noexcept
    : tracer_(std::exchange(o.tracer_, nullptr)), context_(std::move(o.context_)), data_(std::move(o.data_)) {}

Span& Span::operator=(Span&& o) noexcept {
  if (this != &o) {
    end();
    tracer_ = std::exchange(o.tracer_, nullptr);
    context_ = std::move(o.context_);
    data_ = std::move(o.data_);
  }
  return *this;
}

Span& Span::set(std::string_view key, AttributeValue value) {
  if (!data_) return *this;
  const SpanLimits& lim = tracer_->limits();
  if (auto* s = std::get_if<std::string>(&value); s && s->size() > lim.max_attribute_length) {
    // Cut on a UTF-8 boundary.
    std::size_t n = lim.max_attribute_length;
    while (n > 0 && (static_cast<unsigned char>((*s)[n]) & 0xC0) == 0x80) --n;
    s->resize(n);
  }
  for (auto& a : data_->attributes) {
    if (a.key == key) {
      a.value = std::move(value);
      return *this;
    }
  }
  if (data_->attributes.size() >= lim.max_attributes) {
    ++data_->dropped_attributes;
    return *this;
  }
  data_->attributes.push_back({stashed_key(key), std::move(value)});
  return *this;
}

Span& Span::add_event(std::string_view name, std::vector<Attribute> attributes) {
  if (!data_) return *this;
  if (data_->events.size() >= tracer_->limits().max_events) {
    ++data_->dropped_events;
    return *this;
  }
  data_->events.push_back({std::string(name), now_ns(), std::move(attributes)});
  return *this;
}

Span& Span::add_link(const SpanContext& linked, std::vector<Attribute> attributes) {
  if (!data_ || !linked.valid()) return *this;
  if (data_->links.size() >= tracer_->limits().max_links) {
    ++data_->dropped_links;
    return *this;
  }
  data_->links.push_back({linked, std::move(attributes)});
  return *this;
}

Span& Span::set_name(std::string_view name) {
  if (data_) data_->name = std::string(name);
  return *this;
}

Span& Span::set_status(StatusCode code, std::string_view message) {
  if (!data_) return *this;
  // OK is final; an error message is kept only with ERROR (as the specification says).
  if (data_->status == StatusCode::kOk) return *this;
  data_->status = code;
  data_->status_message = code == StatusCode::kError ? std::string(message) : std::string();
  return *this;
}

Span& Span::record_error(const Status& status) {
  if (!data_ || status.ok()) return *this;
  add_event("exception", {{"exception.type", std::string(code_name(status.code()))},
                          {"exception.message", std::string(status.message())}});
  return set_status(StatusCode::kError, status.to_string());
}

namespace {
// Ended spans' data, kept per thread for the next span started there. The ring processor hands back
// the slot it overwrote, whose strings and vectors already have the capacity that the next span of
// the same shape needs: a steady stream of spans allocates nothing for names and attributes.
struct SpanDataPool {
  static constexpr std::size_t kMax = 8;
  std::unique_ptr<SpanData> free[kMax];
  std::size_t size = 0;
};
thread_local SpanDataPool t_span_pool;

// Copies `from` over `to` in place: a recycled span's strings of the same length (the same method's
// attributes, usually) are overwritten without reallocating or re-checking capacity.
void copy_string_over(std::string& to, const std::string& from) {
  if (to.size() != from.size()) return to.assign(from), void();
  if (!from.empty()) std::memcpy(to.data(), from.data(), from.size());
}
void copy_attributes_over(std::vector<Attribute>& to, const std::vector<Attribute>& from) {
  if (to.size() > from.size()) {
    for (std::size_t i = from.size(); i < to.size(); ++i) stash_key(std::move(to[i].key));
    to.erase(to.begin() + static_cast<std::ptrdiff_t>(from.size()), to.end());
  }
  std::size_t common = to.size();
  for (std::size_t i = 0; i < common; ++i) {
    copy_string_over(to[i].key, from[i].key);
    auto* to_s = std::get_if<std::string>(&to[i].value);
    auto* from_s = std::get_if<std::string>(&from[i].value);
    if (to_s && from_s)
      copy_string_over(*to_s, *from_s);
    else
      to[i].value = from[i].value;
  }
  to.insert(to.end(), from.begin() + static_cast<std::ptrdiff_t>(common), from.end());
}

std::unique_ptr<SpanData> take_span_data() {
  auto& pool = t_span_pool;
  if (pool.size == 0) return std::make_unique<SpanData>();
  return std::move(pool.free[--pool.size]);
}
}  // namespace

void Span::end() {
  if (!data_) return;
  data_->end_ns = now_ns();
  tracer_->finish(data_);  // may hand back other storage (a ring's evicted span), or none
  auto& pool = t_span_pool;
  if (data_ && pool.size < SpanDataPool::kMax)
    pool.free[pool.size++] = std::move(data_);
  else
    data_.reset();
}

// ---------------- Tracer ----------------

Tracer::Tracer(TracerOptions options) : options_(std::move(options)) {
  if (!options_.sampler) options_.sampler = parent_based(always_on());
  lists_.push_back(std::make_unique<const Processors>(options_.processors));
  now_.store(lists_.back().get(), std::memory_order_release);
}

Tracer::~Tracer() {
  shutdown();
}

Span Tracer::start_span(std::string_view name, SpanKind kind, const std::optional<SpanContext>& parent,
                        std::vector<Attribute>&& attributes) const {
  static const std::vector<Attribute> kNone;
  Span span = start_span(name, kind, parent, kNone);
  for (auto& a : attributes) span.set(a.key, std::move(a.value));
  return span;
}

Span Tracer::start_span(std::string_view name, SpanKind kind, const std::optional<SpanContext>& parent,
                        const std::vector<Attribute>& attributes) const {
  // One Span, returned by name on every path, so that it is built in the caller's storage.
  Span span(this, SpanContext{}, nullptr);
  SpanContext& sc = span.context_;
  bool has_parent = parent && parent->valid();
  sc.trace_id = has_parent ? parent->trace_id : TraceId::random();
  sc.span_id = SpanId::random();
  if (has_parent) sc.trace_state = parent->trace_state;
  sc.sampled = options_.sampler->should_sample(has_parent ? parent : std::nullopt, sc.trace_id);
  if (!sc.sampled) return span;
  // Possibly a recycled span's: every field is assigned over, which reuses its storage.
  auto data = take_span_data();
  data->context = sc;
  data->parent_span_id = has_parent ? parent->span_id : SpanId{};
  data->name.assign(name);
  data->kind = kind;
  data->start_ns = now_ns();
  data->end_ns = 0;
  data->events.clear();
  data->links.clear();
  data->status = StatusCode::kUnset;
  data->status_message.clear();
  data->dropped_attributes = data->dropped_events = data->dropped_links = 0;
  // Copied as they are when they fit the limits (a list built once normally does); set() otherwise,
  // which truncates and deduplicates.
  const SpanLimits& lim = limits();
  bool fits = attributes.size() <= lim.max_attributes;
  for (const auto& a : attributes)
    if (auto* v = std::get_if<std::string>(&a.value); v && v->size() > lim.max_attribute_length) fits = false;
  if (fits)
    copy_attributes_over(data->attributes, attributes);
  else
    data->attributes.clear();
  data->attributes.reserve(std::max<std::size_t>(8, attributes.size() + 2));  // no regrowing for the usual set
  span.data_ = std::move(data);
  if (!fits)
    for (const auto& a : attributes) span.set(a.key, a.value);
  return span;
}

Span Tracer::start(const Context& ctx, std::string_view name, SpanKind kind, std::vector<Attribute> attributes) const {
  return start_span(name, kind, span_from(ctx), std::move(attributes));
}

void Tracer::add_processor(std::shared_ptr<SpanProcessor> p) {
  std::lock_guard lock(mu_);
  auto next = std::make_unique<Processors>(*lists_.back());
  next->push_back(std::move(p));
  lists_.push_back(std::move(next));
  now_.store(lists_.back().get(), std::memory_order_release);
}

// Copy-on-write lists read through one atomic pointer: ending a span takes no lock of the tracer's.
void Tracer::finish(std::unique_ptr<SpanData>& data) const {
  const Processors& list = processors();
  if (list.empty()) return;
  for (std::size_t i = 0; i + 1 < list.size(); ++i) list[i]->on_end(*data);
  list.back()->on_end_owned(data);
}

void Tracer::force_flush() const {
  for (auto& p : processors()) p->force_flush();
}

void Tracer::shutdown() {
  for (auto& p : processors()) p->shutdown();
}

namespace {
std::mutex g_mu;
std::atomic<std::uint64_t> g_generation{1};  // changes with every set_global
std::shared_ptr<Tracer>& global_slot() {
  static auto* slot = new std::shared_ptr<Tracer>;
  return *slot;
}
struct ThreadTracer {
  std::uint64_t generation = 0;
  std::shared_ptr<Tracer> tracer;
};
thread_local ThreadTracer t_tracer;
}  // namespace

std::shared_ptr<Tracer> Tracer::global() {
  std::lock_guard lock(g_mu);
  return global_slot();
}

void Tracer::set_global(std::shared_ptr<Tracer> tracer) {
  std::lock_guard lock(g_mu);
  global_slot() = std::move(tracer);
  g_generation.fetch_add(1, std::memory_order_release);
}

Tracer* Tracer::current() noexcept {
  ThreadTracer& t = t_tracer;
  std::uint64_t now = g_generation.load(std::memory_order_acquire);
  if (t.generation != now) {
    std::lock_guard lock(g_mu);
    t.tracer = global_slot();
    t.generation = g_generation.load(std::memory_order_relaxed);
  }
  return t.tracer.get();
}

// ---------------- Context ----------------

namespace {
// trace_id and span_id are formatted when a line is logged, not for every span that logs nothing.
void render_span_ids(const SpanContext& span, RenderedLogFields& out) {
  char* trace_end = span.trace_id.hex_to(out.text);
  char* span_end = span.span_id.hex_to(trace_end);
  out.fields[0] = {"trace_id", std::string_view(out.text, static_cast<std::size_t>(trace_end - out.text))};
  out.fields[1] = {"span_id", std::string_view(trace_end, static_cast<std::size_t>(span_end - trace_end))};
  out.size = 2;
  out.plain = true;  // hex digits
}
}  // namespace

Context with_span(const Context& ctx, const SpanContext& span) {
  if (!span.valid()) return ctx;
  return ctx.with_value<SpanContext, render_span_ids>(span);
}

std::optional<SpanContext> span_from(const Context& ctx) {
  if (const SpanContext* sc = ctx.value<SpanContext>()) return *sc;
  return std::nullopt;
}

Context with_baggage(const Context& ctx, Baggage baggage) {
  return ctx.with_value<Baggage>(std::move(baggage));
}
const Baggage* baggage_from(const Context& ctx) {
  return ctx.value<Baggage>();
}

// ---------------- Processors ----------------

BatchSpanProcessor::BatchSpanProcessor(std::shared_ptr<SpanExporter> exporter, const Resource& resource,
                                       BatchOptions options)
    : exporter_(std::move(exporter)), resource_(resource), options_(options) {
  thread_ = std::thread([this] { run(); });
}

BatchSpanProcessor::~BatchSpanProcessor() {
  shutdown();
}

void BatchSpanProcessor::on_end(const SpanData& span) {
  SpanData copy = span;
  on_end_moved(std::move(copy));
}

void BatchSpanProcessor::on_end_moved(SpanData&& span) {
  {
    std::lock_guard lock(mu_);
    if (stop_ || queue_.size() >= options_.max_queue) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    queue_.push_back(std::move(span));
    if (queue_.size() < options_.max_batch) return;
  }
  cv_.notify_one();
}

void BatchSpanProcessor::force_flush() {
  std::unique_lock lock(mu_);
  if (!thread_.joinable()) return;
  std::uint64_t ticket = ++flush_requested_;
  cv_.notify_one();
  flushed_.wait(lock, [&] { return flush_done_ >= ticket || stop_; });
}

void BatchSpanProcessor::shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void BatchSpanProcessor::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait_for(lock, options_.interval,
                 [&] { return stop_ || queue_.size() >= options_.max_batch || flush_requested_ > flush_done_; });
    std::uint64_t flush_ticket = flush_requested_;
    // Export everything queued, one batch at a time, without holding the lock while exporting.
    while (!queue_.empty()) {
      std::vector<SpanData> batch;
      std::size_t n = std::min(queue_.size(), options_.max_batch);
      batch.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      lock.unlock();
      Status st = exporter_->export_spans(batch, resource_);
      if (st.ok())
        exported_.fetch_add(batch.size(), std::memory_order_relaxed);
      else
        failures_.fetch_add(1, std::memory_order_relaxed);
      lock.lock();
    }
    flush_done_ = flush_ticket;
    flushed_.notify_all();
    if (stop_) break;
  }
}

void RingBufferProcessor::on_end(const SpanData& span) {
  if (capacity_ == 0) return;
  auto copy = std::make_unique<SpanData>(span);  // outside the lock
  on_end_owned(copy);
}

void RingBufferProcessor::on_end_moved(SpanData&& span) {
  if (capacity_ == 0) return;
  auto owned = std::make_unique<SpanData>(std::move(span));
  on_end_owned(owned);  // the evicted span is freed here, outside the lock
}

// Two pointers exchanged under the lock; the caller gets the evicted span's storage to reuse.
void RingBufferProcessor::on_end_owned(std::unique_ptr<SpanData>& span) {
  if (capacity_ == 0) return;
  std::lock_guard lock(mu_);
  if (spans_.size() < capacity_) {
    spans_.push_back(std::move(span));
    return;
  }
  spans_[next_].swap(span);
  next_ = (next_ + 1) % capacity_;
}

std::vector<SpanData> RingBufferProcessor::recent() const {
  std::lock_guard lock(mu_);
  std::vector<SpanData> out;
  out.reserve(spans_.size());
  for (std::size_t i = 0; i < spans_.size(); ++i) out.push_back(*spans_[(next_ + i) % spans_.size()]);
  return out;
}

}  // namespace svckit::trace
