#pragma once
// OTLP/HTTP export with JSON encoding (`POST /v1/traces`, optionally gzip), retries with backoff on
// 429/502/503/504 and connection failures (honouring Retry-After), and a stream exporter that writes
// the same JSON to stdout or a file. The HTTP transport is injected (the http module provides one on
// its client), so this module does not depend on the HTTP stack. OtlpClient (the retrying POST) and
// the resource/attribute encoders are shared with the log and metric exporters of svckit::app.
#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "svckit/trace/tracer.hpp"

namespace svckit::json {
class Writer;
}

namespace svckit::trace {

// `"attributes":[{"key":..,"value":{"stringValue":..}}, ...]` as OTLP/JSON writes them.
void write_otlp_attributes(json::Writer& w, std::span<const Attribute> attributes);
// `"resource":{"attributes":[...]}`.
void write_otlp_resource(json::Writer& w, const Resource& resource);

// ExportTraceServiceRequest in OTLP/JSON: ids as hex, 64-bit integers as strings, enums as numbers.
std::string encode_otlp_json(std::span<const SpanData> spans, const Resource& resource);

struct PostRequest {
  std::string url;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{10000};
};
struct PostResponse {
  int status = 0;
  std::optional<std::chrono::seconds> retry_after;
  std::string body;
};
using Transport = std::function<Result<PostResponse>(const PostRequest&)>;

struct OtlpOptions {
  std::string endpoint = "http://127.0.0.1:4318/v1/traces";
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. authorization
  bool gzip = false;
  std::chrono::milliseconds timeout{10000};  // per attempt
  int max_attempts = 5;
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{10000};
  // For tests: how to wait between attempts.
  std::function<void(std::chrono::milliseconds)> sleep;
  // Checked before every attempt: true gives up (CANCELLED) at once, e.g. when a sink is abandoned.
  std::function<bool()> cancelled;
};

// POSTs one OTLP/JSON document to options.endpoint: gzip if asked, retries with full-jitter
// backoff on 429/502/503/504 and connection failures (Retry-After wins), never on other 4xx.
// Blocking: call it from an exporter thread, never from an event loop. Not thread-safe.
class OtlpClient {
 public:
  OtlpClient(OtlpOptions options, Transport transport);
  Status post(std::string json_body);
  std::uint64_t retries() const noexcept { return retries_; }
  const OtlpOptions& options() const noexcept { return options_; }

 private:
  OtlpOptions options_;
  Transport transport_;
  std::mt19937_64 rng_{std::random_device{}()};
  std::uint64_t retries_ = 0;
};

class OtlpHttpExporter : public SpanExporter {
 public:
  OtlpHttpExporter(OtlpOptions options, Transport transport) : client_(std::move(options), std::move(transport)) {}
  Status export_spans(std::span<const SpanData> spans, const Resource& resource) override {
    if (spans.empty()) return {};
    return client_.post(encode_otlp_json(spans, resource));
  }
  std::uint64_t retries() const noexcept { return client_.retries(); }

 private:
  OtlpClient client_;
};

// One OTLP/JSON document per batch, one line each.
class StreamExporter : public SpanExporter {
 public:
  explicit StreamExporter(std::FILE* out = stdout) : out_(out) {}
  Status export_spans(std::span<const SpanData> spans, const Resource& resource) override;

 private:
  std::FILE* out_;
};

}  // namespace svckit::trace
