#include "svckit/log/detail/encoder.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <iterator>

#include "svckit/core/status.hpp"

namespace svckit::log::detail {

namespace {

// 0: copy as is; 1: short escape (\" \\ \n \r \t \b \f); 2: \u00XX.
constexpr auto kEscape = [] {
  struct Table {
    unsigned char v[256]{};
  } t;
  for (int c = 0; c < 0x20; ++c) t.v[c] = 2;
  t.v[static_cast<unsigned char>('"')] = 1;
  t.v[static_cast<unsigned char>('\\')] = 1;
  t.v[static_cast<unsigned char>('\n')] = 1;
  t.v[static_cast<unsigned char>('\r')] = 1;
  t.v[static_cast<unsigned char>('\t')] = 1;
  t.v[static_cast<unsigned char>('\b')] = 1;
  t.v[static_cast<unsigned char>('\f')] = 1;
  return t;
}();

// True when any of the eight bytes of w is a control character, '"' or '\\' (SWAR: a byte's high bit
// is set in the result exactly when it is one of those; the tests are exact for "any byte").
constexpr bool needs_escape(std::uint64_t w) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
  std::uint64_t control = (w - kOnes * 0x20) & ~w;
  std::uint64_t q = w ^ (kOnes * static_cast<unsigned char>('"'));
  std::uint64_t quote = (q - kOnes) & ~q;
  std::uint64_t b = w ^ (kOnes * static_cast<unsigned char>('\\'));
  std::uint64_t backslash = (b - kOnes) & ~b;
  return ((control | quote | backslash) & kHighs) != 0;
}

void append_int(Buffer& out, std::int64_t v) {
  out.ensure(24);
  auto r = std::to_chars(out.tail(), out.tail() + 24, v);
  out.commit(static_cast<std::size_t>(r.ptr - out.tail()));
}

void append_uint(Buffer& out, std::uint64_t v) {
  out.ensure(24);
  auto r = std::to_chars(out.tail(), out.tail() + 24, v);
  out.commit(static_cast<std::size_t>(r.ptr - out.tail()));
}

void append_double(Buffer& out, double v) {
  // JSON has no NaN or infinities: write them as strings, as Zap does.
  if (std::isnan(v)) return out.append("\"NaN\"");
  if (std::isinf(v)) return out.append(v > 0 ? "\"+Inf\"" : "\"-Inf\"");
  out.ensure(32);
  auto r = std::to_chars(out.tail(), out.tail() + 32, v);
  out.commit(static_cast<std::size_t>(r.ptr - out.tail()));
}

// "00".."99": two digits per division in the fixed-width numbers of every line (timestamp
// microseconds, duration fractions).
constexpr auto kDigitPairs = [] {
  std::array<char, 200> t{};
  for (std::size_t i = 0; i < 100; ++i) {
    t[2 * i] = static_cast<char>('0' + i / 10);
    t[2 * i + 1] = static_cast<char>('0' + i % 10);
  }
  return t;
}();

// Exactly `width` digits of v (v < 10^width), zero-padded.
void put_fixed(char* p, std::uint64_t v, int width) {
  int i = width;
  while (i >= 2) {
    i -= 2;
    std::memcpy(p + i, &kDigitPairs[2 * (v % 100)], 2);
    v /= 100;
  }
  if (i) p[0] = static_cast<char>('0' + v);
}

// Durations as seconds (Zap's SecondsDurationEncoder): machine-friendly and unit-explicit. Written
// from the integer nanoseconds (exact, and a quarter of the cost of shortest-double formatting, which
// showed in every access-log line).
void append_seconds(Buffer& out, std::int64_t nanos) {
  out.ensure(32);
  char* p = out.tail();
  char* const begin = p;
  std::uint64_t v = static_cast<std::uint64_t>(nanos);
  if (nanos < 0) {
    *p++ = '-';
    v = 0 - v;
  }
  p = std::to_chars(p, p + 20, v / 1'000'000'000).ptr;
  if (std::uint64_t frac = v % 1'000'000'000; frac != 0) {
    char digits[9];
    put_fixed(digits, frac, 9);
    int n = 9;
    while (digits[n - 1] == '0') --n;  // frac != 0: stops at a non-zero digit
    *p++ = '.';
    std::memcpy(p, digits, static_cast<std::size_t>(n));
    p += n;
  }
  out.commit(static_cast<std::size_t>(p - begin));
}

void append_value_json(Buffer& out, const Field& f);

void append_object_json(Buffer& out, const Field* fields, std::size_t n) {
  out.push('{');
  for (std::size_t i = 0; i < n; ++i) {
    if (i) out.push(',');
    append_json_string(out, fields[i].key);
    out.push(':');
    append_value_json(out, fields[i]);
  }
  out.push('}');
}

void append_status_json(Buffer& out, const Status& s) {
  if (s.ok()) return out.append("null");
  out.append("{\"code\":\"");
  out.append(code_name(s.code()));
  out.push('"');
  if (!s.reason().empty()) {
    out.append(",\"reason\":");
    append_json_string(out, s.reason());
  }
  out.append(",\"message\":");
  append_json_string(out, s.message());
  if (!s.metadata().empty()) {
    out.append(",\"metadata\":{");
    bool first = true;
    for (auto& [k, v] : s.metadata()) {
      if (!first) out.push(',');
      first = false;
      append_json_string(out, k);
      out.push(':');
      append_json_string(out, v);
    }
    out.push('}');
  }
  out.push('}');
}

void append_value_json(Buffer& out, const Field& f) {
  switch (f.type) {
    case Field::Type::kString:
      return append_json_string(out, f.str);
    case Field::Type::kInt:
      return append_int(out, f.i64);
    case Field::Type::kUint:
      return append_uint(out, f.u64);
    case Field::Type::kDouble:
      return append_double(out, f.f64);
    case Field::Type::kBool:
      return out.append(f.boolean ? "true" : "false");
    case Field::Type::kDuration:
      return append_seconds(out, f.nanos);
    case Field::Type::kTime:
      out.push('"');
      append_timestamp(out, f.nanos);
      return out.push('"');
    case Field::Type::kStatus:
      return append_status_json(out, *f.status);
    case Field::Type::kObject:
      return append_object_json(out, f.object.data, f.object.size);
    case Field::Type::kNull:
      return out.append("null");
  }
}

bool console_needs_quotes(std::string_view s) {
  if (s.empty()) return true;
  for (unsigned char c : s)
    if (c <= ' ' || c == '"' || c == '=' || c == '\\') return true;
  return false;
}

void append_value_console(Buffer& out, const Field& f) {
  switch (f.type) {
    case Field::Type::kString:
      if (console_needs_quotes(f.str)) return append_json_string(out, f.str);
      return out.append(f.str);
    case Field::Type::kDuration: {
      // Humans read 12.5ms better than 0.0125.
      double ns = static_cast<double>(f.nanos);
      const char* unit = "ns";
      if (std::abs(ns) >= 1e9)
        ns /= 1e9, unit = "s";
      else if (std::abs(ns) >= 1e6)
        ns /= 1e6, unit = "ms";
      else if (std::abs(ns) >= 1e3)
        ns /= 1e3, unit = "us";
      append_double(out, std::round(ns * 1000) / 1000);
      return out.append(unit);
    }
    case Field::Type::kObject: {
      out.push('{');
      for (std::size_t i = 0; i < f.object.size; ++i) {
        if (i) out.push(' ');
        out.append(f.object.data[i].key);
        out.push('=');
        append_value_console(out, f.object.data[i]);
      }
      return out.push('}');
    }
    case Field::Type::kStatus:
      if (f.status->ok()) return out.append("OK");
      return append_json_string(out, f.status->to_string());
    default:
      return append_value_json(out, f);
  }
}

}  // namespace

void append_json_string(Buffer& out, std::string_view s) {
  // Worst case every byte becomes \u00XX.
  out.ensure(s.size() * 6 + 2);
  char* p = out.tail();
  *p++ = '"';
  const char* c = s.data();
  const char* const end = c + s.size();
  while (c != end) {
    // Eight bytes at a time while none of them needs escaping (most of every log line): checked and
    // stored as one word, with no copy of the run afterwards.
    if (end - c >= 8) {
      std::uint64_t w;
      std::memcpy(&w, c, 8);
      if (!needs_escape(w)) {
        std::memcpy(p, &w, 8);
        p += 8;
        c += 8;
        continue;
      }
    }
    // A byte at a time in a word that needs escaping, and in the last few bytes.
    const char ch = *c++;
    unsigned char kind = kEscape.v[static_cast<unsigned char>(ch)];
    if (kind == 0) {
      *p++ = ch;
      continue;
    }
    *p++ = '\\';
    if (kind == 1) {
      switch (ch) {
        case '"':
          *p++ = '"';
          break;
        case '\\':
          *p++ = '\\';
          break;
        case '\n':
          *p++ = 'n';
          break;
        case '\r':
          *p++ = 'r';
          break;
        case '\t':
          *p++ = 't';
          break;
        case '\b':
          *p++ = 'b';
          break;
        default:
          *p++ = 'f';
          break;
      }
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      *p++ = 'u';
      *p++ = '0';
      *p++ = '0';
      *p++ = kHex[(ch >> 4) & 0xf];
      *p++ = kHex[ch & 0xf];
    }
  }
  *p++ = '"';
  out.commit(static_cast<std::size_t>(p - out.tail()));
}

void append_field_json(Buffer& out, const Field& f) {
  out.push(',');
  append_json_string(out, f.key);
  out.push(':');
  append_value_json(out, f);
}

void append_plain_field(Buffer& out, bool json, std::string_view key, std::string_view value) {
  out.ensure(key.size() + value.size() + 6);
  if (json) {
    out.unchecked_append(",\"");
    out.unchecked_append(key);
    out.unchecked_append("\":\"");
    out.unchecked_append(value);
    out.unchecked_push('"');
  } else {
    out.unchecked_push(' ');
    out.unchecked_append(key);
    out.unchecked_push('=');
    out.unchecked_append(value);
  }
}

void append_field_console(Buffer& out, const Field& f) {
  out.push(' ');
  out.append(f.key);
  out.push('=');
  append_value_console(out, f);
}

void append_timestamp(Buffer& out, std::int64_t unix_nanos) {
  // The calendar part changes once a second: cache it per thread.
  thread_local std::int64_t cached_second = -1;
  thread_local char cached[20];  // "YYYY-MM-DDTHH:MM:SS"
  std::int64_t sec = unix_nanos >= 0 ? unix_nanos / 1'000'000'000 : (unix_nanos - 999'999'999) / 1'000'000'000;
  std::int64_t micros = (unix_nanos - sec * 1'000'000'000) / 1000;
  if (sec != cached_second) {
    std::time_t t = static_cast<std::time_t>(sec);
    std::tm tm{};
    gmtime_r(&t, &tm);
    auto put = [](char* p, int v, int width) {
      for (int i = width - 1; i >= 0; --i, v /= 10) p[i] = static_cast<char>('0' + v % 10);
    };
    put(cached, tm.tm_year + 1900, 4);
    cached[4] = '-';
    put(cached + 5, tm.tm_mon + 1, 2);
    cached[7] = '-';
    put(cached + 8, tm.tm_mday, 2);
    cached[10] = 'T';
    put(cached + 11, tm.tm_hour, 2);
    cached[13] = ':';
    put(cached + 14, tm.tm_min, 2);
    cached[16] = ':';
    put(cached + 17, tm.tm_sec, 2);
    cached_second = sec;
  }
  out.ensure(28);
  char* p = out.tail();
  std::memcpy(p, cached, 19);
  p[19] = '.';
  put_fixed(p + 20, static_cast<std::uint64_t>(micros), 6);
  p[26] = 'Z';
  out.commit(27);
}

void append_caller(Buffer& out, const std::source_location& loc) {
  // A line's file name is a string literal, the same pointer for every line from a file: where its
  // last two components start is remembered per thread (direct-mapped by the pointer) rather than
  // searched for on every line.
  struct Entry {
    const char* file = nullptr;
    std::string_view shortened;
  };
  thread_local Entry cache[16];
  const char* name = loc.file_name();
  Entry& e = cache[(reinterpret_cast<std::uintptr_t>(name) >> 4) % std::size(cache)];
  if (e.file != name) {
    std::string_view file = name;
    auto slash = file.rfind('/');
    if (slash != std::string_view::npos && slash > 0) {
      auto prev = file.rfind('/', slash - 1);
      file.remove_prefix(prev == std::string_view::npos ? 0 : prev + 1);
    }
    e = {name, file};
  }
  out.ensure(e.shortened.size() + 12);
  out.unchecked_append(e.shortened);
  out.unchecked_push(':');
  append_uint(out, loc.line());
}

}  // namespace svckit::log::detail
