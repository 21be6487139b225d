// libFuzzer target for the HTTP/1.1 response head parser that the client and the gateway run on what
// upstreams send (make fuzz, target http_response). Besides crashes it checks the parser against a
// plain reference written from RFC 9112: a head the parser accepts must be well formed by the
// reference, with the same status, reason, fields and framing (Content-Length, chunked), and parsing
// in two pieces agrees with parsing at once.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "svckit/http/parser.hpp"
#include "svckit/http/rfc9112_fuzz.hpp"

using namespace svckit::http;

namespace {

using fuzz::require, fuzz::tchar, fuzz::value_char;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

struct Reference {
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> fields;
  bool has_length = false;
  std::uint64_t length = 0;
  bool chunked = false;
  std::size_t head_size = 0;
};

// status-line = HTTP-version SP status-code SP [ reason-phrase ] CRLF; field-line = name ":" OWS value
// OWS CRLF; no CR or LF anywhere but in CRLF. Returns false for anything else.
bool reference_parse(std::string_view in, Reference& ref) {
  auto end = in.find("\r\n\r\n");
  if (end == std::string_view::npos) return false;
  ref.head_size = end + 4;
  std::string_view head = in.substr(0, end + 2);
  std::vector<std::string_view> lines;
  while (!head.empty()) {
    auto crlf = head.find("\r\n");
    std::string_view line = head.substr(0, crlf);
    if (line.find_first_of("\r\n") != std::string_view::npos) return false;
    lines.push_back(line);
    head.remove_prefix(crlf + 2);
  }
  std::string_view sl = lines.at(0);
  if (sl.size() < 12 || !sl.starts_with("HTTP/1.") || sl[7] < '0' || sl[7] > '9' || sl[8] != ' ') return false;
  for (int i = 9; i < 12; ++i)
    if (sl[i] < '0' || sl[i] > '9') return false;
  if (sl[9] < '1' || sl[9] > '5') return false;
  ref.status = std::stoi(std::string(sl.substr(9, 3)));
  if (sl.size() > 12) {
    if (sl[12] != ' ') return false;
    for (unsigned char c : sl.substr(13))
      if (!value_char(c)) return false;
    ref.reason = std::string(sl.substr(13));
  }
  bool te = false;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::string_view l = lines[i];
    auto colon = l.find(':');
    if (colon == 0 || colon == std::string_view::npos) return false;
    for (unsigned char c : l.substr(0, colon))
      if (!tchar(c)) return false;
    for (unsigned char c : l.substr(colon + 1))
      if (!value_char(c)) return false;
    std::string name = lower(l.substr(0, colon));
    std::string_view value = trim(l.substr(colon + 1));
    ref.fields.emplace_back(std::string(l.substr(0, colon)), std::string(value));
    if (name == "content-length") {
      if (ref.has_length || value.empty() || value.size() > 19) return false;
      for (char d : value)
        if (d < '0' || d > '9') return false;
      ref.has_length = true;
      ref.length = std::stoull(std::string(value));
    } else if (name == "transfer-encoding") {
      te = true;
      // chunked must be the last coding of the last field.
      std::string v = lower(value);
      std::size_t pos = 0;
      while (pos <= v.size()) {
        auto comma = v.find(',', pos);
        std::string_view tok = trim(std::string_view(v).substr(pos, comma == std::string::npos ? v.npos : comma - pos));
        if (!tok.empty()) ref.chunked = tok == "chunked";
        if (comma == std::string::npos) break;
        pos = comma + 1;
      }
    }
  }
  if (te && ref.has_length) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t len) {
  const char* data = reinterpret_cast<const char*>(bytes);
  ParserLimits limits;
  limits.max_header_bytes = 2048;
  limits.max_headers = 16;

  static ResponseHead head;
  std::size_t consumed = 0;
  ParseError err;
  ParseResult r = parse_response_head(data, len, limits, head, consumed, err);
  if (r == ParseResult::kError) require(err.status == 502);
  if (r != ParseResult::kComplete) return 0;

  Reference ref;
  require(reference_parse(std::string_view(data, len), ref));
  require(consumed == ref.head_size && consumed <= limits.max_header_bytes);
  require(head.status == ref.status && head.reason == ref.reason);
  require(head.header_count == ref.fields.size());
  for (std::size_t i = 0; i < head.header_count; ++i)
    require(head.headers[i].name == ref.fields[i].first && head.headers[i].value == ref.fields[i].second);
  require(head.has_content_length == ref.has_length && head.content_length == ref.length);
  require(head.chunked == ref.chunked);

  static ResponseHead again;
  std::size_t c2 = 0;
  ParseError e2;
  ParseResult first = parse_response_head(data, consumed - 1, limits, again, c2, e2);
  require(first == ParseResult::kIncomplete);
  return 0;
}
