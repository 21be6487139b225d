#pragma once
// A strict pull parser for JSON (RFC 8259) that builds no DOM: the caller asks for the value it expects
// next and gets it straight from the input. Strings without escapes are views into the input; others
// are unescaped into a scratch buffer. The first syntax error stops the reader and records where it is
// (line, column, byte offset) and what was expected.
//
// ```cpp
//   Status read_name(std::string_view body, std::string& name) {
//     json::Reader r(body);
//     if (r.begin_object())
//       for (std::string_view key; r.next_key(key);) { if (key == "name") r.read_string(name); else r.skip(); }
//     if (!r.finish()) return r.error_status();
//     return Status();
//   }
// ```
#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>

#include "svckit/core/status.hpp"

namespace svckit::json {

enum class Kind : std::uint8_t { kObject, kArray, kString, kNumber, kBool, kNull, kEnd, kInvalid };
std::string_view kind_name(Kind k) noexcept;

struct ReaderOptions {
  // Deeper nesting is an error (recursion and memory stay bounded for hostile input).
  std::uint32_t max_depth = 64;
};

struct SyntaxError {
  std::size_t offset = 0;
  std::uint32_t line = 1;
  std::uint32_t column = 1;
  std::string_view message;  // static text
};

class Reader {
 public:
  static constexpr std::uint32_t kDepthLimit = 512;

  explicit Reader(std::string_view text, ReaderOptions options = {}) noexcept;

  // The kind of the next value (skips whitespace); kEnd at the end of the input, kInvalid on an error.
  Kind peek() noexcept;

  // Objects: begin_object() consumes '{'; each next_key() yields a key (unescaped) and leaves the
  // reader at its value, which the caller must read or skip(); it returns false at '}' or on an error.
  bool begin_object() noexcept;
  bool next_key(std::string_view& key) noexcept;
  // Arrays: begin_array() consumes '['; next_item() returns true while another item follows.
  bool begin_array() noexcept;
  bool next_item() noexcept;

  // Scalars. On a kind mismatch they return false without consuming anything and without an error
  // (the caller decides: binding records a field error and skips). Check failed() to tell them apart.
  bool read_string(std::string_view& out) noexcept;  // valid until the next read
  bool read_string(std::string& out);
  bool read_bool(bool& out) noexcept;
  bool read_null() noexcept;
  // The number's literal text, validated against the JSON grammar.
  bool read_number(std::string_view& literal) noexcept;

  // Skips one whole value of any kind (validating it). Returns the raw text it spanned.
  bool skip(std::string_view* raw = nullptr) noexcept;
  // Only whitespace may remain.
  bool finish() noexcept;

  bool failed() const noexcept { return failed_; }
  const SyntaxError& error() const noexcept { return error_; }
  // INVALID_ARGUMENT, reason MALFORMED_JSON, message with line and column, metadata line/column/offset.
  Status error_status() const;
  std::size_t offset() const noexcept { return static_cast<std::size_t>(pos_ - begin_); }
  std::uint32_t depth() const noexcept { return depth_; }

 private:
  bool fail(std::string_view message) noexcept;
  bool fail_at(const char* at, std::string_view message) noexcept;
  void skip_ws() noexcept {
    // Compact JSON has no whitespace: one compare decides the common case.
    if (pos_<end_&& static_cast<unsigned char>(*pos_)> ' ') return;
    skip_ws_slow();
  }
  void skip_ws_slow() noexcept;
  bool scan_string(std::string_view& out, std::string& scratch) noexcept;
  bool scan_number(std::string_view& out) noexcept;
  bool push() noexcept;
  bool literal(std::string_view word) noexcept;
  bool close_container() noexcept;  // returns false: the container ended

  const char* begin_;
  const char* pos_;
  const char* end_;
  std::uint32_t depth_ = 0;
  std::uint32_t max_depth_;
  bool failed_ = false;
  bool done_ = false;               // the top-level value was read
  std::bitset<kDepthLimit> first_;  // per depth: no item read yet in this container
  std::string scratch_;             // unescaped string values
  std::string key_scratch_;         // unescaped keys (a key stays valid while its value is read)
  SyntaxError error_;
};

// Appends s as a JSON string literal (quotes, escapes for '"', '\\' and control characters).
void append_string(std::string& out, std::string_view s);
// True when s is valid UTF-8 (no overlongs, no surrogates, ≤ U+10FFFF).
bool valid_utf8(std::string_view s) noexcept;
// Number of code points in valid UTF-8.
std::size_t utf8_length(std::string_view s) noexcept;

}  // namespace svckit::json
