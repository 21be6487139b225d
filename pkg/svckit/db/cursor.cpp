#include "svckit/db/detail/cursor.hpp"

#include <bit>
#include <cstring>

namespace svckit::db::detail {

// ---- SHA-256 (FIPS 180-4) and HMAC (RFC 2104): svckit links no crypto library for one MAC --------

namespace {

constexpr std::array<std::uint32_t, 64> kK = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

void compress(std::array<std::uint32_t, 8>& h, const unsigned char* block) {
  std::uint32_t w[64];
  for (int i = 0; i < 16; ++i)
    w[i] = std::uint32_t{block[4 * i]} << 24 | std::uint32_t{block[4 * i + 1]} << 16 |
           std::uint32_t{block[4 * i + 2]} << 8 | std::uint32_t{block[4 * i + 3]};
  for (int i = 16; i < 64; ++i) {
    std::uint32_t s0 = std::rotr(w[i - 15], 7) ^ std::rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    std::uint32_t s1 = std::rotr(w[i - 2], 17) ^ std::rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int i = 0; i < 64; ++i) {
    std::uint32_t t1 =
        hh + (std::rotr(e, 6) ^ std::rotr(e, 11) ^ std::rotr(e, 25)) + ((e & f) ^ (~e & g)) + kK[i] + w[i];
    std::uint32_t t2 = (std::rotr(a, 2) ^ std::rotr(a, 13) ^ std::rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
  h[5] += f;
  h[6] += g;
  h[7] += hh;
}

}  // namespace

std::array<std::uint8_t, 32> sha256(std::string_view data) {
  std::array<std::uint32_t, 8> h = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t n = data.size();
  for (; n >= 64; n -= 64, p += 64) compress(h, p);
  unsigned char tail[128] = {};
  std::memcpy(tail, p, n);
  tail[n] = 0x80;
  std::size_t len = n + 1 + 8 <= 64 ? 64 : 128;
  std::uint64_t bits = static_cast<std::uint64_t>(data.size()) * 8;
  for (int i = 0; i < 8; ++i) tail[len - 1 - i] = static_cast<unsigned char>(bits >> (8 * i));
  compress(h, tail);
  if (len == 128) compress(h, tail + 64);
  std::array<std::uint8_t, 32> out{};
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 4; ++j) out[4 * i + j] = static_cast<std::uint8_t>(h[i] >> (24 - 8 * j));
  return out;
}

std::array<std::uint8_t, 32> hmac_sha256(std::string_view key, std::string_view data) {
  std::string k(key);
  if (k.size() > 64) {
    auto d = sha256(k);
    k.assign(reinterpret_cast<const char*>(d.data()), d.size());
  }
  k.resize(64, '\0');
  std::string inner(64, '\0'), outer(64, '\0');
  for (int i = 0; i < 64; ++i) {
    inner[i] = static_cast<char>(k[i] ^ 0x36);
    outer[i] = static_cast<char>(k[i] ^ 0x5c);
  }
  inner.append(data);
  auto ih = sha256(inner);
  outer.append(reinterpret_cast<const char*>(ih.data()), ih.size());
  return sha256(outer);
}

// ---- values ----------------------------------------------------------------------------------------

namespace {

void put64(std::string& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out += static_cast<char>(v >> (8 * i));
}
void put_bytes(std::string& out, std::string_view s) {
  auto n = static_cast<std::uint32_t>(s.size());
  for (int i = 3; i >= 0; --i) out += static_cast<char>(n >> (8 * i));
  out.append(s);
}

class Input {
 public:
  explicit Input(std::string_view s) : s_(s) {}
  bool u8(std::uint8_t& v) {
    if (s_.empty()) return false;
    v = static_cast<std::uint8_t>(s_[0]);
    s_.remove_prefix(1);
    return true;
  }
  bool u64(std::uint64_t& v) {
    if (s_.size() < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | static_cast<std::uint8_t>(s_[i]);
    s_.remove_prefix(8);
    return true;
  }
  bool bytes(std::string& v) {
    if (s_.size() < 4) return false;
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n = n << 8 | static_cast<std::uint8_t>(s_[i]);
    s_.remove_prefix(4);
    if (s_.size() < n) return false;
    v.assign(s_.substr(0, n));
    s_.remove_prefix(n);
    return true;
  }
  bool empty() const noexcept { return s_.empty(); }

 private:
  std::string_view s_;
};

bool deserialize(Input& in, std::uint8_t tag, Param& out) {
  std::uint64_t n = 0;
  std::string s;
  switch (tag) {
    case 0:
      out = Param(nullptr);
      return true;
    case 1: {
      std::uint8_t b = 0;
      if (!in.u8(b) || b > 1) return false;
      out = Param(b == 1);
      return true;
    }
    case 2:
      if (!in.u64(n)) return false;
      out = Param(static_cast<std::int64_t>(n));
      return true;
    case 3:
      if (!in.u64(n)) return false;
      out = Param(std::bit_cast<double>(n));
      return true;
    case 4:
      if (!in.bytes(s)) return false;
      out = Param(std::move(s));
      return true;
    case 5:
      if (!in.bytes(s)) return false;
      out = Param(Bytes{std::move(s)});
      return true;
    case 6:
      if (!in.bytes(s)) return false;
      out = Param(Json{std::move(s)});
      return true;
    case 7:
      if (!in.u64(n)) return false;
      out = Param(Timestamp(std::chrono::microseconds(static_cast<std::int64_t>(n))));
      return true;
    case 8: {
      Uuid u;
      for (auto& b : u.bytes)
        if (!in.u8(b)) return false;
      out = Param(u);
      return true;
    }
    default:  // lists are not page keys
      return false;
  }
}

}  // namespace

std::uint8_t type_tag(const Param& p) noexcept {
  return static_cast<std::uint8_t>(p.value().index());
}

void serialize(const Param& p, std::string& out) {
  out += static_cast<char>(type_tag(p));
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, bool>) {
          out += static_cast<char>(v ? 1 : 0);
        } else if constexpr (std::is_same_v<V, std::int64_t>) {
          put64(out, static_cast<std::uint64_t>(v));
        } else if constexpr (std::is_same_v<V, double>) {
          put64(out, std::bit_cast<std::uint64_t>(v));
        } else if constexpr (std::is_same_v<V, std::string>) {
          put_bytes(out, v);
        } else if constexpr (std::is_same_v<V, Bytes>) {
          put_bytes(out, v.data);
        } else if constexpr (std::is_same_v<V, Json>) {
          put_bytes(out, v.text);
        } else if constexpr (std::is_same_v<V, Timestamp>) {
          put64(out, static_cast<std::uint64_t>(v.time_since_epoch().count()));
        } else if constexpr (std::is_same_v<V, Uuid>) {
          out.append(reinterpret_cast<const char*>(v.bytes.data()), v.bytes.size());
        } else if constexpr (std::is_same_v<V, std::vector<std::int64_t>>) {
          put64(out, v.size());
          for (auto i : v) put64(out, static_cast<std::uint64_t>(i));
        } else if constexpr (std::is_same_v<V, std::vector<std::string>>) {
          put64(out, v.size());
          for (const auto& s : v) put_bytes(out, s);
        }
      },
      p.value());
}

// ---- base64url (RFC 4648 §5, no padding) ---------------------------------------------------------

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
int sextet(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}
}  // namespace

std::string base64url(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : bytes) {
    acc = acc << 8 | static_cast<std::uint8_t>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;
}

bool from_base64url(std::string_view text, std::string& out) {
  out.clear();
  if (text.size() % 4 == 1) return false;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = sextet(c);
    if (v < 0) return false;
    acc = acc << 6 | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return (acc & ((1u << bits) - 1)) == 0;  // the unused low bits of the last character are zero
}

// ---- cursors ---------------------------------------------------------------------------------------

namespace {

constexpr std::uint8_t kCursorVersion = 1;
constexpr std::size_t kMacSize = 16;  // HMAC-SHA256 truncated to 128 bits (RFC 2104 §5 allows it)
constexpr std::size_t kMaxToken = 2048;

std::string mac(std::string_view secret, std::string_view listing, std::string_view payload) {
  std::string data;
  data.reserve(listing.size() + payload.size() + 8);
  put_bytes(data, listing);
  data.append(payload);
  auto full = hmac_sha256(secret, data);
  return std::string(reinterpret_cast<const char*>(full.data()), kMacSize);
}

Status bad_cursor(std::string_view why) {
  return Status(Code::kInvalidArgument, "BAD_CURSOR", "cursor is not valid for this listing: " + std::string(why))
      .with_metadata("cursor", "must be a next_cursor value of this listing");
}

}  // namespace

std::string make_cursor(std::string_view secret, std::string_view listing, const Params& values) {
  std::string payload;
  payload += static_cast<char>(kCursorVersion);
  payload += static_cast<char>(values.size());
  for (const auto& v : values) serialize(v, payload);
  payload += mac(secret, listing, payload);
  return base64url(payload);
}

Result<Params> read_cursor(std::string_view secret, std::string_view listing, std::string_view token,
                           const std::vector<std::uint8_t>& expected_tags) {
  if (token.size() > kMaxToken) return make_error(bad_cursor("too long"));
  std::string raw;
  if (!from_base64url(token, raw)) return make_error(bad_cursor("not base64url"));
  if (raw.size() < 2 + kMacSize) return make_error(bad_cursor("too short"));
  std::string_view payload(raw.data(), raw.size() - kMacSize);
  std::string expected = mac(secret, listing, payload);
  unsigned char diff = 0;  // constant time: how much of the MAC matched must not leak
  for (std::size_t i = 0; i < kMacSize; ++i) diff |= static_cast<unsigned char>(expected[i] ^ raw[payload.size() + i]);
  if (diff != 0) return make_error(bad_cursor("signature mismatch (another listing, or altered)"));
  Input in(payload);
  std::uint8_t version = 0, count = 0;
  if (!in.u8(version) || version != kCursorVersion) return make_error(bad_cursor("unknown version"));
  if (!in.u8(count) || count != expected_tags.size()) return make_error(bad_cursor("wrong number of values"));
  Params values;
  values.reserve(count);
  for (std::uint8_t want : expected_tags) {
    std::uint8_t tag = 0;
    Param p(nullptr);
    if (!in.u8(tag) || tag != want || !deserialize(in, tag, p)) return make_error(bad_cursor("wrong value types"));
    values.push_back(std::move(p));
  }
  if (!in.empty()) return make_error(bad_cursor("trailing bytes"));
  return values;
}

}  // namespace svckit::db::detail
