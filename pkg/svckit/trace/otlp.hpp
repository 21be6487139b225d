#pragma once
// OTLP/HTTP export with JSON encoding (`POST /v1/traces`, optionally gzip), retries with backoff on
// 429/502/503/504 and connection failures (honouring Retry-After), and a stream exporter that writes
// the same JSON to stdout or a file. The HTTP transport is injected (the http module provides one on
// its client), so this module does not depend on the HTTP stack.
#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "svckit/trace/tracer.hpp"

namespace svckit::trace {

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
};

class OtlpHttpExporter : public SpanExporter {
 public:
  OtlpHttpExporter(OtlpOptions options, Transport transport);
  Status export_spans(std::span<const SpanData> spans, const Resource& resource) override;
  std::uint64_t retries() const noexcept { return retries_; }

 private:
  OtlpOptions options_;
  Transport transport_;
  std::mt19937_64 rng_{std::random_device{}()};
  std::uint64_t retries_ = 0;
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
