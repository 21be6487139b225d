// libFuzzer target for the chunked body decoder that the server runs on request bodies and the client
// and the gateway on response bodies (make fuzz, target http_chunked). Besides crashes it checks the
// decoder against a plain reference of RFC 9112 §7.1: a body the decoder completes is well formed by
// the reference, with the same bytes and the same end; fed in arbitrary pieces it decides the same as
// fed at once; and the body it decoded, chunked again, decodes to itself.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "svckit/http/parser.hpp"
#include "svckit/http/rfc9112_fuzz.hpp"

using namespace svckit::http;

namespace {

using fuzz::require, fuzz::tchar, fuzz::value_char;

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// chunked-body = *chunk last-chunk trailer-section CRLF; chunk = chunk-size [ chunk-ext ] CRLF data
// CRLF. Returns the size of the whole chunked body, or 0 when `in` holds no complete valid one.
std::size_t reference_decode(std::string_view in, std::string& body) {
  std::size_t i = 0;
  for (;;) {
    std::uint64_t size = 0;
    std::size_t digits = 0;
    while (i < in.size() && hex(in[i]) >= 0) {
      if (++digits > 15) return 0;
      size = size * 16 + static_cast<std::uint64_t>(hex(in[i++]));
    }
    if (digits == 0) return 0;
    auto cr = in.find('\r', i);
    if (cr == std::string_view::npos || cr + 1 >= in.size() || in[cr + 1] != '\n') return 0;
    std::string_view ext = in.substr(i, cr - i);  // ";name=value", also after BWS
    if (!ext.empty() && ext[0] != ';' && ext[0] != ' ' && ext[0] != '\t') return 0;
    for (unsigned char c : ext)
      if (!value_char(c)) return 0;
    i = cr + 2;
    if (size == 0) break;
    if (in.size() - i < size + 2) return 0;
    body.append(in.substr(i, size));
    i += size;
    if (in.substr(i, 2) != "\r\n") return 0;
    i += 2;
  }
  for (;;) {  // trailer fields, then the final CRLF
    auto crlf = in.find("\r\n", i);
    if (crlf == std::string_view::npos) return 0;
    std::string_view line = in.substr(i, crlf - i);
    i = crlf + 2;
    if (line.empty()) return i;
    auto colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) return 0;
    for (unsigned char c : line.substr(0, colon))
      if (!tchar(c)) return 0;
    for (unsigned char c : line.substr(colon + 1))
      if (!value_char(c)) return 0;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t len) {
  if (len < 1) return 0;
  // The first byte chooses where the input is cut for the piecewise feed.
  std::size_t cut = len > 1 ? bytes[0] % len : 0;
  const char* data = reinterpret_cast<const char*>(bytes + 1);
  len -= 1;
  if (cut > len) cut = len;
  constexpr std::uint64_t kMax = 2048;

  ChunkedDecoder whole(kMax);
  std::string body;
  std::size_t used = 0;
  ParseError err;
  ParseResult r = whole.feed(data, len, body, used, err);
  require(body.size() <= kMax && used <= len);
  if (r == ParseResult::kError) require(err.status == 400 || err.status == 413 || err.status == 431);

  std::string ref_body;
  std::size_t ref_used = reference_decode(std::string_view(data, len), ref_body);
  if (r == ParseResult::kComplete) {
    require(ref_used == used && ref_body == body);
  } else if (ref_used != 0 && ref_body.size() <= kMax) {
    // A well-formed body within the limit is only refused for a trailer section over 64 KiB, which a
    // fuzz input this short cannot have.
    require(false);
  }

  // Two pieces: the same outcome, bytes and end.
  ChunkedDecoder pieces(kMax);
  std::string body2;
  std::size_t used1 = 0, used2 = 0;
  ParseError err2;
  ParseResult r1 = pieces.feed(data, cut, body2, used1, err2);
  ParseResult r2 = r1;
  std::size_t total = used1;
  if (r1 == ParseResult::kIncomplete) {
    require(used1 == cut);
    r2 = pieces.feed(data + cut, len - cut, body2, used2, err2);
    total = cut + used2;
  }
  require(r2 == r);
  if (r == ParseResult::kComplete) require(total == used && body2 == body);
  if (r == ParseResult::kError) require(err2.status == err.status);

  // Re-chunked in pieces of 7 bytes, the decoded body decodes to itself.
  if (r == ParseResult::kComplete) {
    std::string again;
    static const char* kHex = "0123456789abcdef";
    for (std::size_t p = 0; p < body.size(); p += 7) {
      std::size_t n = std::min<std::size_t>(7, body.size() - p);
      again += kHex[n];
      again += "\r\n";
      again.append(body, p, n);
      again += "\r\n";
    }
    again += "0\r\n\r\n";
    ChunkedDecoder redo(kMax);
    std::string body3;
    std::size_t used3 = 0;
    require(redo.feed(again.data(), again.size(), body3, used3, err2) == ParseResult::kComplete);
    require(used3 == again.size() && body3 == body);
  }
  return 0;
}
