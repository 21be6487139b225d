#pragma once
// svckit's HTTP/1.1 request parser (RFC 9112): zero-copy (every view points into the caller's buffer),
// incremental (call again when more bytes arrive), and strict where leniency enables request smuggling:
// CL+TE together, repeated or malformed Content-Length, obs-fold, bad header-name characters, bare CR or
// LF, and invalid chunk sizes are errors that carry the status to answer with before closing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace svckit::config {
template <class T>
class Binder;
}

namespace svckit::http {

enum class Method : std::uint8_t { kGet, kHead, kPost, kPut, kDelete, kPatch, kOptions, kConnect, kTrace, kOther };
std::string_view method_name(Method m) noexcept;
Method parse_method(std::string_view s) noexcept;

struct Header {
  std::string_view name;
  std::string_view value;
};

struct ParserLimits {
  std::size_t max_request_line = 8 * 1024;                // longer: 414
  std::size_t max_header_bytes = 64 * 1024;               // the whole head; larger: 431
  std::size_t max_headers = 100;                          // more fields: 431
  std::uint64_t max_body = 4 * 1024 * 1024;               // larger: 413 (routes may lower or raise it)
  static void describe(config::Binder<ParserLimits>& b);  // the http: section's keys (settings.cpp)
};

inline constexpr std::size_t kMaxHeaderSlots = 128;  // upper bound for ParserLimits::max_headers

// A parse failure: the status to answer with (400, 413, 414, 431, 501, 505) and why.
struct ParseError {
  int status = 0;
  const char* reason = "";
};

// Header fields and body framing, common to requests and responses.
struct HeaderFields {
  Header headers[kMaxHeaderSlots];
  std::size_t header_count = 0;
  bool chunked = false;
  bool has_content_length = false;
  std::uint64_t content_length = 0;
  bool keep_alive = true;

  // Case-insensitive lookup of the first field with this name.
  std::string_view header(std::string_view name) const noexcept;
};

// The request line and header fields of one request.
struct RequestHead : HeaderFields {
  std::string_view method_text;
  Method method = Method::kOther;
  std::string_view target;  // as sent: "/path?query", "http://host/path?query", "host:443" (CONNECT), "*"
  std::string_view path;    // absolute-form: its path ("/" if none); CONNECT: the authority; OPTIONS *: "*"
  std::string_view query;   // without '?'
  int version_minor = 1;    // HTTP/1.<minor>
  bool expect_continue = false;
};

enum class ParseResult : std::uint8_t { kComplete, kIncomplete, kError };

// Parses one request head from data[0, len). On kComplete, *consumed is the head's size (through the
// blank line). `scanned` carries how far a previous call already searched for the blank line, so
// re-parsing a slowly arriving head costs O(new bytes); pass 0 the first time.
ParseResult parse_request_head(const char* data, std::size_t len, const ParserLimits& limits, RequestHead& head,
                               std::size_t& consumed, std::size_t& scanned, ParseError& error);

// The status line and header fields of one response (for the client).
struct ResponseHead : HeaderFields {
  int version_minor = 1;
  int status = 0;
  std::string_view reason;
};

// Parses one response head (same strictness as requests). Servers answer 400-class statuses for
// requests; here errors are reported with status 502 (a malformed upstream response).
ParseResult parse_response_head(const char* data, std::size_t len, const ParserLimits& limits, ResponseHead& head,
                                std::size_t& consumed, ParseError& error);

// Decodes a chunked body incrementally (RFC 9112 §7.1), trailers included (validated, then dropped).
class ChunkedDecoder {
 public:
  explicit ChunkedDecoder(std::uint64_t max_body) : max_body_(max_body) {}
  // Consumes from data[0, len): decoded bytes are appended to `out`. Returns kComplete once the last
  // chunk and trailers are read (*consumed then excludes anything after the body), kIncomplete when it
  // needs more, kError with a status (400 malformed, 413 too large).
  ParseResult feed(const char* data, std::size_t len, std::string& out, std::size_t& consumed, ParseError& error);

 private:
  enum class State : std::uint8_t {
    kSize,
    kSizeExt,
    kSizeLf,
    kData,
    kDataCr,
    kDataLf,
    kTrailerStart,
    kTrailer,
    kTrailerLf,
    kFinalLf,
    kDone
  };
  State state_ = State::kSize;
  std::uint64_t chunk_left_ = 0;
  std::uint64_t total_ = 0;
  std::uint64_t max_body_;
  int size_digits_ = 0;
  std::size_t trailer_bytes_ = 0;
  bool trailer_name_done_ = false;
  std::size_t trailer_name_len_ = 0;
};

}  // namespace svckit::http
