#include "svckit/http/parser.hpp"

#include <array>
#include <cstring>

#include "svckit/core/strings.hpp"

namespace svckit::http {

namespace {

// RFC 9110 §5.6.2 token characters.
constexpr auto kTchar = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();

// Field-value bytes: VCHAR, obs-text, SP, HTAB. Everything else (CTLs, bare CR, NUL, DEL) is refused.
constexpr auto kValueChar = [] {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x7f; ++c) t[c] = true;
  for (int c = 0x80; c < 0x100; ++c) t[c] = true;
  t['\t'] = true;
  return t;
}();

// request-target bytes: visible ASCII only (no SP, CTL or obs-text).
constexpr auto kTargetChar = [] {
  std::array<bool, 256> t{};
  for (int c = 0x21; c < 0x7f; ++c) t[c] = true;
  return t;
}();

// Host and authority bytes (RFC 3986 host [":" port]): unreserved, pct-encoded, sub-delims, ':' and the
// brackets of an IP literal. No '/', '?', '#' or '@' (userinfo: RFC 9110 §4.2.4), nothing invisible.
constexpr auto kHostChar = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("-._~%!$&'()*+,;=:[]")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();

bool valid_host(std::string_view s) noexcept {
  for (char c : s)
    if (!kHostChar[static_cast<unsigned char>(c)]) return false;
  return true;
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls fn(token) for each comma-separated list element (RFC 9110 §5.6.1), skipping empty ones.
template <class F>
void for_each_token(std::string_view v, F fn) {
  while (!v.empty()) {
    auto comma = v.find(',');
    auto item = trim_ows(v.substr(0, comma));
    if (!item.empty()) fn(item);
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
}

ParseResult fail(ParseError& e, int status, const char* reason) {
  e.status = status;
  e.reason = reason;
  return ParseResult::kError;
}

// The request-target forms other than origin-form (RFC 9112 §3.2.2–§3.2.4). absolute-form routes by
// its path and leaves its authority in `authority` (it replaces Host); authority-form is CONNECT's
// only form; asterisk-form is OPTIONS's only.
ParseResult parse_other_target(RequestHead& head, std::string_view& authority, ParseError& error) {
  std::string_view t = head.target;
  if (head.method == Method::kConnect) {
    auto colon = t.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == t.size() || !valid_host(t) ||
        t.find_first_not_of("0123456789", colon + 1) != std::string_view::npos)
      return fail(error, 400, "CONNECT needs an authority-form target (host:port)");
    head.path = t;
    head.query = {};
    return ParseResult::kComplete;
  }
  if (t == "*") {
    if (head.method != Method::kOptions) return fail(error, 400, "asterisk-form target is for OPTIONS only");
    return ParseResult::kComplete;
  }
  // scheme "://" authority path-abempty [ "?" query ]
  auto sep = t.find("://");
  if (sep == std::string_view::npos || sep == 0) return fail(error, 400, "malformed request target");
  for (std::size_t i = 0; i < sep; ++i) {
    char c = t[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alpha && (i == 0 || !((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.')))
      return fail(error, 400, "malformed request target");
  }
  std::string_view rest = t.substr(sep + 3);
  auto path_at = rest.find_first_of("/?");
  authority = rest.substr(0, path_at);
  if (authority.empty() || !valid_host(authority)) return fail(error, 400, "malformed request target");
  std::string_view path_query = path_at == std::string_view::npos ? std::string_view() : rest.substr(path_at);
  auto q = path_query.find('?');
  head.path = path_query.substr(0, q);
  if (head.path.empty()) head.path = "/";
  head.query = q == std::string_view::npos ? std::string_view() : path_query.substr(q + 1);
  return ParseResult::kComplete;
}

}  // namespace

std::string_view method_name(Method m) noexcept {
  static constexpr std::string_view kNames[] = {"GET",   "HEAD",    "POST",    "PUT",   "DELETE",
                                                "PATCH", "OPTIONS", "CONNECT", "TRACE", "OTHER"};
  return kNames[static_cast<std::size_t>(m)];
}

Method parse_method(std::string_view s) noexcept {
  switch (s.size()) {
    case 3:
      if (s == "GET") return Method::kGet;
      if (s == "PUT") return Method::kPut;
      break;
    case 4:
      if (s == "POST") return Method::kPost;
      if (s == "HEAD") return Method::kHead;
      break;
    case 5:
      if (s == "PATCH") return Method::kPatch;
      if (s == "TRACE") return Method::kTrace;
      break;
    case 6:
      if (s == "DELETE") return Method::kDelete;
      break;
    case 7:
      if (s == "OPTIONS") return Method::kOptions;
      if (s == "CONNECT") return Method::kConnect;
      break;
  }
  return Method::kOther;
}

std::string_view HeaderFields::header(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < header_count; ++i)
    if (iequals(headers[i].name, name)) return headers[i].value;
  return {};
}

// What the framing fields said, beyond what HeaderFields records.
struct FramingScan {
  bool has_te = false;
  bool te_other = false;     // a coding other than chunked
  bool te_misorder = false;  // anything after chunked, or chunked twice
  bool conn_close = false;
  bool conn_keep_alive = false;
};

// Parses the header fields of a head (from the line after the start line to the final CRLF) into
// `fields`, with the same strictness for requests and responses, and reads the framing fields every
// message has. `bad` is the status for malformed input (400 for requests, 502 for responses), `too_many`
// for exceeding max_headers. extra(name, value) sees each field and may fail (request-only fields).
template <class Extra>
ParseResult parse_fields(const char* c, const char* head_end, std::size_t max_headers, int bad, int too_many,
                         HeaderFields& fields, FramingScan& scan, ParseError& error, Extra extra) {
  fields.header_count = 0;
  fields.chunked = false;
  fields.has_content_length = false;
  fields.content_length = 0;
  if (max_headers > kMaxHeaderSlots) max_headers = kMaxHeaderSlots;
  while (c < head_end) {
    if (*c == ' ' || *c == '\t') return fail(error, bad, "obsolete line folding in header");
    const char* n = c;
    while (kTchar[static_cast<unsigned char>(*c)]) ++c;
    if (c == n || *c != ':') return fail(error, bad, "invalid header field name");
    std::string_view name(n, static_cast<std::size_t>(c - n));
    const char* v = ++c;
    while (kValueChar[static_cast<unsigned char>(*c)]) ++c;
    if (c[0] != '\r' || c[1] != '\n') return fail(error, bad, "invalid character in header value");
    std::string_view value = trim_ows(std::string_view(v, static_cast<std::size_t>(c - v)));
    c += 2;
    if (fields.header_count >= max_headers) return fail(error, too_many, "too many header fields");
    fields.headers[fields.header_count++] = Header{name, value};

    switch (ascii_lower(name[0])) {
      case 'c':
        if (iequals(name, "content-length")) {
          if (fields.has_content_length) return fail(error, bad, "repeated Content-Length");
          if (value.empty() || value.size() > 19) return fail(error, bad, "invalid Content-Length");
          std::uint64_t digits = 0;
          for (char d : value) {
            if (d < '0' || d > '9') return fail(error, bad, "invalid Content-Length");
            digits = digits * 10 + static_cast<std::uint64_t>(d - '0');
          }
          fields.has_content_length = true;
          fields.content_length = digits;
        } else if (iequals(name, "connection")) {
          for_each_token(value, [&](std::string_view tok) {
            if (iequals(tok, "close"))
              scan.conn_close = true;
            else if (iequals(tok, "keep-alive"))
              scan.conn_keep_alive = true;
          });
        }
        break;
      case 't':
        if (iequals(name, "transfer-encoding")) {
          scan.has_te = true;
          for_each_token(value, [&](std::string_view tok) {
            if (fields.chunked) scan.te_misorder = true;
            if (iequals(tok, "chunked"))
              fields.chunked = true;
            else
              scan.te_other = true;
          });
        }
        break;
    }
    if (ParseResult r = extra(name, value); r == ParseResult::kError) return r;
  }
  return ParseResult::kComplete;
}

ParseResult parse_request_head(const char* data, std::size_t len, const ParserLimits& limits, RequestHead& head,
                               std::size_t& consumed, std::size_t& scanned, ParseError& error) {
  // RFC 9112 §2.2: ignore empty lines before the request line.
  std::size_t start = 0;
  while (start + 1 < len && data[start] == '\r' && data[start + 1] == '\n') start += 2;
  if (start > 64) return fail(error, 400, "too many empty lines before the request");

  // Find the blank line that ends the head, validating line endings as we go: a LF must follow a CR.
  std::size_t from = scanned > start ? scanned : start;
  std::size_t end = 0;
  const char* p = data + from;
  const char* stop = data + len;
  while (p < stop) {
    const char* lf = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(stop - p)));
    if (!lf) break;
    if (lf == data || lf[-1] != '\r') return fail(error, 400, "bare LF in request head");
    // "\r\n\r\n": the previous line was empty.
    if (lf - data >= static_cast<std::ptrdiff_t>(start) + 3 && lf[-2] == '\n' && lf[-3] == '\r') {
      end = static_cast<std::size_t>(lf - data) + 1;
      break;
    }
    p = lf + 1;
  }
  if (!end) {
    // Keep the last 3 bytes for the next search: the terminator may straddle the boundary.
    scanned = len > 3 ? len - 3 : 0;
    // Too long before even one line ended: the request line itself is oversized.
    const void* first_lf = std::memchr(data + start, '\n', len - start);
    if (!first_lf && len - start > limits.max_request_line) return fail(error, 414, "request line too long");
    if (len - start > limits.max_header_bytes) return fail(error, 431, "request header block too large");
    return ParseResult::kIncomplete;
  }
  if (end - start > limits.max_header_bytes) return fail(error, 431, "request header block too large");

  // ---- request line ----
  const char* c = data + start;
  const char* line_end = static_cast<const char*>(std::memchr(c, '\r', end - start));  // exists
  if (static_cast<std::size_t>(line_end - c) > limits.max_request_line)
    return fail(error, 414, "request line too long");
  if (line_end[1] != '\n') return fail(error, 400, "bare CR in request line");
  const char* m = c;
  while (c < line_end && kTchar[static_cast<unsigned char>(*c)]) ++c;
  if (c == m || c == line_end || *c != ' ') return fail(error, 400, "malformed request line");
  head.method_text = std::string_view(m, static_cast<std::size_t>(c - m));
  head.method = parse_method(head.method_text);
  const char* t = ++c;
  while (c < line_end && kTargetChar[static_cast<unsigned char>(*c)]) ++c;
  if (c == t || c == line_end || *c != ' ') return fail(error, 400, "malformed request target");
  head.target = std::string_view(t, static_cast<std::size_t>(c - t));
  ++c;
  std::string_view version(c, static_cast<std::size_t>(line_end - c));
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' || version[5] < '0' ||
      version[5] > '9' || version[7] < '0' || version[7] > '9')
    return fail(error, 400, "malformed HTTP version");
  if (version[5] != '1') return fail(error, 505, "HTTP version not supported");
  head.version_minor = version[7] - '0';
  auto q = head.target.find('?');
  head.path = head.target.substr(0, q);
  head.query = q == std::string_view::npos ? std::string_view() : head.target.substr(q + 1);
  std::string_view authority;  // absolute-form's, which replaces Host (RFC 9112 §3.2.2)
  if (head.target.front() != '/' || head.method == Method::kConnect) [[unlikely]] {
    if (parse_other_target(head, authority, error) == ParseResult::kError) return ParseResult::kError;
  }

  // ---- header fields ----
  head.expect_continue = false;
  FramingScan scan;
  int hosts = 0;
  std::size_t host_at = 0;
  ParseResult fr = parse_fields(line_end + 2, data + end - 2, limits.max_headers, 400, 431, head, scan, error,
                                [&](std::string_view name, std::string_view value) {
                                  if (iequals(name, "host")) {
                                    ++hosts;
                                    host_at = head.header_count - 1;
                                  } else if (iequals(name, "expect")) {
                                    if (!iequals(value, "100-continue"))
                                      return fail(error, 417, "unsupported expectation");
                                    // RFC 9110 §10.1.1: an HTTP/1.0 client cannot read a 100.
                                    head.expect_continue = head.version_minor >= 1;
                                  }
                                  return ParseResult::kComplete;
                                });
  if (fr == ParseResult::kError) return fr;

  // We decode chunked only, as the single, final coding.
  if (scan.te_misorder) return fail(error, 400, "unsupported Transfer-Encoding");
  if (scan.te_other) return fail(error, 501, "unsupported Transfer-Encoding");
  if (scan.has_te && head.has_content_length) return fail(error, 400, "both Content-Length and Transfer-Encoding");
  if (scan.has_te && head.version_minor == 0) return fail(error, 400, "Transfer-Encoding in an HTTP/1.0 request");
  if (head.version_minor >= 1 && hosts != 1) return fail(error, 400, hosts ? "repeated Host" : "missing Host");
  if (hosts > 1) return fail(error, 400, "repeated Host");
  if (hosts && !valid_host(head.headers[host_at].value)) return fail(error, 400, "invalid Host");
  if (!authority.empty()) {
    if (hosts)
      head.headers[host_at].value = authority;
    else if (head.header_count < kMaxHeaderSlots)  // HTTP/1.0 without Host: handlers still see one
      head.headers[head.header_count++] = Header{"Host", authority};
  }
  if (head.has_content_length && head.content_length > limits.max_body)
    return fail(error, 413, "request body too large");
  head.keep_alive = head.version_minor >= 1 ? !scan.conn_close : (scan.conn_keep_alive && !scan.conn_close);
  if (!head.has_content_length && !head.chunked) head.expect_continue = false;  // nothing to continue to
  consumed = end;
  scanned = 0;
  return ParseResult::kComplete;
}

ParseResult parse_response_head(const char* data, std::size_t len, const ParserLimits& limits, ResponseHead& head,
                                std::size_t& consumed, ParseError& error) {
  const char* end_ptr = nullptr;
  for (const char* p = data; p < data + len;) {
    const char* lf = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(data + len - p)));
    if (!lf) break;
    if (lf == data || lf[-1] != '\r') return fail(error, 502, "bare LF in response head");
    if (lf - data >= 3 && lf[-2] == '\n' && lf[-3] == '\r') {
      end_ptr = lf + 1;
      break;
    }
    p = lf + 1;
  }
  if (!end_ptr) {
    if (len > limits.max_header_bytes) return fail(error, 502, "response head too large");
    return ParseResult::kIncomplete;
  }
  std::size_t end = static_cast<std::size_t>(end_ptr - data);
  if (end > limits.max_header_bytes) return fail(error, 502, "response head too large");
  // "HTTP/1.1 200 OK"
  const char* c = data;
  const char* line_end = static_cast<const char*>(std::memchr(c, '\r', end));
  std::string_view line(c, static_cast<std::size_t>(line_end - c));
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[7] < '0' || line[7] > '9' || line[8] != ' ' ||
      line[9] < '1' || line[9] > '5' || line[10] < '0' || line[10] > '9' || line[11] < '0' || line[11] > '9' ||
      (line.size() > 12 && line[12] != ' ') || line_end[1] != '\n')
    return fail(error, 502, "malformed status line");
  // reason-phrase = *( HTAB / SP / VCHAR / obs-text ): no control characters reach the caller.
  for (std::size_t i = 13; i < line.size(); ++i)
    if (!kValueChar[static_cast<unsigned char>(line[i])]) return fail(error, 502, "invalid character in reason phrase");
  head.version_minor = line[7] - '0';
  head.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  head.reason = line.size() > 13 ? line.substr(13) : std::string_view();
  FramingScan scan;
  ParseResult fr = parse_fields(line_end + 2, data + end - 2, limits.max_headers, 502, 502, head, scan, error,
                                [](std::string_view, std::string_view) { return ParseResult::kComplete; });
  if (fr == ParseResult::kError) return fr;
  if (scan.te_misorder) return fail(error, 502, "chunked is not the final transfer coding");
  if (scan.has_te && head.has_content_length) return fail(error, 502, "both Content-Length and Transfer-Encoding");
  head.keep_alive = head.version_minor >= 1 ? !scan.conn_close : (scan.conn_keep_alive && !scan.conn_close);
  // Codings we do not decode leave the body delimited by the connection closing (RFC 9112 §6.3).
  if (scan.has_te && !head.chunked) head.keep_alive = false;
  consumed = end;
  return ParseResult::kComplete;
}

ParseResult ChunkedDecoder::feed(const char* data, std::size_t len, std::string& out, std::size_t& consumed,
                                 ParseError& error) {
  std::size_t i = 0;
  while (i < len) {
    char ch = data[i];
    switch (state_) {
      case State::kSize: {
        int d = (ch >= '0' && ch <= '9')   ? ch - '0'
                : (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10
                : (ch >= 'A' && ch <= 'F') ? ch - 'A' + 10
                                           : -1;
        if (d >= 0) {
          if (++size_digits_ > 15) return fail(error, 400, "chunk size too long");
          chunk_left_ = chunk_left_ * 16 + static_cast<std::uint64_t>(d);
          ++i;
          break;
        }
        if (size_digits_ == 0) return fail(error, 400, "invalid chunk size");
        if (ch == ';' || ch == ' ' || ch == '\t') {
          state_ = State::kSizeExt;
          trailer_bytes_ = 0;
          ++i;
        } else if (ch == '\r') {
          state_ = State::kSizeLf;
          ++i;
        } else {
          return fail(error, 400, "invalid chunk size");
        }
        break;
      }
      case State::kSizeExt:
        if (ch == '\r') {
          state_ = State::kSizeLf;
        } else if (!kValueChar[static_cast<unsigned char>(ch)] || ++trailer_bytes_ > 4096) {
          return fail(error, 400, "invalid chunk extension");
        }
        ++i;
        break;
      case State::kSizeLf:
        if (ch != '\n') return fail(error, 400, "bare CR in chunk size line");
        ++i;
        size_digits_ = 0;
        if (chunk_left_ == 0) {
          state_ = State::kTrailerStart;
          trailer_bytes_ = 0;
        } else {
          if (chunk_left_ > max_body_ || total_ + chunk_left_ > max_body_)
            return fail(error, 413, "request body too large");
          total_ += chunk_left_;
          state_ = State::kData;
        }
        break;
      case State::kData: {
        std::size_t n = len - i;
        if (n > chunk_left_) n = static_cast<std::size_t>(chunk_left_);
        out.append(data + i, n);
        i += n;
        chunk_left_ -= n;
        if (chunk_left_ == 0) state_ = State::kDataCr;
        break;
      }
      case State::kDataCr:
        if (ch != '\r') return fail(error, 400, "chunk data longer than its size");
        state_ = State::kDataLf;
        ++i;
        break;
      case State::kDataLf:
        if (ch != '\n') return fail(error, 400, "bare CR after chunk data");
        state_ = State::kSize;
        ++i;
        break;
      case State::kTrailerStart:
        if (ch == '\r') {
          state_ = State::kFinalLf;
          ++i;
          break;
        }
        if (!kTchar[static_cast<unsigned char>(ch)]) return fail(error, 400, "invalid trailer field");
        state_ = State::kTrailer;
        trailer_name_done_ = false;
        trailer_name_len_ = 0;
        break;  // re-read ch in kTrailer
      case State::kTrailer:
        if (++trailer_bytes_ > 64 * 1024) return fail(error, 431, "trailer section too large");
        if (!trailer_name_done_) {
          if (ch == ':') {
            if (trailer_name_len_ == 0) return fail(error, 400, "invalid trailer field");
            trailer_name_done_ = true;
          } else if (!kTchar[static_cast<unsigned char>(ch)]) {
            return fail(error, 400, "invalid trailer field");
          } else {
            ++trailer_name_len_;
          }
        } else if (ch == '\r') {
          state_ = State::kTrailerLf;
        } else if (!kValueChar[static_cast<unsigned char>(ch)]) {
          return fail(error, 400, "invalid trailer field");
        }
        ++i;
        break;
      case State::kTrailerLf:
        if (ch != '\n') return fail(error, 400, "bare CR in trailer");
        state_ = State::kTrailerStart;
        ++i;
        break;
      case State::kFinalLf:
        if (ch != '\n') return fail(error, 400, "bare CR at end of chunked body");
        state_ = State::kDone;
        consumed = i + 1;
        return ParseResult::kComplete;
      case State::kDone:
        consumed = i;
        return ParseResult::kComplete;
    }
  }
  consumed = len;
  return ParseResult::kIncomplete;
}

}  // namespace svckit::http
