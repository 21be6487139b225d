// libFuzzer target for the trace propagation headers that every incoming HTTP request and gRPC call
// carries as metadata (make fuzz, target trace_context): traceparent/tracestate, b3 single and multi,
// uber-trace-id and baggage. The input is header values, one per line, in that order. Besides crashes it
// checks: what is extracted is valid and, injected again in every format, extracts to the same context;
// each format's parse, format, parse is a fixed point; baggage stays within its limits; and the header
// lines a client writes say what inject says.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "svckit/trace/context.hpp"

using namespace svckit::trace;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

bool same(const SpanContext& a, const SpanContext& b) {
  return a.trace_id == b.trace_id && a.span_id == b.span_id && a.sampled == b.sampled;
}

const std::vector<Format> kAll = {Format::kW3C, Format::kB3, Format::kB3Multi, Format::kJaeger};
const char* const kNames[] = {"traceparent",  "tracestate",  "b3",           "uber-trace-id", "baggage",
                              "x-b3-traceid", "x-b3-spanid", "x-b3-sampled", "x-b3-flags",    "x-b3-parentspanid"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t len) {
  std::string_view in(reinterpret_cast<const char*>(bytes), len);
  std::map<std::string, std::string, std::less<>> headers;
  for (const char* name : kNames) {
    auto nl = in.find('\n');
    headers[name] = std::string(in.substr(0, nl));
    if (nl == std::string_view::npos) break;
    in.remove_prefix(nl + 1);
  }
  // Header names are case-insensitive, and gRPC metadata keys arrive in lower case.
  auto get = [&headers](std::string_view name) -> std::string_view {
    std::string key(name);
    for (char& c : key)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    auto it = headers.find(key);
    return it == headers.end() ? std::string_view() : std::string_view(it->second);
  };

  if (auto sc = parse_traceparent(get("traceparent"), get("tracestate"))) {
    require(sc->valid());
    auto again = parse_traceparent(format_traceparent(*sc), sc->trace_state);
    require(again && same(*again, *sc) && again->trace_state == sc->trace_state);
  }
  if (auto sc = parse_b3_single(get("b3"))) require(sc->valid());
  if (auto sc = parse_jaeger(get("uber-trace-id"))) {
    require(sc->valid());
    auto again = parse_jaeger(format_jaeger(*sc));
    require(again && same(*again, *sc));
  }
  Baggage baggage = parse_baggage(get("baggage"));
  require(baggage.size() <= 64);
  std::string formatted = format_baggage(baggage);
  Baggage again = parse_baggage(formatted);
  require(again == baggage);

  for (Format f : kAll) {
    auto sc = extract(get, {f});
    if (!sc) continue;
    require(sc->valid());
    for (Format to : kAll) {
      std::map<std::string, std::string, std::less<>> out;
      inject(*sc, [&out](std::string_view n, std::string_view v) { out[std::string(n)] = std::string(v); }, {to});
      auto round = extract(
          [&out](std::string_view n) -> std::string_view {
            auto it = out.find(n);
            return it == out.end() ? std::string_view() : std::string_view(it->second);
          },
          {to});
      require(round && same(*round, *sc));
      std::string lines, want;
      append_header_lines(lines, *sc, {to});
      for (const auto& [n, v] : out) want += n + ": " + v + "\r\n";
      // The same fields, in whatever order each writes them.
      require(lines.size() == want.size());
      for (const auto& [n, v] : out) require(lines.find(n + ": " + v + "\r\n") != std::string::npos);
    }
  }
  return 0;
}
