#include "svckit/db/value.hpp"

#include <bit>
#include <charconv>
#include <cstring>
#include <random>

#include "svckit/json/reader.hpp"

namespace svckit::db {

namespace {

int hexval(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) noexcept {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

}  // namespace

Result<Uuid> Uuid::parse(std::string_view t) {
  Uuid u;
  if (t.size() != 36 || t[8] != '-' || t[13] != '-' || t[18] != '-' || t[23] != '-')
    return make_error(Code::kInvalidArgument, "not a UUID: '" + std::string(t.substr(0, 40)) + "'");
  std::size_t b = 0;
  for (std::size_t i = 0; i < t.size() && b < 16;) {
    if (t[i] == '-') {
      ++i;
      continue;
    }
    int hi = hexval(t[i]), lo = hexval(t[i + 1]);
    if (hi < 0 || lo < 0) return make_error(Code::kInvalidArgument, "not a UUID: '" + std::string(t) + "'");
    u.bytes[b++] = static_cast<std::uint8_t>(hi << 4 | lo);
    i += 2;
  }
  return u;
}

Uuid Uuid::random() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  Uuid u;
  std::uint64_t a = rng(), b = rng();
  std::memcpy(u.bytes.data(), &a, 8);
  std::memcpy(u.bytes.data() + 8, &b, 8);
  u.bytes[6] = static_cast<std::uint8_t>((u.bytes[6] & 0x0f) | 0x40);
  u.bytes[8] = static_cast<std::uint8_t>((u.bytes[8] & 0x3f) | 0x80);
  return u;
}

std::string Uuid::str() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 15];
  }
  return out;
}

std::string format_timestamp(Timestamp t) {
  auto days = std::chrono::floor<std::chrono::days>(t);
  std::chrono::year_month_day ymd(days);
  long long us = (t - days).count();
  long long secs = us / 1000000;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), secs / 3600, secs / 60 % 60,
                secs % 60, us % 1000000);
  return buf;
}

Result<Timestamp> parse_timestamp(std::string_view s) {
  auto bad = [&] {
    return make_error(Code::kInvalidArgument, "not a timestamp: '" + std::string(s.substr(0, 40)) + "'");
  };
  int y, mo, d, h, mi, sec;
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
    return bad();
  if (!digits(s, 0, 4, y) || !digits(s, 5, 2, mo) || !digits(s, 8, 2, d) || !digits(s, 11, 2, h) ||
      !digits(s, 14, 2, mi) || !digits(s, 17, 2, sec))
    return bad();
  std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(static_cast<unsigned>(mo)),
                                  std::chrono::day(static_cast<unsigned>(d))};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) return bad();
  std::size_t i = 19;
  std::int64_t us = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    std::int64_t scale = 100000;
    std::size_t start = i;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      us += (s[i] - '0') * scale;
      scale /= 10;
    }
    if (i == start) return bad();
  }
  std::int64_t offset_s = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int sign = s[i] == '-' ? -1 : 1, oh = 0, om = 0;
    if (!digits(s, i + 1, 2, oh)) return bad();
    i += 3;
    if (i < s.size() && s[i] == ':') ++i;
    if (i < s.size() && digits(s, i, 2, om)) i += 2;
    offset_s = sign * (oh * 3600 + om * 60);
  }
  if (i != s.size()) return bad();
  auto t = std::chrono::sys_days(ymd) + std::chrono::hours(h) + std::chrono::minutes(mi) + std::chrono::seconds(sec) -
           std::chrono::seconds(offset_s);
  return Timestamp(std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()) +
                   std::chrono::microseconds(us));
}

std::string array_literal(const std::vector<std::int64_t>& v) {
  std::string out = "{";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(v[i]);
  }
  return out + "}";
}

std::string array_literal(const std::vector<std::string>& v) {
  std::string out = "{";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : v[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

void Rows::add_real(double v) {
  cells_.push_back(Cell{CellKind::kReal, 0, {.number = std::bit_cast<std::int64_t>(v)}});
}

void Rows::add_text(std::string_view s, CellKind kind) {
  if (s.size() > free_left_) {
    std::size_t n = std::max<std::size_t>(s.size(), 64 * 1024);
    if (chunks_.empty()) first_chunk_size_ = n;
    chunks_.push_back(std::make_unique_for_overwrite<char[]>(n));
    free_ = chunks_.back().get();
    free_left_ = n;
  }
  if (!s.empty()) std::memcpy(free_, s.data(), s.size());
  cells_.push_back(Cell{kind, static_cast<std::uint32_t>(s.size()), {.text = free_}});
  free_ += s.size();
  free_left_ -= s.size();
}

std::size_t Row::size() const noexcept {
  return rows_->columns_.size();
}

bool Row::is_null(std::size_t col) const noexcept {
  return col >= size() || rows_->cell(index_, col).kind == CellKind::kNull;
}

std::string_view Row::raw(std::size_t col) const noexcept {
  if (col >= size()) return {};
  const auto& c = rows_->cell(index_, col);
  if (c.kind != CellKind::kText && c.kind != CellKind::kBlob) return {};
  return std::string_view(c.text, c.size);
}

CellKind Row::kind(std::size_t col) const noexcept {
  return col < size() ? rows_->cell(index_, col).kind : CellKind::kNull;
}

std::optional<std::size_t> Row::column(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < rows_->columns_.size(); ++i)
    if (rows_->columns_[i].name == name) return i;
  return std::nullopt;
}

namespace {

Status type_error(const Rows::Column* col, std::string_view want, std::string_view why = {}) {
  std::string name = col ? col->name : std::string("?");
  return Status(
      Code::kInternal, "DECODE",
      "column '" + name + "': cannot read as " + std::string(want) + (why.empty() ? "" : ": ") + std::string(why));
}

}  // namespace

Status Row::out_of_range(std::size_t col) const {
  return type_error(&rows_->columns_[col], "integer", "out of range for the target type");
}

#define SVCKIT_DB_CELL(WANT)                                                                                      \
  if (col >= size()) return Status(Code::kInternal, "DECODE", "column " + std::to_string(col) + " out of range"); \
  const auto& column = rows_->columns_[col];                                                                      \
  const auto& c = rows_->cell(index_, col);                                                                       \
  if (c.kind == CellKind::kNull) return type_error(&column, WANT, "NULL (decode into std::optional)");            \
  std::string_view text = raw(col);

Status Row::decode(std::size_t col, bool& out) const {
  SVCKIT_DB_CELL("bool")
  if (c.kind == CellKind::kInteger) return out = c.number != 0, Status();
  if (text == "t" || text == "true" || text == "1") return out = true, Status();
  if (text == "f" || text == "false" || text == "0") return out = false, Status();
  return type_error(&column, "bool", text);
}

Status Row::decode(std::size_t col, std::int64_t& out) const {
  SVCKIT_DB_CELL("integer")
  if (c.kind == CellKind::kInteger) return out = c.number, Status();
  if (c.kind == CellKind::kReal) return type_error(&column, "integer", "a floating-point value");
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || end != text.data() + text.size()) return type_error(&column, "integer", text.substr(0, 40));
  return {};
}

Status Row::decode(std::size_t col, double& out) const {
  SVCKIT_DB_CELL("double")
  if (c.kind == CellKind::kReal) return out = std::bit_cast<double>(c.number), Status();
  if (c.kind == CellKind::kInteger) return out = static_cast<double>(c.number), Status();
  if (text == "NaN") return out = std::numeric_limits<double>::quiet_NaN(), Status();
  if (text == "Infinity") return out = std::numeric_limits<double>::infinity(), Status();
  if (text == "-Infinity") return out = -std::numeric_limits<double>::infinity(), Status();
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || end != text.data() + text.size()) return type_error(&column, "double", text.substr(0, 40));
  return {};
}

Status Row::decode(std::size_t col, std::string& out) const {
  SVCKIT_DB_CELL("string")
  if (c.kind == CellKind::kInteger) return out = std::to_string(c.number), Status();
  if (c.kind == CellKind::kReal) return out = std::to_string(std::bit_cast<double>(c.number)), Status();
  out.assign(text);
  return {};
}

Status Row::decode(std::size_t col, Bytes& out) const {
  SVCKIT_DB_CELL("bytes")
  if (c.kind == CellKind::kBlob || column.type_oid != oid::kBytea) {
    out.data.assign(text);
    return {};
  }
  // PostgreSQL's text format for bytea: "\x" and hex.
  if (!text.starts_with("\\x") || text.size() % 2) return type_error(&column, "bytes", "not hex bytea");
  out.data.clear();
  out.data.reserve(text.size() / 2 - 1);
  for (std::size_t i = 2; i < text.size(); i += 2) {
    int hi = hexval(text[i]), lo = hexval(text[i + 1]);
    if (hi < 0 || lo < 0) return type_error(&column, "bytes", "not hex bytea");
    out.data += static_cast<char>(hi << 4 | lo);
  }
  return {};
}

Status Row::decode(std::size_t col, Json& out) const {
  SVCKIT_DB_CELL("json")
  out.text.assign(text);
  return {};
}

Status Row::decode(std::size_t col, Timestamp& out) const {
  SVCKIT_DB_CELL("timestamp")
  if (c.kind == CellKind::kInteger) {  // SQLite: Unix seconds
    out = Timestamp(std::chrono::seconds(c.number));
    return {};
  }
  auto t = parse_timestamp(text);
  if (!t) return type_error(&column, "timestamp", text.substr(0, 40));
  out = *t;
  return {};
}

Status Row::decode(std::size_t col, Uuid& out) const {
  SVCKIT_DB_CELL("uuid")
  auto u = Uuid::parse(text);
  if (!u) return type_error(&column, "uuid", text.substr(0, 40));
  out = *u;
  return {};
}

namespace {

// PostgreSQL array literal {a,"b c",NULL} or a JSON array ["a","b c"] (how SQLite stores lists).
Status split_array(std::string_view text, std::vector<std::string>& items) {
  items.clear();
  if (text.starts_with('[')) {
    json::Reader r(text);
    if (!r.begin_array()) return r.error_status();
    while (r.next_item()) {
      std::string s;
      if (r.peek() == json::Kind::kString) {
        r.read_string(s);
      } else {
        std::string_view raw;
        if (!r.skip(&raw)) break;
        s.assign(raw);
      }
      items.push_back(std::move(s));
    }
    if (!r.finish()) return r.error_status();
    return {};
  }
  if (text.size() < 2 || text.front() != '{' || text.back() != '}')
    return Status(Code::kInvalidArgument, "not an array literal");
  text = text.substr(1, text.size() - 2);
  std::size_t i = 0;
  while (i < text.size()) {
    std::string item;
    if (text[i] == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        item += text[i];
      }
      ++i;
    } else {
      while (i < text.size() && text[i] != ',') item += text[i++];
    }
    items.push_back(std::move(item));
    if (i < text.size() && text[i] == ',') ++i;
  }
  return {};
}

}  // namespace

Status Row::decode(std::size_t col, std::vector<std::string>& out) const {
  SVCKIT_DB_CELL("text array")
  if (auto st = split_array(text, out); !st.ok()) return type_error(&column, "text array", st.message());
  return {};
}

Status Row::decode(std::size_t col, std::vector<std::int64_t>& out) const {
  SVCKIT_DB_CELL("integer array")
  std::vector<std::string> items;
  if (auto st = split_array(text, items); !st.ok()) return type_error(&column, "integer array", st.message());
  out.clear();
  for (auto& s : items) {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return type_error(&column, "integer array", s);
    out.push_back(v);
  }
  return {};
}

#undef SVCKIT_DB_CELL

}  // namespace svckit::db
