#pragma once
// Internal (discovery_etcd): etcd v3's JSON gateway as its answers come (keys and values in base64,
// int64 fields as strings), shared by the registry and the configuration source.
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "svckit/json/json.hpp"

namespace svckit::discovery::etcd {

// ---- base64 (etcd's JSON gateway carries keys and values in it) ---------------------------------

inline constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

inline std::string b64(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    auto n = (std::uint32_t(std::uint8_t(in[i])) << 16) | (std::uint32_t(std::uint8_t(in[i + 1])) << 8) |
             std::uint8_t(in[i + 2]);
    out += kB64[n >> 18];
    out += kB64[(n >> 12) & 63];
    out += kB64[(n >> 6) & 63];
    out += kB64[n & 63];
  }
  if (i < in.size()) {
    std::uint32_t n = std::uint32_t(std::uint8_t(in[i])) << 16;
    if (i + 1 < in.size()) n |= std::uint32_t(std::uint8_t(in[i + 1])) << 8;
    out += kB64[n >> 18];
    out += kB64[(n >> 12) & 63];
    out += i + 1 < in.size() ? kB64[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

inline std::optional<std::string> unb64(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    int v = val(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | std::uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xff);
    }
  }
  return out;
}

inline std::int64_t to_int(const std::string& s) {
  std::int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// ---- the gateway's JSON (int64 fields come as strings) ------------------------------------------

struct Header {
  std::string revision;
  static void json_schema(json::Schema<Header>& s) { s.field("revision", &Header::revision); }
};
struct KeyValue {
  std::string key, value, mod_revision;
  static void json_schema(json::Schema<KeyValue>& s) {
    s.field("key", &KeyValue::key);
    s.field("value", &KeyValue::value);
    s.field("mod_revision", &KeyValue::mod_revision);
  }
};
struct RangeResponse {
  Header header;
  std::vector<KeyValue> kvs;
  static void json_schema(json::Schema<RangeResponse>& s) {
    s.field("header", &RangeResponse::header);
    s.field("kvs", &RangeResponse::kvs);
  }
};
struct LeaseResponse {
  std::string ID, TTL, error;
  static void json_schema(json::Schema<LeaseResponse>& s) {
    s.field("ID", &LeaseResponse::ID);
    s.field("TTL", &LeaseResponse::TTL);
    s.field("error", &LeaseResponse::error);
  }
};
struct KeepAliveLine {
  LeaseResponse result;
  static void json_schema(json::Schema<KeepAliveLine>& s) { s.field("result", &KeepAliveLine::result); }
};
struct Event {
  std::string type;  // absent for PUT (the enum's zero), "DELETE"
  KeyValue kv;
  static void json_schema(json::Schema<Event>& s) {
    s.field("type", &Event::type);
    s.field("kv", &Event::kv);
  }
};
struct WatchResult {
  Header header;
  bool created = false;
  bool canceled = false;
  std::string compact_revision;
  std::string cancel_reason;
  std::vector<Event> events;
  static void json_schema(json::Schema<WatchResult>& s) {
    s.field("header", &WatchResult::header);
    s.field("created", &WatchResult::created);
    s.field("canceled", &WatchResult::canceled);
    s.field("compact_revision", &WatchResult::compact_revision);
    s.field("cancel_reason", &WatchResult::cancel_reason);
    s.field("events", &WatchResult::events);
  }
};
struct WatchLine {
  WatchResult result;
  static void json_schema(json::Schema<WatchLine>& s) { s.field("result", &WatchLine::result); }
};

// The key range of a prefix: [prefix, prefix with its last byte + 1).
inline std::string range_end(std::string prefix) {
  prefix.back() = char(prefix.back() + 1);
  return prefix;
}

}  // namespace svckit::discovery::etcd
