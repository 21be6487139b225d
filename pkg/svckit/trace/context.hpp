#pragma once
// Trace identity: ids, the span context that crosses process boundaries, and the propagation formats
// that carry it in headers: W3C trace context (traceparent/tracestate) and baggage, B3 single and
// multi header, Jaeger's uber-trace-id. Extraction is strict: anything malformed or oversized is
// ignored (a new trace starts), never half-trusted.
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace svckit::trace {

struct TraceId {
  std::array<std::uint8_t, 16> bytes{};
  bool valid() const noexcept;  // not all zero
  std::string hex() const;
  char* hex_to(char* out) const noexcept;  // writes the 32 digits at out; returns the end
  static std::optional<TraceId> from_hex(std::string_view hex) noexcept;  // 32 (or 16, left-padded) hex
  static TraceId random() noexcept;
  bool operator==(const TraceId&) const = default;
};

struct SpanId {
  std::array<std::uint8_t, 8> bytes{};
  bool valid() const noexcept;
  std::string hex() const;
  char* hex_to(char* out) const noexcept;                                // writes the 16 digits at out; returns the end
  static std::optional<SpanId> from_hex(std::string_view hex) noexcept;  // 16 hex
  static SpanId random() noexcept;
  bool operator==(const SpanId&) const = default;
};

struct SpanContext {
  TraceId trace_id;
  SpanId span_id;
  bool sampled = false;
  std::string trace_state;  // W3C tracestate, passed on as received (validated)
  bool remote = false;      // extracted from a request rather than created here
  bool valid() const noexcept { return trace_id.valid() && span_id.valid(); }
};

// W3C baggage: application key/values that travel with the request.
using Baggage = std::vector<std::pair<std::string, std::string>>;

enum class Format { kW3C, kB3, kB3Multi, kJaeger };
// "w3c", "b3", "b3multi", "jaeger".
std::optional<Format> parse_format(std::string_view name) noexcept;

// Header access for extract/inject, so that any request type can carry a trace.
using HeaderGetter = std::function<std::string_view(std::string_view name)>;
using HeaderSetter = std::function<void(std::string_view name, std::string_view value)>;

// Tries the formats in order; the first that yields a valid context wins.
std::optional<SpanContext> extract(const HeaderGetter& get, const std::vector<Format>& formats);
void inject(const SpanContext& sc, const HeaderSetter& set, const std::vector<Format>& formats);
// The same fields appended to `out` as HTTP/1.1 header lines ("name: value\r\n"), for a client
// writing its request head: no callback and no string per field.
void append_header_lines(std::string& out, const SpanContext& sc, const std::vector<Format>& formats);

// Individual formats (exposed for tests and for custom carriers).
std::optional<SpanContext> parse_traceparent(std::string_view traceparent, std::string_view tracestate = {});
std::string format_traceparent(const SpanContext& sc);
std::optional<SpanContext> parse_b3_single(std::string_view b3);
std::optional<SpanContext> parse_jaeger(std::string_view uber_trace_id);
std::string format_jaeger(const SpanContext& sc);
// Baggage: at most 64 members and 8192 bytes, keys are tokens, values percent-decoded; invalid
// members are skipped.
Baggage parse_baggage(std::string_view header);
std::string format_baggage(const Baggage& baggage);

}  // namespace svckit::trace
