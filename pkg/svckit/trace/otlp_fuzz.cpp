// libFuzzer target for the OTLP/JSON encoder where spans carry user strings: span and event names,
// attribute keys and values (a request's path, a user agent), status messages and resource attributes
// (make fuzz, target otlp_json). The input is those strings separated by \x01. The oracle is the JSON
// reader: the document is valid JSON (which is UTF-8: a collector refuses the whole batch otherwise)
// and every string reads back as given, bytes that are not UTF-8 replaced by U+FFFD.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "svckit/json/json.hpp"
#include "svckit/trace/otlp.hpp"

using namespace svckit;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

// The text a reader must get back: each byte that starts no UTF-8 sequence becomes U+FFFD.
std::string as_utf8(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = 0;
    for (std::size_t k = 1; k <= 4 && i + k <= s.size() && !n; ++k)
      if (json::valid_utf8(s.substr(i, k))) n = k;
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      n = 1;
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t len) {
  std::string_view in(reinterpret_cast<const char*>(bytes), len);
  std::vector<std::string> parts;
  for (int i = 0; i < 6; ++i) {
    auto sep = in.find('\x01');
    parts.emplace_back(in.substr(0, sep));
    in = sep == std::string_view::npos ? std::string_view() : in.substr(sep + 1);
  }
  trace::SpanData span;
  span.context.trace_id.bytes[0] = 1;
  span.context.span_id.bytes[0] = 1;
  span.name = parts[0];
  span.attributes.push_back({parts[1], parts[2]});
  span.attributes.push_back({"n", std::int64_t{-1}});
  span.events.push_back({parts[3], 1, {{parts[1], parts[4]}}});
  span.status = trace::StatusCode::kError;
  span.status_message = parts[5];
  trace::Resource resource;
  resource.attributes.push_back({"service.name", parts[4]});

  std::string doc = trace::encode_otlp_json(std::span<const trace::SpanData>(&span, 1), resource);
  json::Reader r(doc);
  require(r.skip() && r.finish());
  for (const auto& p : parts) {
    std::string want = as_utf8(p);
    std::string encoded;
    json::append_string(encoded, p);
    require(p.empty() || doc.find(encoded) != std::string::npos);  // empty fields may be left out
    auto back = json::decode<std::string>(encoded);
    require(back.has_value() && *back == want);
  }
  return 0;
}
