#include "svckit/json/reader.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace svckit::json {

std::string_view kind_name(Kind k) noexcept {
  switch (k) {
    case Kind::kObject:
      return "object";
    case Kind::kArray:
      return "array";
    case Kind::kString:
      return "string";
    case Kind::kNumber:
      return "number";
    case Kind::kBool:
      return "boolean";
    case Kind::kNull:
      return "null";
    case Kind::kEnd:
      return "end of input";
    case Kind::kInvalid:
      return "invalid JSON";
  }
  return "?";
}

Reader::Reader(std::string_view text, ReaderOptions options) noexcept
    : begin_(text.data()),
      pos_(text.data()),
      end_(text.data() + text.size()),
      max_depth_(std::min(options.max_depth, kDepthLimit - 1)) {}

bool Reader::fail(std::string_view message) noexcept {
  return fail_at(pos_, message);
}

bool Reader::fail_at(const char* at, std::string_view message) noexcept {
  if (failed_) return false;
  failed_ = true;
  error_.offset = static_cast<std::size_t>(at - begin_);
  error_.message = message;
  // Line and column are computed only on failure: the hot path does not count newlines.
  std::uint32_t line = 1, column = 1;
  for (const char* p = begin_; p < at; ++p) {
    if (*p == '\n') {
      ++line;
      column = 1;
    } else if ((static_cast<unsigned char>(*p) & 0xC0) != 0x80) {
      ++column;
    }
  }
  error_.line = line;
  error_.column = column;
  pos_ = end_;
  return false;
}

Status Reader::error_status() const {
  std::string msg = "malformed JSON at line " + std::to_string(error_.line) + ", column " +
                    std::to_string(error_.column) + ": " + std::string(error_.message);
  return Status(Code::kInvalidArgument, "MALFORMED_JSON", std::move(msg))
      .with_metadata("line", std::to_string(error_.line))
      .with_metadata("column", std::to_string(error_.column))
      .with_metadata("offset", std::to_string(error_.offset));
}

void Reader::skip_ws_slow() noexcept {
  while (pos_ < end_ && (*pos_ == ' ' || *pos_ == '\n' || *pos_ == '\r' || *pos_ == '\t')) ++pos_;
}

Kind Reader::peek() noexcept {
  if (failed_) return Kind::kInvalid;
  skip_ws();
  if (pos_ == end_) {
    if (depth_ > 0) fail("unexpected end of input");
    return depth_ > 0 ? Kind::kInvalid : Kind::kEnd;
  }
  if (done_ && depth_ == 0) {
    fail("unexpected data after the top-level value");
    return Kind::kInvalid;
  }
  switch (*pos_) {
    case '{':
      return Kind::kObject;
    case '[':
      return Kind::kArray;
    case '"':
      return Kind::kString;
    case 't':
    case 'f':
      return Kind::kBool;
    case 'n':
      return Kind::kNull;
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
      return Kind::kNumber;
    default:
      fail("expected a value");
      return Kind::kInvalid;
  }
}

bool Reader::push() noexcept {
  if (depth_ >= max_depth_) return fail("nesting deeper than the limit");
  ++depth_;
  first_[depth_] = true;
  ++pos_;
  return true;
}

bool Reader::begin_object() noexcept {
  if (peek() != Kind::kObject) return false;
  return push();
}

bool Reader::begin_array() noexcept {
  if (peek() != Kind::kArray) return false;
  return push();
}

bool Reader::close_container() noexcept {
  // Consumes the closing bracket, leaving the reader after the container's value.
  --depth_;
  ++pos_;
  if (depth_ == 0) done_ = true;
  return false;
}

bool Reader::next_key(std::string_view& key) noexcept {
  if (failed_) return false;
  skip_ws();
  if (pos_ == end_) return fail("unexpected end of input in an object");
  if (*pos_ == '}') return close_container();
  if (!first_[depth_]) {
    if (*pos_ != ',') return fail("expected ',' or '}' after an object member");
    ++pos_;
    skip_ws();
    if (pos_ == end_) return fail("unexpected end of input in an object");
  }
  if (*pos_ != '"') return fail(first_[depth_] ? "expected a string key or '}'" : "expected a string key after ','");
  if (!scan_string(key, key_scratch_)) return false;
  skip_ws();
  if (pos_ == end_ || *pos_ != ':') return fail("expected ':' after an object key");
  ++pos_;
  first_[depth_] = false;
  skip_ws();
  if (pos_ == end_) return fail("unexpected end of input after ':'");
  return true;
}

bool Reader::next_item() noexcept {
  if (failed_) return false;
  skip_ws();
  if (pos_ == end_) return fail("unexpected end of input in an array");
  if (*pos_ == ']') return close_container();
  if (!first_[depth_]) {
    if (*pos_ != ',') return fail("expected ',' or ']' after an array item");
    ++pos_;
    skip_ws();
    if (pos_ == end_) return fail("unexpected end of input in an array");
    if (*pos_ == ']') return fail("trailing ',' in an array");
  }
  first_[depth_] = false;
  return true;
}

namespace {

// 1 for bytes a string can hold as they are: not '"', '\\', a control character or non-ASCII.
constexpr auto kPlain = [] {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x80; ++c) t[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
  return t;
}();

// Length of the UTF-8 sequence at p (≥ 2 bytes), or 0 when it is invalid (RFC 3629 table).
std::size_t utf8_sequence(const unsigned char* p, const unsigned char* end) noexcept {
  unsigned char c = p[0];
  auto cont = [&](std::size_t i) { return p + i < end && (p[i] & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c == 0xE0) return (p + 1 < end && p[1] >= 0xA0 && p[1] <= 0xBF && cont(2)) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return (cont(1) && cont(2)) ? 3 : 0;
  if (c == 0xED) return (p + 1 < end && p[1] >= 0x80 && p[1] <= 0x9F && cont(2)) ? 3 : 0;  // no surrogates
  if (c == 0xF0) return (p + 1 < end && p[1] >= 0x90 && p[1] <= 0xBF && cont(2) && cont(3)) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return (cont(1) && cont(2) && cont(3)) ? 4 : 0;
  if (c == 0xF4) return (p + 1 < end && p[1] >= 0x80 && p[1] <= 0x8F && cont(2) && cont(3)) ? 4 : 0;
  return 0;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

bool Reader::scan_string(std::string_view& out, std::string& scratch) noexcept {
  // pos_ is at the opening quote.
  const char* start = ++pos_;
  bool escaped = false;
  for (;;) {
    // Plain bytes are the common case; stop only at what needs a look.
    const char* run = pos_;
    // Eight bytes at a time while none of them is '"', '\\', a control character or non-ASCII.
    while (end_ - pos_ >= 8) {
      std::uint64_t x;
      std::memcpy(&x, pos_, 8);
      constexpr std::uint64_t k01 = 0x0101010101010101ull, k80 = 0x8080808080808080ull;
      auto has_zero = [](std::uint64_t v) { return (v - k01) & ~v & k80; };
      std::uint64_t stop =
          has_zero(x ^ (k01 * '"')) | has_zero(x ^ (k01 * '\\')) | ((x - k01 * 0x20) & ~x & k80) | (x & k80);
      if (stop) break;
      pos_ += 8;
    }
    while (pos_ < end_ && kPlain[static_cast<unsigned char>(*pos_)]) ++pos_;
    if (escaped) scratch.append(run, static_cast<std::size_t>(pos_ - run));
    if (pos_ == end_) return fail_at(start - 1, "unterminated string");
    unsigned char c = static_cast<unsigned char>(*pos_);
    if (c == '"') {
      if (!escaped) {
        out = std::string_view(start, static_cast<std::size_t>(pos_ - start));
      } else {
        out = scratch;
      }
      ++pos_;
      if (depth_ == 0) done_ = true;
      return true;
    }
    if (c < 0x20) return fail("control character in a string (must be escaped)");
    if (c >= 0x80) {
      std::size_t n =
          utf8_sequence(reinterpret_cast<const unsigned char*>(pos_), reinterpret_cast<const unsigned char*>(end_));
      if (n == 0) return fail("invalid UTF-8 in a string");
      if (escaped) scratch.append(pos_, n);
      pos_ += n;
      continue;
    }
    // A backslash: from here on the string is built in scratch.
    if (!escaped) {
      escaped = true;
      scratch.assign(start, static_cast<std::size_t>(pos_ - start));
    }
    if (pos_ + 1 >= end_) return fail_at(start - 1, "unterminated string");
    char e = pos_[1];
    pos_ += 2;
    switch (e) {
      case '"':
        scratch += '"';
        break;
      case '\\':
        scratch += '\\';
        break;
      case '/':
        scratch += '/';
        break;
      case 'b':
        scratch += '\b';
        break;
      case 'f':
        scratch += '\f';
        break;
      case 'n':
        scratch += '\n';
        break;
      case 'r':
        scratch += '\r';
        break;
      case 't':
        scratch += '\t';
        break;
      case 'u': {
        auto read4 = [&](std::uint32_t& v) {
          if (end_ - pos_ < 4) return false;
          v = 0;
          for (int i = 0; i < 4; ++i) {
            int h = hex_value(pos_[i]);
            if (h < 0) return false;
            v = (v << 4) | static_cast<std::uint32_t>(h);
          }
          pos_ += 4;
          return true;
        };
        std::uint32_t cp;
        if (!read4(cp)) return fail("invalid \\u escape (four hex digits expected)");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          std::uint32_t low;
          if (end_ - pos_ < 6 || pos_[0] != '\\' || pos_[1] != 'u')
            return fail("unpaired UTF-16 surrogate in \\u escape");
          pos_ += 2;
          if (!read4(low) || low < 0xDC00 || low > 0xDFFF) return fail("unpaired UTF-16 surrogate in \\u escape");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return fail("unpaired UTF-16 surrogate in \\u escape");
        }
        append_utf8(scratch, cp);
        break;
      }
      default:
        pos_ -= 2;
        return fail("invalid escape in a string");
    }
  }
}

bool Reader::scan_number(std::string_view& out) noexcept {
  const char* start = pos_;
  auto digit = [&] { return pos_ < end_ && *pos_ >= '0' && *pos_ <= '9'; };
  if (*pos_ == '-') ++pos_;
  if (!digit()) return fail("expected a digit");
  if (*pos_ == '0') {
    ++pos_;
    if (digit()) return fail("leading zeros are not allowed in numbers");
  } else {
    while (digit()) ++pos_;
  }
  if (pos_ < end_ && *pos_ == '.') {
    ++pos_;
    if (!digit()) return fail("expected a digit after '.'");
    while (digit()) ++pos_;
  }
  if (pos_ < end_ && (*pos_ == 'e' || *pos_ == 'E')) {
    ++pos_;
    if (pos_ < end_ && (*pos_ == '+' || *pos_ == '-')) ++pos_;
    if (!digit()) return fail("expected a digit in the exponent");
    while (digit()) ++pos_;
  }
  out = std::string_view(start, static_cast<std::size_t>(pos_ - start));
  if (depth_ == 0) done_ = true;
  return true;
}

bool Reader::literal(std::string_view word) noexcept {
  if (static_cast<std::size_t>(end_ - pos_) < word.size() || std::memcmp(pos_, word.data(), word.size()) != 0)
    return fail("invalid literal (true, false or null expected)");
  pos_ += word.size();
  if (depth_ == 0) done_ = true;
  return true;
}

bool Reader::read_string(std::string_view& out) noexcept {
  if (peek() != Kind::kString) return false;
  return scan_string(out, scratch_);
}

bool Reader::read_string(std::string& out) {
  std::string_view v;
  if (!read_string(v)) return false;
  out.assign(v.data(), v.size());
  return true;
}

bool Reader::read_bool(bool& out) noexcept {
  if (peek() != Kind::kBool) return false;
  if (*pos_ == 't') {
    out = true;
    return literal("true");
  }
  out = false;
  return literal("false");
}

bool Reader::read_null() noexcept {
  if (peek() != Kind::kNull) return false;
  return literal("null");
}

bool Reader::read_number(std::string_view& literal_text) noexcept {
  if (peek() != Kind::kNumber) return false;
  return scan_number(literal_text);
}

bool Reader::skip(std::string_view* raw) noexcept {
  Kind k = peek();
  const char* start = pos_;
  bool ok = false;
  std::string_view ignored;
  switch (k) {
    case Kind::kObject:
      ok = begin_object();
      while (ok && next_key(ignored))
        if (!skip()) ok = false;
      ok = ok && !failed_;
      break;
    case Kind::kArray:
      ok = begin_array();
      while (ok && next_item())
        if (!skip()) ok = false;
      ok = ok && !failed_;
      break;
    case Kind::kString:
      ok = scan_string(ignored, scratch_);
      break;
    case Kind::kNumber:
      ok = scan_number(ignored);
      break;
    case Kind::kBool:
      ok = literal(*pos_ == 't' ? "true" : "false");
      break;
    case Kind::kNull:
      ok = literal("null");
      break;
    case Kind::kEnd:
      return fail("expected a value, found the end of input");
    case Kind::kInvalid:
      return false;
  }
  if (ok && raw) *raw = std::string_view(start, static_cast<std::size_t>(pos_ - start));
  return ok;
}

bool Reader::finish() noexcept {
  if (failed_) return false;
  skip_ws();
  if (!done_) return fail(pos_ == end_ ? "expected a value, found the end of input" : "incomplete value");
  if (pos_ != end_) return fail("unexpected data after the top-level value");
  return true;
}

void append_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  const char* p = s.data();
  const char* end = p + s.size();
  while (p < end) {
    const char* run = p;
    while (p < end) {
      unsigned char c = static_cast<unsigned char>(*p);
      if (c == '"' || c == '\\' || c < 0x20) break;
      if (c >= 0x80) {
        // JSON text is UTF-8 (RFC 8259 §8.1), and readers, ours included, refuse anything else: a byte
        // that starts no sequence is written as U+FFFD.
        std::size_t n =
            utf8_sequence(reinterpret_cast<const unsigned char*>(p), reinterpret_cast<const unsigned char*>(end));
        if (n == 0) break;
        p += n;
        continue;
      }
      ++p;
    }
    out.append(run, static_cast<std::size_t>(p - run));
    if (p == end) break;
    if (static_cast<unsigned char>(*p) >= 0x80) {
      out += "\xEF\xBF\xBD";
      ++p;
      continue;
    }
    char c = *p++;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {
        char esc[6] = {'\\', 'u', '0', '0', kHex[(c >> 4) & 0xf], kHex[c & 0xf]};
        out.append(esc, 6);
      }
    }
  }
  out += '"';
}

bool valid_utf8(std::string_view s) noexcept {
  auto p = reinterpret_cast<const unsigned char*>(s.data());
  auto end = p + s.size();
  while (p < end) {
    if (*p < 0x80) {
      ++p;
      continue;
    }
    std::size_t n = utf8_sequence(p, end);
    if (n == 0) return false;
    p += n;
  }
  return true;
}

std::size_t utf8_length(std::string_view s) noexcept {
  std::size_t n = 0;
  for (char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

}  // namespace svckit::json
