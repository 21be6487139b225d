#include "svckit/trace/context.hpp"

#include <cstring>
#include <random>

namespace svckit::trace {

namespace {

constexpr char kHex[] = "0123456789abcdef";

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // W3C ids are lower case only
}

int hex_value_any_case(char c) noexcept {
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return hex_value(c);
}

template <std::size_t N>
bool decode_hex(std::string_view hex, std::array<std::uint8_t, N>& out, bool any_case = false) noexcept {
  if (hex.size() != 2 * N) return false;
  for (std::size_t i = 0; i < N; ++i) {
    int hi = any_case ? hex_value_any_case(hex[2 * i]) : hex_value(hex[2 * i]);
    int lo = any_case ? hex_value_any_case(hex[2 * i + 1]) : hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return true;
}

// Two hex digits per byte value: ids are rendered for every span's log fields and headers.
constexpr auto kHexPairs = [] {
  std::array<char, 512> t{};
  for (std::size_t i = 0; i < 256; ++i) {
    t[2 * i] = kHex[i >> 4];
    t[2 * i + 1] = kHex[i & 0xf];
  }
  return t;
}();

template <std::size_t N>
char* encode_hex_to(const std::array<std::uint8_t, N>& b, char* out) noexcept {
  for (std::size_t i = 0; i < N; ++i) std::memcpy(out + 2 * i, &kHexPairs[2 * std::size_t{b[i]}], 2);
  return out + 2 * N;
}

template <std::size_t N>
std::string encode_hex(const std::array<std::uint8_t, N>& b) {
  char buf[2 * N];
  encode_hex_to(b, buf);
  return std::string(buf, 2 * N);
}

template <std::size_t N>
bool nonzero(const std::array<std::uint8_t, N>& b) noexcept {
  for (auto x : b)
    if (x) return true;
  return false;
}

// xoshiro256** per thread, seeded from the OS: ids must be unpredictable enough not to collide
// across processes, and cheap.
struct Rng {
  std::uint64_t s[4];
  Rng() {
    std::random_device rd;
    for (auto& x : s) x = (std::uint64_t{rd()} << 32) ^ rd();
  }
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t next() noexcept {
    std::uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
};

std::uint64_t random64() noexcept {
  thread_local Rng rng;
  std::uint64_t v;
  do v = rng.next();
  while (v == 0);
  return v;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// tracestate: up to 32 comma-separated key=value members, 512 bytes; keys lower-case
// [a-z0-9_\-*/@], values printable ASCII without ',' and '='. Invalid → dropped entirely.
bool valid_tracestate(std::string_view ts) noexcept {
  if (ts.size() > 512) return false;
  int members = 0;
  while (!ts.empty()) {
    auto comma = ts.find(',');
    std::string_view m = trim(ts.substr(0, comma));
    ts = comma == std::string_view::npos ? std::string_view() : ts.substr(comma + 1);
    if (m.empty()) continue;
    if (++members > 32) return false;
    auto eq = m.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq > 256 || m.size() - eq - 1 > 256 || eq + 1 == m.size())
      return false;
    for (char c : m.substr(0, eq))
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' || c == '/' ||
            c == '@'))
        return false;
    for (char c : m.substr(eq + 1))
      if (c < 0x20 || c > 0x7e || c == ',' || c == '=') return false;
  }
  return true;
}

// Variable-length hex ids (B3, Jaeger): up to 2*N hex digits, any case, left-padded with zeros.
template <std::size_t N>
bool decode_var_hex(std::string_view hex, std::array<std::uint8_t, N>& out) noexcept {
  if (hex.empty() || hex.size() > 2 * N) return false;
  std::string padded(2 * N - hex.size(), '0');
  padded += hex;
  return decode_hex(padded, out, true);
}

}  // namespace

bool TraceId::valid() const noexcept {
  return nonzero(bytes);
}
std::string TraceId::hex() const {
  return encode_hex(bytes);
}
char* TraceId::hex_to(char* out) const noexcept {
  return encode_hex_to(bytes, out);
}
std::optional<TraceId> TraceId::from_hex(std::string_view hex) noexcept {
  TraceId id;
  if (hex.size() == 16) {  // 64-bit ids (B3, Jaeger) become the low half
    if (!decode_var_hex(hex, id.bytes)) return std::nullopt;
  } else if (!decode_hex(hex, id.bytes)) {
    return std::nullopt;
  }
  if (!id.valid()) return std::nullopt;
  return id;
}
TraceId TraceId::random() noexcept {
  TraceId id;
  std::uint64_t a = random64(), b = random64();
  std::memcpy(id.bytes.data(), &a, 8);
  std::memcpy(id.bytes.data() + 8, &b, 8);
  return id;
}

bool SpanId::valid() const noexcept {
  return nonzero(bytes);
}
std::string SpanId::hex() const {
  return encode_hex(bytes);
}
char* SpanId::hex_to(char* out) const noexcept {
  return encode_hex_to(bytes, out);
}
std::optional<SpanId> SpanId::from_hex(std::string_view hex) noexcept {
  SpanId id;
  if (!decode_hex(hex, id.bytes) || !id.valid()) return std::nullopt;
  return id;
}
SpanId SpanId::random() noexcept {
  SpanId id;
  std::uint64_t a = random64();
  std::memcpy(id.bytes.data(), &a, 8);
  return id;
}

std::optional<Format> parse_format(std::string_view name) noexcept {
  if (name == "w3c" || name == "tracecontext") return Format::kW3C;
  if (name == "b3") return Format::kB3;
  if (name == "b3multi") return Format::kB3Multi;
  if (name == "jaeger") return Format::kJaeger;
  return std::nullopt;
}

std::optional<SpanContext> parse_traceparent(std::string_view tp, std::string_view tracestate) {
  // version-traceid-parentid-flags; version 00 is exactly 55 characters; later versions may append
  // fields after a '-', which we ignore; version ff is invalid.
  tp = trim(tp);
  if (tp.size() < 55) return std::nullopt;
  if (tp[2] != '-' || tp[35] != '-' || tp[52] != '-') return std::nullopt;
  std::array<std::uint8_t, 1> version{}, flags{};
  if (!decode_hex(tp.substr(0, 2), version) || version[0] == 0xff) return std::nullopt;
  if (version[0] == 0 && tp.size() != 55) return std::nullopt;
  if (tp.size() > 55 && tp[55] != '-') return std::nullopt;
  SpanContext sc;
  if (!decode_hex(tp.substr(3, 32), sc.trace_id.bytes) || !decode_hex(tp.substr(36, 16), sc.span_id.bytes) ||
      !decode_hex(tp.substr(53, 2), flags))
    return std::nullopt;
  if (!sc.valid()) return std::nullopt;
  sc.sampled = flags[0] & 1;
  sc.remote = true;
  if (!tracestate.empty() && valid_tracestate(tracestate)) sc.trace_state = std::string(trim(tracestate));
  return sc;
}

std::string format_traceparent(const SpanContext& sc) {
  std::string s = "00-";
  s += sc.trace_id.hex();
  s += '-';
  s += sc.span_id.hex();
  s += sc.sampled ? "-01" : "-00";
  return s;
}

std::optional<SpanContext> parse_b3_single(std::string_view b3) {
  // {TraceId}-{SpanId}[-{SamplingState}[-{ParentSpanId}]]; a lone "0"/"1"/"d" carries no ids.
  b3 = trim(b3);
  if (b3.size() > 32 + 1 + 16 + 2 + 1 + 16) return std::nullopt;
  std::string_view parts[4];
  std::size_t n = 0;
  while (n < 4) {
    auto dash = b3.find('-');
    parts[n++] = b3.substr(0, dash);
    if (dash == std::string_view::npos) break;
    b3.remove_prefix(dash + 1);
    if (n == 4) return std::nullopt;  // too many fields
  }
  if (n < 2) return std::nullopt;
  SpanContext sc;
  if ((parts[0].size() != 16 && parts[0].size() != 32) || !decode_var_hex(parts[0], sc.trace_id.bytes) ||
      parts[1].size() != 16 || !decode_var_hex(parts[1], sc.span_id.bytes) || !sc.valid())
    return std::nullopt;
  if (n >= 3) {
    if (parts[2] == "1" || parts[2] == "d")
      sc.sampled = true;
    else if (parts[2] != "0")
      return std::nullopt;
  } else {
    sc.sampled = true;  // no sampling state: defer to the sender, which traced
  }
  if (n == 4) {
    SpanId parent;
    if (parts[3].size() != 16 || !decode_var_hex(parts[3], parent.bytes)) return std::nullopt;
  }
  sc.remote = true;
  return sc;
}

std::optional<SpanContext> parse_jaeger(std::string_view v) {
  // {trace-id}:{span-id}:{parent-span-id}:{flags}, possibly percent-encoded (%3A).
  v = trim(v);
  if (v.size() > 200) return std::nullopt;
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '%' && i + 2 < v.size() && v[i + 1] == '3' && (v[i + 2] == 'A' || v[i + 2] == 'a')) {
      s += ':';
      i += 2;
    } else {
      s += v[i];
    }
  }
  std::string_view parts[4];
  std::string_view rest = s;
  for (int i = 0; i < 4; ++i) {
    auto colon = rest.find(':');
    if ((i < 3) == (colon == std::string_view::npos)) return std::nullopt;
    parts[i] = rest.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
  }
  SpanContext sc;
  if (!decode_var_hex(parts[0], sc.trace_id.bytes) || parts[1].size() > 16 ||
      !decode_var_hex(parts[1], sc.span_id.bytes) || !sc.valid())
    return std::nullopt;
  std::array<std::uint8_t, 1> flags{};
  if (parts[3].empty() || parts[3].size() > 2 || !decode_var_hex(parts[3], flags)) return std::nullopt;
  sc.sampled = flags[0] & 1;
  sc.remote = true;
  return sc;
}

std::string format_jaeger(const SpanContext& sc) {
  return sc.trace_id.hex() + ":" + sc.span_id.hex() + ":0:" + (sc.sampled ? "1" : "0");
}

Baggage parse_baggage(std::string_view header) {
  Baggage out;
  if (header.size() > 8192) return out;
  auto token_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  };
  auto decode = [](std::string_view s, std::string& v) {
    for (std::size_t i = 0; i < s.size(); ++i) {
      char c = s[i];
      if (c == '%') {
        if (i + 2 >= s.size()) return false;
        int hi = hex_value_any_case(s[i + 1]), lo = hex_value_any_case(s[i + 2]);
        if (hi < 0 || lo < 0) return false;
        v += static_cast<char>(hi << 4 | lo);
        i += 2;
      } else if (c < 0x21 || c > 0x7e || c == '"' || c == ',' || c == ';' || c == '\\') {
        return false;
      } else {
        v += c;
      }
    }
    return true;
  };
  while (!header.empty() && out.size() < 64) {
    auto comma = header.find(',');
    std::string_view member = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    member = trim(member.substr(0, member.find(';')));  // properties are not kept
    auto eq = member.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = trim(member.substr(0, eq)), value = trim(member.substr(eq + 1));
    bool ok = !key.empty();
    for (char c : key) ok = ok && token_char(c);
    std::string decoded;
    if (!ok || !decode(value, decoded)) continue;
    out.emplace_back(std::string(key), std::move(decoded));
  }
  return out;
}

std::string format_baggage(const Baggage& baggage) {
  std::string out;
  for (const auto& [k, v] : baggage) {
    if (out.size() > 8000) break;
    if (!out.empty()) out += ',';
    out += k;
    out += '=';
    for (char c : v) {
      auto u = static_cast<unsigned char>(c);
      if (u < 0x21 || u > 0x7e || c == '"' || c == ',' || c == ';' || c == '\\' || c == '%') {
        out += '%';
        out += "0123456789ABCDEF"[u >> 4];
        out += "0123456789ABCDEF"[u & 0xf];
      } else {
        out += c;
      }
    }
  }
  return out;
}

std::optional<SpanContext> extract(const HeaderGetter& get, const std::vector<Format>& formats) {
  for (Format f : formats) {
    std::optional<SpanContext> sc;
    switch (f) {
      case Format::kW3C: {
        std::string_view tp = get("traceparent");
        if (!tp.empty()) sc = parse_traceparent(tp, get("tracestate"));
        break;
      }
      case Format::kB3: {
        std::string_view b3 = get("b3");
        if (!b3.empty()) sc = parse_b3_single(b3);
        break;
      }
      case Format::kB3Multi: {
        std::string_view t = get("X-B3-TraceId"), s = get("X-B3-SpanId");
        if (t.empty() || s.empty()) break;
        std::string joined = std::string(t) + "-" + std::string(s);
        std::string_view sampled = get("X-B3-Sampled");
        if (get("X-B3-Flags") == "1")
          joined += "-d";
        else if (sampled == "1" || sampled == "true")
          joined += "-1";
        else if (sampled == "0" || sampled == "false")
          joined += "-0";
        sc = parse_b3_single(joined);
        break;
      }
      case Format::kJaeger: {
        std::string_view u = get("uber-trace-id");
        if (!u.empty()) sc = parse_jaeger(u);
        break;
      }
    }
    if (sc) return sc;
  }
  return std::nullopt;
}

void inject(const SpanContext& sc, const HeaderSetter& set, const std::vector<Format>& formats) {
  if (!sc.valid()) return;
  for (Format f : formats) {
    switch (f) {
      case Format::kW3C:
        set("traceparent", format_traceparent(sc));
        if (!sc.trace_state.empty()) set("tracestate", sc.trace_state);
        break;
      case Format::kB3:
        set("b3", sc.trace_id.hex() + "-" + sc.span_id.hex() + (sc.sampled ? "-1" : "-0"));
        break;
      case Format::kB3Multi:
        set("X-B3-TraceId", sc.trace_id.hex());
        set("X-B3-SpanId", sc.span_id.hex());
        set("X-B3-Sampled", sc.sampled ? "1" : "0");
        break;
      case Format::kJaeger:
        set("uber-trace-id", format_jaeger(sc));
        break;
    }
  }
}

void append_header_lines(std::string& out, const SpanContext& sc, const std::vector<Format>& formats) {
  if (!sc.valid()) return;
  char ids[32 + 1 + 16];
  char* const end = sc.span_id.hex_to(sc.trace_id.hex_to(ids) + 1);
  ids[32] = '-';
  const std::string_view trace(ids, 32), span(ids + 33, 16), both(ids, static_cast<std::size_t>(end - ids));
  for (Format f : formats) {
    switch (f) {
      case Format::kW3C:
        out += "traceparent: 00-";
        out += both;
        out += sc.sampled ? "-01\r\n" : "-00\r\n";
        if (!sc.trace_state.empty()) {
          out += "tracestate: ";
          out += sc.trace_state;
          out += "\r\n";
        }
        break;
      case Format::kB3:
        out += "b3: ";
        out += both;
        out += sc.sampled ? "-1\r\n" : "-0\r\n";
        break;
      case Format::kB3Multi:
        out += "X-B3-TraceId: ";
        out += trace;
        out += "\r\nX-B3-SpanId: ";
        out += span;
        out += sc.sampled ? "\r\nX-B3-Sampled: 1\r\n" : "\r\nX-B3-Sampled: 0\r\n";
        break;
      case Format::kJaeger:
        out += "uber-trace-id: ";
        out += trace;
        out += ':';
        out += span;
        out += sc.sampled ? ":0:1\r\n" : ":0:0\r\n";
        break;
    }
  }
}

}  // namespace svckit::trace
