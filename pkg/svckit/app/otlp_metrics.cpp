#include "svckit/app/otlp_metrics.hpp"

#include <charconv>
#include <cmath>
#include <map>

#include "svckit/json/json.hpp"

namespace svckit::app {

namespace {

bool parse_double(std::string_view s, double& out) noexcept {
  if (s == "NaN") return out = std::nan(""), true;
  if (s == "+Inf" || s == "Inf") return out = HUGE_VAL, true;
  if (s == "-Inf") return out = -HUGE_VAL, true;
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

std::string unescape(std::string_view s, bool quotes) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      char c = s[++i];
      if (c == 'n')
        out += '\n';
      else if (c == '\\' || (quotes && c == '"'))
        out += c;
      else {
        out += '\\';
        out += c;
      }
    } else {
      out += s[i];
    }
  }
  return out;
}

bool name_char(char c, bool first) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (!first && c >= '0' && c <= '9');
}

struct RawSample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

// name{a="x",b="y"} value [timestamp]
Status parse_sample(std::string_view line, RawSample& out) {
  std::size_t i = 0;
  while (i < line.size() && name_char(line[i], i == 0)) ++i;
  if (i == 0) return Status(Code::kInvalidArgument, "expected a metric name");
  out.name.assign(line.substr(0, i));
  out.labels.clear();
  if (i < line.size() && line[i] == '{') {
    ++i;
    for (;;) {
      while (i < line.size() && line[i] == ' ') ++i;
      if (i < line.size() && line[i] == '}') {
        ++i;
        break;
      }
      std::size_t k = i;
      while (i < line.size() && name_char(line[i], i == k)) ++i;
      if (i == k || i >= line.size() || line[i] != '=') return Status(Code::kInvalidArgument, "bad label name");
      std::string key(line.substr(k, i - k));
      ++i;
      if (i >= line.size() || line[i] != '"') return Status(Code::kInvalidArgument, "label value must be quoted");
      std::size_t v = ++i;
      while (i < line.size() && line[i] != '"') i += line[i] == '\\' ? 2 : 1;
      if (i >= line.size()) return Status(Code::kInvalidArgument, "unterminated label value");
      out.labels.emplace_back(std::move(key), unescape(line.substr(v, i - v), true));
      ++i;
      if (i < line.size() && line[i] == ',') ++i;
    }
  }
  while (i < line.size() && line[i] == ' ') ++i;
  std::size_t end = line.find(' ', i);
  if (!parse_double(line.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i), out.value))
    return Status(Code::kInvalidArgument, "bad sample value");
  return {};
}

using LabelSet = std::vector<std::pair<std::string, std::string>>;

void write_number(json::Writer& w, double v) {
  if (std::isnan(v))
    w.string("NaN");  // proto3 JSON spells non-finite doubles as strings
  else if (std::isinf(v))
    w.string(v > 0 ? "Infinity" : "-Infinity");
  else
    w.number(v);
}

void write_labels(json::Writer& w, const LabelSet& labels) {
  w.key("attributes").begin_array();
  for (auto& [k, v] : labels)
    w.begin_object()
        .key("key")
        .string(k)
        .key("value")
        .begin_object()
        .key("stringValue")
        .string(v)
        .end_object()
        .end_object();
  w.end_array();
}

std::string u64(double v) {
  return std::to_string(v > 0 ? static_cast<std::uint64_t>(std::llround(v)) : 0);
}

}  // namespace

Result<std::vector<ParsedFamily>> parse_prometheus_text(std::string_view text) {
  std::vector<ParsedFamily> families;
  std::map<std::string, std::size_t, std::less<>> by_name;
  auto family = [&](std::string_view name) -> ParsedFamily& {
    auto it = by_name.find(name);
    if (it != by_name.end()) return families[it->second];
    by_name.emplace(std::string(name), families.size());
    families.push_back({.name = std::string(name), .type = "untyped"});
    return families.back();
  };
  // Histogram series of one family, by label set without `le`.
  std::map<std::pair<std::size_t, LabelSet>, std::size_t> hist_index;
  RawSample s;
  std::size_t lineno = 0;
  while (!text.empty()) {
    ++lineno;
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty()) continue;
    auto fail = [&](std::string_view why) {
      return make_error(Code::kInvalidArgument, "exposition line " + std::to_string(lineno) + ": " + std::string(why));
    };
    if (line[0] == '#') {
      bool help = line.starts_with("# HELP "), type = line.starts_with("# TYPE ");
      if (!help && !type) continue;  // a comment
      std::string_view rest = line.substr(7);
      auto sp = rest.find(' ');
      std::string_view name = rest.substr(0, sp);
      std::string_view arg = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
      if (name.empty()) return fail("HELP/TYPE without a name");
      if (help)
        family(name).help = unescape(arg, false);
      else
        family(name).type = std::string(arg);
      continue;
    }
    if (auto st = parse_sample(line, s); !st.ok()) return fail(st.message());
    // Which family: the sample's own name, or its histogram/summary base name.
    std::string_view base = s.name, suffix;
    for (std::string_view suf : {"_bucket", "_sum", "_count"}) {
      if (!s.name.ends_with(suf)) continue;
      std::string_view b = std::string_view(s.name).substr(0, s.name.size() - suf.size());
      auto it = by_name.find(b);
      if (it != by_name.end() && (families[it->second].type == "histogram" || families[it->second].type == "summary")) {
        base = b;
        suffix = suf;
      }
      break;
    }
    ParsedFamily& f = family(base);
    if (f.type != "histogram") {
      f.samples.push_back({.labels = s.labels, .value = s.value});
      continue;
    }
    double le = 0;
    LabelSet labels;
    bool has_le = false;
    for (auto& kv : s.labels) {
      if (kv.first == "le") {
        if (!parse_double(kv.second, le)) return fail("bad le");
        has_le = true;
      } else {
        labels.push_back(kv);
      }
    }
    std::size_t fi = static_cast<std::size_t>(&f - families.data());
    auto [it, inserted] = hist_index.try_emplace({fi, labels}, f.samples.size());
    if (inserted) f.samples.push_back({.labels = labels});
    auto& sample = f.samples[it->second];
    if (suffix == "_bucket") {
      if (!has_le) return fail("histogram bucket without le");
      sample.buckets.emplace_back(le, s.value);
    } else if (suffix == "_sum") {
      sample.sum = s.value;
    } else {
      sample.count = s.value;
    }
  }
  return families;
}

std::string encode_otlp_metrics_json(const std::vector<ParsedFamily>& families, const trace::Resource& resource,
                                     std::int64_t start_ns, std::int64_t now_ns) {
  std::string out;
  json::Writer w(out);
  const std::string start = std::to_string(start_ns), now = std::to_string(now_ns);
  w.begin_object().key("resourceMetrics").begin_array().begin_object();
  trace::write_otlp_resource(w, resource);
  w.key("scopeMetrics").begin_array().begin_object();
  w.key("scope").begin_object().key("name").string("svckit").key("version").string("0.1.0").end_object();
  w.key("metrics").begin_array();
  for (const auto& f : families) {
    if (f.samples.empty()) continue;
    w.begin_object().key("name").string(f.name);
    if (!f.help.empty()) w.key("description").string(f.help);
    if (f.name.ends_with("_seconds")) w.key("unit").string("s");
    if (f.name.ends_with("_bytes")) w.key("unit").string("By");
    auto point = [&](const ParsedFamily::Sample& s) {
      w.begin_object();
      write_labels(w, s.labels);
      w.key("startTimeUnixNano").string(start).key("timeUnixNano").string(now);
      w.key("asDouble");
      write_number(w, s.value);
      w.end_object();
    };
    if (f.type == "counter") {
      w.key("sum").begin_object().key("dataPoints").begin_array();
      for (auto& s : f.samples) point(s);
      w.end_array().key("aggregationTemporality").integer(2).key("isMonotonic").boolean(true).end_object();
    } else if (f.type == "histogram") {
      w.key("histogram").begin_object().key("dataPoints").begin_array();
      for (auto& s : f.samples) {
        w.begin_object();
        write_labels(w, s.labels);
        w.key("startTimeUnixNano").string(start).key("timeUnixNano").string(now);
        w.key("count").string(u64(s.count));
        w.key("sum");
        write_number(w, s.sum);
        // OTLP buckets hold their own counts, not the running total; the last is the +Inf bucket.
        w.key("bucketCounts").begin_array();
        double prev = 0;
        for (auto& [le, cum] : s.buckets) {
          w.string(u64(cum - prev));
          prev = cum;
        }
        w.end_array();
        w.key("explicitBounds").begin_array();
        for (auto& [le, cum] : s.buckets)
          if (!std::isinf(le)) w.number(le);
        w.end_array();
        w.end_object();
      }
      w.end_array().key("aggregationTemporality").integer(2).end_object();
    } else {
      w.key("gauge").begin_object().key("dataPoints").begin_array();
      for (auto& s : f.samples) point(s);
      w.end_array().end_object();
    }
    w.end_object();
  }
  w.end_array().end_object().end_array();
  w.end_object().end_array().end_object();
  return out;
}

OtlpMetricsPusher::OtlpMetricsPusher(metrics::Registry& registry, OtlpMetricsOptions options, trace::Resource resource,
                                     trace::Transport transport)
    : registry_(registry),
      options_(std::move(options)),
      resource_(std::move(resource)),
      client_(options_.otlp, std::move(transport)),
      start_ns_(trace::now_ns()),
      thread_([this] { run(); }) {}

OtlpMetricsPusher::~OtlpMetricsPusher() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

Status OtlpMetricsPusher::push() {
  std::lock_guard serial(push_mu_);  // the client is not thread-safe; a push from shutdown() may race the timer
  auto families = parse_prometheus_text(registry_.render(metrics::Format::kPrometheus));
  Status st = families ? client_.post(encode_otlp_metrics_json(*families, resource_, start_ns_, trace::now_ns()))
                       : families.error();
  if (st.ok())
    pushes_.fetch_add(1);
  else
    failures_.fetch_add(1);
  return st;
}

void OtlpMetricsPusher::shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  (void)push();
}

void OtlpMetricsPusher::run() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, options_.interval, [&] { return stop_; })) {
    lock.unlock();
    (void)push();
    lock.lock();
  }
}

}  // namespace svckit::app
