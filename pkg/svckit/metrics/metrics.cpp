#include "svckit/metrics/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace svckit::metrics {

namespace detail {

void append_value(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[32];
  std::to_chars_result r;
  if (v == std::trunc(v) && std::fabs(v) < 1e15)
    r = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(v));
  else
    r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

// The UTF-8 sequence at s[i] (its length), or U+FFFD for a byte that starts none: Prometheus refuses
// a whole scrape that is not UTF-8, so a label value or help text from user input must not break it.
std::size_t append_utf8(std::string& out, std::string_view s, std::size_t i) {
  auto p = reinterpret_cast<const unsigned char*>(s.data()) + i;
  auto end = reinterpret_cast<const unsigned char*>(s.data()) + s.size();
  auto cont = [&](std::size_t k) { return p + k < end && (p[k] & 0xC0) == 0x80; };
  unsigned char c = p[0];
  std::size_t n = 0;
  if (c >= 0xC2 && c <= 0xDF)
    n = cont(1) ? 2 : 0;
  else if (c == 0xE0)
    n = p + 1 < end && p[1] >= 0xA0 && cont(1) && cont(2) ? 3 : 0;
  else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
    n = cont(1) && cont(2) ? 3 : 0;
  else if (c == 0xED)
    n = p + 1 < end && p[1] <= 0x9F && cont(1) && cont(2) ? 3 : 0;  // no surrogates
  else if (c == 0xF0)
    n = p + 1 < end && p[1] >= 0x90 && cont(1) && cont(2) && cont(3) ? 4 : 0;
  else if (c >= 0xF1 && c <= 0xF3)
    n = cont(1) && cont(2) && cont(3) ? 4 : 0;
  else if (c == 0xF4)
    n = p + 1 < end && p[1] <= 0x8F && cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (n == 0) {
    out += "\xEF\xBF\xBD";
    return 1;
  }
  out.append(s.substr(i, n));
  return n;
}

void append_label_value(std::string& out, std::string_view v) {
  for (std::size_t i = 0; i < v.size();) {
    char c = v[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      i += append_utf8(out, v, i);
      continue;
    }
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
    ++i;
  }
}

bool valid_metric_name(std::string_view n) noexcept {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool valid_label_name(std::string_view n) noexcept {
  if (n.empty() || n.starts_with("__")) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

}  // namespace detail

namespace {

void append_help(std::string& out, std::string_view help, Format f) {
  for (std::size_t i = 0; i < help.size(); ++i) {
    char c = help[i];
    if (static_cast<unsigned char>(c) >= 0x80)
      i += detail::append_utf8(out, help, i) - 1;
    else if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && f == Format::kOpenMetrics)
      out += "\\\"";
    else
      out += c;
  }
}

std::string_view type_name(Type t) {
  switch (t) {
    case Type::kCounter:
      return "counter";
    case Type::kGauge:
      return "gauge";
    case Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// OpenMetrics names a counter family without its `_total`; its sample keeps it.
std::string_view family_name(std::string_view name, Type t, Format f) {
  if (f == Format::kOpenMetrics && t == Type::kCounter && name.ends_with("_total"))
    return name.substr(0, name.size() - 6);
  return name;
}

void append_header(std::string& out, std::string_view name, std::string_view help, Type t, Format f) {
  std::string_view fam = family_name(name, t, f);
  out += "# HELP ";
  out += fam;
  out += ' ';
  append_help(out, help, f);
  out += "\n# TYPE ";
  out += fam;
  out += ' ';
  out += type_name(t);
  out += '\n';
}

void append_sample(std::string& out, std::string_view name, std::string_view suffix, std::string_view labels,
                   std::string_view extra_label, double v) {
  out += name;
  out += suffix;
  if (!labels.empty() || !extra_label.empty()) {
    out += '{';
    out += labels;
    if (!labels.empty() && !extra_label.empty()) out += ',';
    out += extra_label;
    out += '}';
  }
  out += ' ';
  detail::append_value(out, v);
  out += '\n';
}

void append_hex(std::string& out, const std::uint8_t* bytes, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (std::size_t i = 0; i < n; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 0xf];
  }
}

// OpenMetrics: ` # {trace_id="...",span_id="..."} value timestamp`, before the bucket sample's newline.
void append_exemplar(std::string& out, const detail::ExemplarData& ex) {
  out.pop_back();
  out += " # {trace_id=\"";
  append_hex(out, ex.trace_id, sizeof ex.trace_id);
  out += "\",span_id=\"";
  append_hex(out, ex.span_id, sizeof ex.span_id);
  out += "\"} ";
  detail::append_value(out, ex.value);
  out += ' ';
  // Seconds with millisecond precision: what Prometheus keeps of an exemplar's timestamp.
  const std::int64_t ms = ex.time_ns / 1000000;
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, ms / 1000);
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
  const int frac = static_cast<int>(ms % 1000);
  out += '.';
  out += static_cast<char>('0' + frac / 100);
  out += static_cast<char>('0' + frac / 10 % 10);
  out += static_cast<char>('0' + frac % 10);
  out += '\n';
}

}  // namespace

Format negotiate(std::string_view accept) noexcept {
  return accept.find("application/openmetrics-text") != std::string_view::npos ? Format::kOpenMetrics
                                                                               : Format::kPrometheus;
}

std::string_view content_type(Format f) noexcept {
  return f == Format::kOpenMetrics ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                                   : "text/plain; version=0.0.4; charset=utf-8";
}

double Counter::value() const {
  detail::Snapshot snap;
  return snap.sum(cell_);
}

void Gauge::set(double v) const {
  detail::Snapshot snap;
  base_->store(v - snap.sum(cell_), std::memory_order_relaxed);
}

double Gauge::value() const {
  detail::Snapshot snap;
  return base_->load(std::memory_order_relaxed) + snap.sum(cell_);
}

std::uint64_t Histogram::count() const {
  detail::Snapshot snap;
  double n = 0;
  for (std::size_t i = 0; i <= bounds_->size(); ++i) n += snap.sum(first_ + static_cast<detail::CellId>(i));
  return static_cast<std::uint64_t>(n);
}

double Histogram::sum() const {
  detail::Snapshot snap;
  return snap.sum(first_ + static_cast<detail::CellId>(bounds_->size() + 1));
}

std::vector<double> default_buckets() {
  return {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};
}

std::vector<double> exponential_buckets(double start, double factor, std::size_t count) {
  if (start <= 0 || factor <= 1 || count == 0) throw std::invalid_argument("exponential_buckets: bad arguments");
  std::vector<double> b;
  for (std::size_t i = 0; i < count; ++i, start *= factor) b.push_back(start);
  return b;
}

std::vector<double> linear_buckets(double start, double width, std::size_t count) {
  if (width <= 0 || count == 0) throw std::invalid_argument("linear_buckets: bad arguments");
  std::vector<double> b;
  for (std::size_t i = 0; i < count; ++i) b.push_back(start + width * static_cast<double>(i));
  return b;
}

// ---------------- Family ----------------

Family::Family(Registry& registry, Type type, Options o, std::vector<std::string> label_names)
    : registry_(registry),
      type_(type),
      name_(std::move(o.name)),
      help_(std::move(o.help)),
      label_names_(std::move(label_names)),
      max_series_(std::max<std::size_t>(o.max_series, 1)) {
  if (type == Type::kHistogram) {
    bounds_ = o.buckets.empty() ? default_buckets() : std::move(o.buckets);
    if (!bounds_.empty() && std::isinf(bounds_.back()) && bounds_.back() > 0) bounds_.pop_back();
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
      if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1]))
        throw std::invalid_argument("metrics: histogram " + name_ + " needs finite, strictly increasing buckets");
    }
    for (int f = 0; f < 2; ++f) {
      for (double b : bounds_) {
        std::string le = "le=\"";
        std::string num;
        detail::append_value(num, b);
        // OpenMetrics wants canonical floats ("1.0", not "1").
        if (f == 1 && num.find_first_of(".eE") == std::string::npos) num += ".0";
        le += num;
        le += '"';
        le_text_[f].push_back(std::move(le));
      }
      le_text_[f].emplace_back("le=\"+Inf\"");
    }
  }
}

std::size_t Family::series_count() const {
  std::shared_lock lock(mu_);
  return order_.size();
}

const Family::Series& Family::series(std::span<const std::string_view> values) {
  if (values.size() != label_names_.size())
    throw std::invalid_argument("metrics: " + name_ + " takes " + std::to_string(label_names_.size()) +
                                " label values, got " + std::to_string(values.size()));
  thread_local std::string key;
  key.clear();
  for (auto v : values) {
    key += v;
    key += '\xff';
  }
  {
    std::shared_lock lock(mu_);
    auto it = by_key_.find(key);
    if (it != by_key_.end()) return *it->second;
  }
  auto make = [&](std::span<const std::string_view> vals) {
    auto s = std::make_unique<Series>();
    for (std::size_t i = 0; i < vals.size(); ++i) {
      if (i) s->labels += ',';
      s->labels += label_names_[i];
      s->labels += "=\"";
      detail::append_label_value(s->labels, vals[i]);
      s->labels += '"';
    }
    std::uint32_t cells = type_ == Type::kHistogram ? static_cast<std::uint32_t>(bounds_.size() + 2) : 1;
    s->cell = detail::allocate(cells);
    if (type_ == Type::kGauge) s->base = std::make_unique<std::atomic<double>>(0.0);
    if (type_ == Type::kHistogram) s->exemplars = std::make_unique<detail::Exemplars>(bounds_.size() + 1);
    return s;
  };
  bool overflowed = false;
  const Series* result;
  {
    std::unique_lock lock(mu_);
    auto it = by_key_.find(key);
    if (it != by_key_.end()) return *it->second;
    if (order_.size() < max_series_) {
      auto s = make(values);
      result = s.get();
      order_.push_back(result);
      by_key_.emplace(key, std::move(s));
    } else {
      if (!overflow_) {
        std::vector<std::string_view> over(label_names_.size(), "overflow");
        auto s = make(over);
        overflow_ = s.get();
        order_.push_back(overflow_);  // beyond max_series by one: the fold target
        by_key_.emplace("\x01overflow", std::move(s));
        overflow_counter_ = registry_.overflow_counter(name_);
      }
      result = overflow_;
      overflowed = true;
    }
  }
  if (overflowed) overflow_counter_.inc();
  return *result;
}

std::vector<const Family::Series*> Family::list() const {
  std::shared_lock lock(mu_);
  return order_;
}

void Family::render(std::string& out, Format f, const detail::Snapshot& snap,
                    const std::vector<const Series*>& series) const {
  append_header(out, name_, help_, type_, f);
  for (const Series* s : series) {
    switch (type_) {
      case Type::kCounter:
        append_sample(out, name_, "", s->labels, "", snap.sum(s->cell));
        break;
      case Type::kGauge:
        append_sample(out, name_, "", s->labels, "", s->base->load(std::memory_order_relaxed) + snap.sum(s->cell));
        break;
      case Type::kHistogram: {
        const bool om = f == Format::kOpenMetrics;
        const auto& le = le_text_[om ? 1 : 0];
        double cumulative = 0;
        detail::ExemplarData ex;
        for (std::size_t i = 0; i <= bounds_.size(); ++i) {
          const double in_bucket = snap.sum(s->cell + static_cast<detail::CellId>(i));
          cumulative += in_bucket;
          append_sample(out, name_, "_bucket", s->labels, le[i], cumulative);
          // in_bucket > 0: a scrape racing the exemplar's own observation shows neither.
          if (om && in_bucket > 0 && s->exemplars && s->exemplars->read(i, ex)) append_exemplar(out, ex);
        }
        append_sample(out, name_, "_count", s->labels, "", cumulative);
        append_sample(out, name_, "_sum", s->labels, "",
                      snap.sum(s->cell + static_cast<detail::CellId>(bounds_.size() + 1)));
        break;
      }
    }
  }
}

// ---------------- Emitter ----------------

void Emitter::begin(std::string_view name, std::string_view help, Type type) {
  append_header(out_, name, help, type, format_);
}

void Emitter::sample(std::string_view name, std::span<const std::pair<std::string_view, std::string_view>> labels,
                     double value) {
  std::string text;
  for (const auto& [k, v] : labels) {
    if (!text.empty()) text += ',';
    text += k;
    text += "=\"";
    detail::append_label_value(text, v);
    text += '"';
  }
  append_sample(out_, name, "", text, "", value);
}

void Emitter::gauge(std::string_view name, std::string_view help, double value) {
  begin(name, help, Type::kGauge);
  append_sample(out_, name, "", "", "", value);
}

void Emitter::counter(std::string_view name, std::string_view help, double value) {
  begin(name, help, Type::kCounter);
  append_sample(out_, name, "", "", "", value);
}

// ---------------- Registry ----------------

Registry::Registry() = default;
Registry::~Registry() = default;

Registry& Registry::global() {
  static Registry* r = new Registry;  // leaked: instrumentation may run during static destruction
  return *r;
}

Family& Registry::add(Type type, Options o, std::vector<std::string> labels) {
  if (!detail::valid_metric_name(o.name)) throw std::invalid_argument("metrics: invalid metric name '" + o.name + "'");
  if (type == Type::kCounter && !o.name.ends_with("_total"))
    throw std::invalid_argument("metrics: counter names end in _total ('" + o.name + "')");
  for (const auto& l : labels) {
    if (!detail::valid_label_name(l) || (type == Type::kHistogram && l == "le"))
      throw std::invalid_argument("metrics: invalid label name '" + l + "' for " + o.name);
    if (std::count(labels.begin(), labels.end(), l) > 1)
      throw std::invalid_argument("metrics: label '" + l + "' repeated for " + o.name);
  }
  std::lock_guard lock(mu_);
  for (auto& f : families_) {
    if (f->name() != o.name) continue;
    if (f->type() != type || f->label_names() != labels)
      throw std::invalid_argument("metrics: " + o.name + " is already registered with another type or labels");
    return *f;
  }
  std::unique_ptr<Family> f;
  switch (type) {
    case Type::kCounter:
      f.reset(new CounterVec(*this, type, std::move(o), std::move(labels)));
      break;
    case Type::kGauge:
      f.reset(new GaugeVec(*this, type, std::move(o), std::move(labels)));
      break;
    case Type::kHistogram:
      f.reset(new HistogramVec(*this, type, std::move(o), std::move(labels)));
      break;
  }
  families_.push_back(std::move(f));
  return *families_.back();
}

CounterVec& Registry::counter_vec(Options o, std::vector<std::string> labels) {
  return static_cast<CounterVec&>(add(Type::kCounter, std::move(o), std::move(labels)));
}
GaugeVec& Registry::gauge_vec(Options o, std::vector<std::string> labels) {
  return static_cast<GaugeVec&>(add(Type::kGauge, std::move(o), std::move(labels)));
}
HistogramVec& Registry::histogram_vec(Options o, std::vector<std::string> labels) {
  return static_cast<HistogramVec&>(add(Type::kHistogram, std::move(o), std::move(labels)));
}

Counter Registry::overflow_counter(std::string_view family) {
  auto& vec = counter_vec({.name = "svckit_metrics_overflow_total",
                           .help = "Label sets refused because their metric family reached max_series; "
                                   "they were counted in the family's overflow series."},
                          {"metric"});
  return vec.with({family});
}

void Registry::add_collector(std::function<void(Emitter&)> collector) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collector));
}

void Registry::gauge_fn(std::string name, std::string help, std::function<double()> fn) {
  if (!detail::valid_metric_name(name)) throw std::invalid_argument("metrics: invalid metric name '" + name + "'");
  add_collector(
      [name = std::move(name), help = std::move(help), fn = std::move(fn)](Emitter& e) { e.gauge(name, help, fn()); });
}

std::string Registry::render(Format f) const {
  std::string out;
  render_to(out, f);
  return out;
}

void Registry::render_to(std::string& out, Format f) const {
  std::vector<std::function<void(Emitter&)>> collectors;
  std::vector<const Family*> families;
  {
    std::lock_guard lock(mu_);
    collectors = collectors_;
    for (auto& fam : families_) families.push_back(fam.get());
  }
  // Collectors first and outside the snapshot: they may touch metrics themselves. Series lists are
  // copied before the snapshot takes the cells' lock (series creation takes them in the other order).
  Emitter e(out, f);
  for (auto& c : collectors) c(e);
  std::vector<std::vector<const Family::Series*>> lists;
  lists.reserve(families.size());
  for (const Family* fam : families) lists.push_back(fam->list());
  {
    detail::Snapshot snap;
    for (std::size_t i = 0; i < families.size(); ++i) families[i]->render(out, f, snap, lists[i]);
  }
  if (f == Format::kOpenMetrics) out += "# EOF\n";
}

}  // namespace svckit::metrics
