#include "svckit/trace/otlp.hpp"

#include <zlib.h>

#include <algorithm>
#include <thread>

#include "svckit/json/json.hpp"

namespace svckit::trace {

namespace {

void write_value(json::Writer& w, const AttributeValue& v) {
  w.begin_object();
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>) {
          w.key("boolValue").boolean(x);
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          w.key("intValue").string(std::to_string(x));  // proto3 JSON: 64-bit integers are strings
        } else if constexpr (std::is_same_v<T, double>) {
          w.key("doubleValue").number(x);
        } else {
          w.key("stringValue").string(x);
        }
      },
      v);
  w.end_object();
}

}  // namespace

void write_otlp_attributes(json::Writer& w, std::span<const Attribute> attrs) {
  w.key("attributes").begin_array();
  for (const auto& a : attrs) {
    w.begin_object().key("key").string(a.key).key("value");
    write_value(w, a.value);
    w.end_object();
  }
  w.end_array();
}

void write_otlp_resource(json::Writer& w, const Resource& resource) {
  w.key("resource").begin_object();
  write_otlp_attributes(w, resource.attributes);
  w.end_object();
}

std::string encode_otlp_json(std::span<const SpanData> spans, const Resource& resource) {
  std::string out;
  out.reserve(256 + spans.size() * 512);
  json::Writer w(out);
  w.begin_object().key("resourceSpans").begin_array().begin_object();
  write_otlp_resource(w, resource);
  w.key("scopeSpans").begin_array().begin_object();
  w.key("scope").begin_object().key("name").string("svckit").key("version").string("0.1.0").end_object();
  w.key("spans").begin_array();
  for (const SpanData& s : spans) {
    w.begin_object();
    w.key("traceId").string(s.context.trace_id.hex());
    w.key("spanId").string(s.context.span_id.hex());
    if (!s.context.trace_state.empty()) w.key("traceState").string(s.context.trace_state);
    if (s.parent_span_id.valid()) w.key("parentSpanId").string(s.parent_span_id.hex());
    w.key("name").string(s.name);
    w.key("kind").integer(static_cast<int>(s.kind));
    w.key("startTimeUnixNano").string(std::to_string(s.start_ns));
    w.key("endTimeUnixNano").string(std::to_string(s.end_ns));
    write_otlp_attributes(w, s.attributes);
    if (s.dropped_attributes) w.key("droppedAttributesCount").integer(s.dropped_attributes);
    w.key("events").begin_array();
    for (const Event& e : s.events) {
      w.begin_object().key("timeUnixNano").string(std::to_string(e.time_ns)).key("name").string(e.name);
      write_otlp_attributes(w, e.attributes);
      w.end_object();
    }
    w.end_array();
    if (s.dropped_events) w.key("droppedEventsCount").integer(s.dropped_events);
    w.key("links").begin_array();
    for (const Link& l : s.links) {
      w.begin_object().key("traceId").string(l.context.trace_id.hex()).key("spanId").string(l.context.span_id.hex());
      if (!l.context.trace_state.empty()) w.key("traceState").string(l.context.trace_state);
      write_otlp_attributes(w, l.attributes);
      w.end_object();
    }
    w.end_array();
    if (s.dropped_links) w.key("droppedLinksCount").integer(s.dropped_links);
    w.key("status").begin_object();
    if (s.status != StatusCode::kUnset) w.key("code").integer(static_cast<int>(s.status));
    if (!s.status_message.empty()) w.key("message").string(s.status_message);
    w.end_object();
    w.end_object();
  }
  w.end_array().end_object().end_array();
  w.end_object().end_array().end_object();
  return out;
}

namespace {

Result<std::string> gzip_body(const std::string& in) {
  z_stream z{};
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return make_error(Code::kInternal, "zlib init failed");
  std::string out(deflateBound(&z, static_cast<uLong>(in.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return make_error(Code::kInternal, "gzip failed");
  return out;
}

bool retryable_http(int status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

}  // namespace

OtlpClient::OtlpClient(OtlpOptions options, Transport transport)
    : options_(std::move(options)), transport_(std::move(transport)) {
  if (!options_.sleep) options_.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  options_.max_attempts = std::max(options_.max_attempts, 1);
}

Status OtlpClient::post(std::string body) {
  PostRequest req;
  req.url = options_.endpoint;
  req.timeout = options_.timeout;
  req.headers = options_.headers;
  req.headers.emplace_back("Content-Type", "application/json");
  if (options_.gzip) {
    auto z = gzip_body(body);
    if (!z) return z.error();
    req.body = std::move(*z);
    req.headers.emplace_back("Content-Encoding", "gzip");
  } else {
    req.body = std::move(body);
  }
  auto backoff = options_.initial_backoff;
  Status last;
  for (int attempt = 1;; ++attempt) {
    if (options_.cancelled && options_.cancelled()) return Status(Code::kCancelled, "export abandoned");
    auto res = transport_(req);
    std::optional<std::chrono::milliseconds> wait;
    if (res && res->status >= 200 && res->status < 300) return {};
    if (res) {
      last = Status::from_http(res->status, "OTLP export answered " + std::to_string(res->status) +
                                                (res->body.empty() ? "" : ": " + res->body.substr(0, 200)));
      if (!retryable_http(res->status)) return last;  // a 400 will not get better
      if (res->retry_after) wait = std::chrono::duration_cast<std::chrono::milliseconds>(*res->retry_after);
    } else {
      last = res.error();
      Code c = last.code();
      if (c != Code::kUnavailable && c != Code::kDeadlineExceeded && c != Code::kResourceExhausted) return last;
    }
    if (attempt >= options_.max_attempts) return last;
    if (!wait) {
      // Exponential backoff with full jitter.
      std::uniform_int_distribution<std::int64_t> jitter(0, backoff.count());
      wait = std::chrono::milliseconds(jitter(rng_));
      backoff = std::min(backoff * 2, options_.max_backoff);
    }
    ++retries_;
    options_.sleep(std::min(*wait, options_.max_backoff));
  }
}

Status StreamExporter::export_spans(std::span<const SpanData> spans, const Resource& resource) {
  std::string doc = encode_otlp_json(spans, resource);
  doc += '\n';
  if (std::fwrite(doc.data(), 1, doc.size(), out_) != doc.size()) return Status(Code::kUnavailable, "write failed");
  std::fflush(out_);
  return {};
}

}  // namespace svckit::trace
