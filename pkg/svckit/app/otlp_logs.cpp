#include "svckit/app/otlp_logs.hpp"

#include <charconv>

#include "svckit/json/json.hpp"
#include "svckit/json/reader.hpp"

namespace svckit::app {

namespace {

int digits(std::string_view s, std::size_t pos, std::size_t n, bool& ok) noexcept {
  int v = 0;
  if (pos + n > s.size()) {
    ok = false;
    return 0;
  }
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') ok = false;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

// Howard Hinnant's days_from_civil.
std::int64_t days_from_civil(int y, int m, int d) noexcept {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + static_cast<unsigned>(d) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Severity {
  int number;
  std::string_view text;
};

Severity severity(std::string_view level) noexcept {
  if (level == "trace") return {1, "TRACE"};
  if (level == "debug") return {5, "DEBUG"};
  if (level == "info") return {9, "INFO"};
  if (level == "warn") return {13, "WARN"};
  if (level == "error") return {17, "ERROR"};
  if (level == "fatal") return {21, "FATAL"};
  return {0, {}};
}

bool is_hex_id(std::string_view s, std::size_t len) noexcept {
  if (s.size() != len) return false;
  bool nonzero = false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    nonzero |= c != '0';
  }
  return nonzero;
}

void attribute_key(json::Writer& w, std::string_view key) {
  w.begin_object().key("key").string(key).key("value");
}

// One record from one line. Returns false if the line is not a JSON object (the caller falls back).
bool write_record(json::Writer& w, std::string_view line, std::int64_t observed_ns) {
  json::Reader r(line);
  if (r.peek() != json::Kind::kObject) return false;
  std::string msg, level, trace_id, span_id, caller;
  std::int64_t time_ns = 0;
  // Attributes are written into their own buffer while scanning, since the record's fixed fields
  // come from keys anywhere in the line.
  std::string attrs;
  json::Writer a(attrs);
  a.begin_array();
  r.begin_object();
  for (std::string_view key; r.next_key(key);) {
    std::string k(key);  // the reader's scratch buffer is reused by the value read below
    json::Kind kind = r.peek();
    if (kind == json::Kind::kString) {
      std::string v;
      r.read_string(v);
      if (k == "ts") {
        if (auto ns = parse_rfc3339_ns(v)) {
          time_ns = *ns;
          continue;
        }
      } else if (k == "msg") {
        msg = std::move(v);
        continue;
      } else if (k == "level") {
        level = std::move(v);
        continue;
      } else if (k == "trace_id" && is_hex_id(v, 32)) {
        trace_id = std::move(v);
        continue;
      } else if (k == "span_id" && is_hex_id(v, 16)) {
        span_id = std::move(v);
        continue;
      } else if (k == "caller") {
        caller = std::move(v);
        continue;
      }
      attribute_key(a, k);
      a.begin_object().key("stringValue").string(v).end_object().end_object();
    } else if (kind == json::Kind::kNumber) {
      std::string_view lit;
      r.read_number(lit);
      std::int64_t iv = 0;
      auto [end, ec] = std::from_chars(lit.data(), lit.data() + lit.size(), iv);
      attribute_key(a, k);
      if (ec == std::errc() && end == lit.data() + lit.size()) {
        a.begin_object().key("intValue").string(lit).end_object().end_object();  // proto3 JSON: int64 as string
      } else {
        double dv = 0;
        std::from_chars(lit.data(), lit.data() + lit.size(), dv);
        a.begin_object().key("doubleValue").number(dv).end_object().end_object();
      }
    } else if (kind == json::Kind::kBool) {
      bool b = false;
      r.read_bool(b);
      attribute_key(a, k);
      a.begin_object().key("boolValue").boolean(b).end_object().end_object();
    } else if (kind == json::Kind::kNull) {
      r.read_null();
    } else {
      std::string_view raw;
      if (!r.skip(&raw)) break;
      attribute_key(a, k);  // nested objects and arrays travel as their JSON text
      a.begin_object().key("stringValue").string(raw).end_object().end_object();
    }
  }
  if (r.failed()) return false;
  if (!caller.empty()) {
    auto colon = caller.rfind(':');
    std::int64_t lineno = 0;
    if (colon != std::string::npos &&
        std::from_chars(caller.data() + colon + 1, caller.data() + caller.size(), lineno).ec == std::errc()) {
      attribute_key(a, "code.filepath");
      a.begin_object().key("stringValue").string(std::string_view(caller).substr(0, colon)).end_object().end_object();
      attribute_key(a, "code.lineno");
      a.begin_object().key("intValue").string(std::to_string(lineno)).end_object().end_object();
    } else {
      attribute_key(a, "code.filepath");
      a.begin_object().key("stringValue").string(caller).end_object().end_object();
    }
  }
  a.end_array();

  w.begin_object();
  w.key("timeUnixNano").string(std::to_string(time_ns > 0 ? time_ns : observed_ns));
  w.key("observedTimeUnixNano").string(std::to_string(observed_ns));
  if (auto sev = severity(level); sev.number)
    w.key("severityNumber").integer(sev.number).key("severityText").string(sev.text);
  w.key("body").begin_object().key("stringValue").string(msg).end_object();
  w.key("attributes").raw(attrs);
  if (!trace_id.empty()) w.key("traceId").string(trace_id);
  if (!span_id.empty() && !trace_id.empty()) w.key("spanId").string(span_id);
  w.end_object();
  return true;
}

}  // namespace

std::optional<std::int64_t> parse_rfc3339_ns(std::string_view s) noexcept {
  // YYYY-MM-DDTHH:MM:SS[.fraction]Z
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
    return std::nullopt;
  bool ok = true;
  int y = digits(s, 0, 4, ok), mo = digits(s, 5, 2, ok), d = digits(s, 8, 2, ok);
  int h = digits(s, 11, 2, ok), mi = digits(s, 14, 2, ok), sec = digits(s, 17, 2, ok);
  if (!ok || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  std::size_t i = 19;
  std::int64_t frac_ns = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    std::int64_t scale = 100000000;
    std::size_t start = i;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      frac_ns += (s[i] - '0') * scale;
      scale /= 10;
    }
    if (i == start) return std::nullopt;
  }
  if (i + 1 != s.size() || (s[i] != 'Z' && s[i] != 'z')) return std::nullopt;
  std::int64_t days = days_from_civil(y, mo, d);
  return ((days * 86400 + h * 3600 + mi * 60 + sec) * 1000000000LL) + frac_ns;
}

std::string encode_otlp_logs_json(std::string_view lines, const trace::Resource& resource, std::int64_t observed_ns) {
  std::string out;
  out.reserve(256 + lines.size() * 2);
  json::Writer w(out);
  w.begin_object().key("resourceLogs").begin_array().begin_object();
  trace::write_otlp_resource(w, resource);
  w.key("scopeLogs").begin_array().begin_object();
  w.key("scope").begin_object().key("name").string("svckit").key("version").string("0.1.0").end_object();
  w.key("logRecords").begin_array();
  std::string record;
  while (!lines.empty()) {
    auto nl = lines.find('\n');
    std::string_view line = lines.substr(0, nl);
    lines = nl == std::string_view::npos ? std::string_view{} : lines.substr(nl + 1);
    if (line.empty()) continue;
    record.clear();
    json::Writer rw(record);
    if (!write_record(rw, line, observed_ns)) {
      record.clear();
      json::Writer fallback(record);
      fallback.begin_object();
      fallback.key("timeUnixNano").string(std::to_string(observed_ns));
      fallback.key("observedTimeUnixNano").string(std::to_string(observed_ns));
      fallback.key("severityNumber").integer(9).key("severityText").string("INFO");
      fallback.key("body").begin_object().key("stringValue").string(line).end_object();
      fallback.end_object();
    }
    w.raw(record);
  }
  w.end_array().end_object().end_array();
  w.end_object().end_array().end_object();
  return out;
}

OtlpLogSink::OtlpLogSink(OtlpLogOptions options, trace::Resource resource, trace::Transport transport)
    : options_(std::move(options)),
      resource_(std::move(resource)),
      client_(with_abandon(options_.otlp), std::move(transport)),
      thread_([this] { run(); }) {}

trace::OtlpOptions OtlpLogSink::with_abandon(trace::OtlpOptions o) {
  o.cancelled = [this] { return abandon_.load(); };
  // Retry waits end early when the sink is abandoned.
  o.sleep = [this](std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    done_cv_.wait_for(lock, d, [this] { return abandon_.load(); });
  };
  return o;
}

OtlpLogSink::~OtlpLogSink() {
  shutdown();
}

void OtlpLogSink::write(std::string_view line) {
  std::lock_guard lock(mu_);
  if (stop_ || pending_.size() + line.size() > options_.max_buffer_bytes) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  pending_.append(line);
  if (pending_.empty() || pending_.back() != '\n') pending_ += '\n';
  if (++pending_lines_ >= options_.max_batch_lines) cv_.notify_one();
}

void OtlpLogSink::flush() {
  std::unique_lock lock(mu_);
  if (stop_) return;
  std::uint64_t ticket = ++flush_requested_;
  cv_.notify_one();
  done_cv_.wait(lock, [&] { return flush_done_ >= ticket || stop_; });
}

void OtlpLogSink::shutdown(bool export_pending) {
  {
    std::lock_guard lock(mu_);
    if (!export_pending) {
      abandon_.store(true);
      for (char c : pending_) dropped_.fetch_add(c == '\n', std::memory_order_relaxed);
      pending_.clear();
      pending_lines_ = 0;
      done_cv_.notify_all();
    }
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  done_cv_.notify_all();
}

void OtlpLogSink::export_lines(std::string& lines) {
  if (lines.empty()) return;
  std::uint64_t n = 0;
  for (char c : lines) n += c == '\n';
  auto st = client_.post(encode_otlp_logs_json(lines, resource_, trace::now_ns()));
  if (st.ok())
    exported_.fetch_add(n, std::memory_order_relaxed);
  else
    failures_.fetch_add(1, std::memory_order_relaxed);
  lines.clear();
}

void OtlpLogSink::run() {
  std::string batch;
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait_for(lock, options_.interval,
                 [&] { return stop_ || pending_lines_ >= options_.max_batch_lines || flush_requested_ > flush_done_; });
    bool stopping = stop_;
    std::uint64_t flush_target = flush_requested_;
    batch.swap(pending_);
    pending_lines_ = 0;
    lock.unlock();
    export_lines(batch);  // exporting posts over the network: never under the lock
    lock.lock();
    flush_done_ = flush_target;
    done_cv_.notify_all();
    if (stopping && pending_.empty()) return;
  }
}

}  // namespace svckit::app
