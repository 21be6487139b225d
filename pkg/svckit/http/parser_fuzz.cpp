// libFuzzer target for the HTTP/1.1 request parser and chunked decoder (make fuzz). Besides crashes and
// sanitizer reports it checks the parser's promises: views stay inside the input, consumed bytes are
// within it, limits hold, and parsing in two pieces agrees with parsing at once.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "svckit/http/parser.hpp"

using namespace svckit::http;

namespace {
void require(bool ok) {
  if (!ok) std::abort();
}
bool inside(std::string_view v, const char* data, std::size_t len) {
  return v.empty() || (v.data() >= data && v.data() + v.size() <= data + len);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t len) {
  const char* data = reinterpret_cast<const char*>(bytes);
  ParserLimits limits;
  limits.max_request_line = 256;
  limits.max_header_bytes = 2048;
  limits.max_headers = 16;
  limits.max_body = 4096;

  static RequestHead head;
  std::size_t consumed = 0, scanned = 0;
  ParseError err;
  ParseResult whole = parse_request_head(data, len, limits, head, consumed, scanned, err);
  if (whole == ParseResult::kError) {
    require(err.status >= 400 && err.status < 600);
  }
  if (whole != ParseResult::kComplete) return 0;

  require(consumed <= len);
  require(inside(head.method_text, data, len) && inside(head.target, data, len));
  // An absolute-form target without a path routes as "/" (RFC 9112 §3.2.2), the one path not in the input.
  require(inside(head.path, data, len) || (head.path == "/" && head.target.find("://") != std::string_view::npos));
  require(inside(head.query, data, len));
  // An HTTP/1.0 absolute-form request without Host gets one named by the parser, its authority as the
  // value: the only field whose name is not in the input, one past the limit at most.
  std::size_t named = 0;
  for (std::size_t i = 0; i < head.header_count; ++i) {
    require(inside(head.headers[i].value, data, len));
    if (inside(head.headers[i].name, data, len)) continue;
    require(head.headers[i].name == "Host" && head.version_minor == 0 && i + 1 == head.header_count);
    ++named;
  }
  require(head.header_count <= limits.max_headers + named);
  require(!(head.chunked && head.has_content_length));
  require(!head.has_content_length || head.content_length <= limits.max_body);

  // Incremental parsing must agree: first half, then all.
  static RequestHead again;
  std::size_t c2 = 0, s2 = 0;
  ParseError e2;
  ParseResult first = parse_request_head(data, len / 2, limits, again, c2, s2, e2);
  if (first != ParseResult::kComplete && first != ParseResult::kError) {
    ParseResult second = parse_request_head(data, len, limits, again, c2, s2, e2);
    require(second == ParseResult::kComplete && c2 == consumed);
    require(again.header_count == head.header_count && again.content_length == head.content_length);
  }

  if (head.chunked) {
    ChunkedDecoder decoder(limits.max_body);
    std::string body;
    std::size_t used = 0;
    ParseResult r = decoder.feed(data + consumed, len - consumed, body, used, err);
    require(body.size() <= limits.max_body);
    require(used <= len - consumed);
    if (r == ParseResult::kError) require(err.status == 400 || err.status == 413 || err.status == 431);
  }
  return 0;
}
