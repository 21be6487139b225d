#include "canonical.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "svckit/auth/base64url.hpp"
#include "svckit/json/reader.hpp"

namespace svckit::license {

namespace {

constexpr std::int64_t kMaxSafe = (std::int64_t{1} << 53) - 1;

Status invalid(std::string_view field, std::string why) {
  return Status(Code::kInvalidArgument, "VALIDATION_FAILED", std::string(field) + ": " + why)
      .with_metadata(std::string(field), why);
}

// Reads one value at r; on a problem of ours (not a syntax error) sets `problem`.
bool read_value(json::Reader& r, Value& out, std::string& path, Status& problem) {
  switch (r.peek()) {
    case json::Kind::kNull:
      out.kind = Value::Kind::kNull;
      return r.read_null();
    case json::Kind::kBool:
      out.kind = Value::Kind::kBool;
      return r.read_bool(out.boolean);
    case json::Kind::kString:
      out.kind = Value::Kind::kString;
      return r.read_string(out.string);
    case json::Kind::kNumber: {
      std::string_view lit;
      if (!r.read_number(lit)) return false;
      out.kind = Value::Kind::kInteger;
      auto [end, ec] = std::from_chars(lit.data(), lit.data() + lit.size(), out.integer);
      if (ec != std::errc() || end != lit.data() + lit.size() || out.integer > kMaxSafe || out.integer < -kMaxSafe) {
        problem = invalid(path, "numbers must be integers within ±(2^53 - 1)");
        return false;
      }
      return true;
    }
    case json::Kind::kArray: {
      out.kind = Value::Kind::kArray;
      if (!r.begin_array()) return false;
      std::size_t i = 0;
      while (r.next_item()) {
        std::size_t mark = path.size();
        path += "[" + std::to_string(i++) + "]";
        if (!read_value(r, out.items.emplace_back(), path, problem)) return false;
        path.resize(mark);
      }
      return !r.failed();
    }
    case json::Kind::kObject: {
      out.kind = Value::Kind::kObject;
      if (!r.begin_object()) return false;
      for (std::string_view key; r.next_key(key);) {
        std::string name(key);
        if (out.find(name)) {
          problem = invalid(path, "duplicate member \"" + name + "\"");
          return false;
        }
        std::size_t mark = path.size();
        path += "." + name;
        out.members.emplace_back(name, Value{});
        if (!read_value(r, out.members.back().second, path, problem)) return false;
        path.resize(mark);
      }
      return !r.failed();
    }
    default:
      return false;
  }
}

void two(char* p, unsigned v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}

bool digits(std::string_view s, std::size_t at, std::size_t n, int& out) {
  if (at + n > s.size()) return false;
  out = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

Result<std::string> string_member(const Value& o, std::string_view name, std::size_t max) {
  const Value* v = o.find(name);
  if (!v || v->kind != Value::Kind::kString) return make_error(invalid(name, "must be a string"));
  if (v->string.empty() || v->string.size() > max)
    return make_error(invalid(name, "must be 1.." + std::to_string(max) + " bytes"));
  return v->string;
}

Result<Seconds> time_member(const Value& o, std::string_view name) {
  auto s = string_member(o, name, 64);
  if (!s) return make_error(s.error());
  auto t = parse_time(*s);
  if (!t) return make_error(invalid(name, std::string(t.error().message())));
  return *t;
}

}  // namespace

const Value* Value::find(std::string_view key) const noexcept {
  for (const auto& [k, v] : members)
    if (k == key) return &v;
  return nullptr;
}

std::string_view kind_name(Value::Kind kind) noexcept {
  switch (kind) {
    case Value::Kind::kNull:
      return "null";
    case Value::Kind::kBool:
      return "boolean";
    case Value::Kind::kInteger:
      return "integer";
    case Value::Kind::kString:
      return "string";
    case Value::Kind::kArray:
      return "array";
    case Value::Kind::kObject:
      return "object";
  }
  return "?";
}

Result<Value> parse(std::string_view text, std::string_view field, std::uint32_t max_depth) {
  json::Reader r(text, json::ReaderOptions{.max_depth = max_depth});
  Value v;
  std::string path(field);
  Status problem;
  bool ok = r.peek() != json::Kind::kEnd && read_value(r, v, path, problem);
  if (!problem.ok()) return make_error(std::move(problem));
  if (!ok || !r.finish()) {
    if (r.failed()) return make_error(r.error_status());
    return make_error(invalid(field, "is not one JSON value"));
  }
  return v;
}

void canonical_to(std::string& out, const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNull:
      out += "null";
      break;
    case Value::Kind::kBool:
      out += v.boolean ? "true" : "false";
      break;
    case Value::Kind::kInteger: {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, v.integer);
      out.append(buf, r.ptr);
      break;
    }
    case Value::Kind::kString:
      json::append_string(out, v.string);
      break;
    case Value::Kind::kArray:
      out += '[';
      for (std::size_t i = 0; i < v.items.size(); ++i) {
        if (i) out += ',';
        canonical_to(out, v.items[i]);
      }
      out += ']';
      break;
    case Value::Kind::kObject: {
      std::vector<const std::pair<std::string, Value>*> sorted;
      sorted.reserve(v.members.size());
      for (const auto& m : v.members) sorted.push_back(&m);
      // std::string compares as unsigned bytes (char_traits<char>::compare is memcmp): UTF-8 byte order.
      std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
      out += '{';
      for (std::size_t i = 0; i < sorted.size(); ++i) {
        if (i) out += ',';
        json::append_string(out, sorted[i]->first);
        out += ':';
        canonical_to(out, sorted[i]->second);
      }
      out += '}';
      break;
    }
  }
}

std::string canonical(const Value& v) {
  std::string out;
  canonical_to(out, v);
  return out;
}

Result<Seconds> parse_time(std::string_view s) {
  auto bad = [&] {
    return make_error(Code::kInvalidArgument, "must be an RFC 3339 date-time in whole seconds (2026-01-31T09:00:00Z)");
  };
  int y, mo, d, h, mi, sec;
  if (s.size() < 20 || !digits(s, 0, 4, y) || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, h) || s[13] != ':' ||
      !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, sec))
    return bad();
  std::size_t i = 19;
  if (s[i] == '.') {  // a fraction: only zeros
    ++i;
    std::size_t start = i;
    while (i < s.size() && s[i] == '0') ++i;
    if (i == start || (i < s.size() && s[i] >= '1' && s[i] <= '9')) return bad();
  }
  if (i >= s.size()) return bad();
  int offset = 0;
  if (s[i] == 'Z' || s[i] == 'z') {
    ++i;
  } else if (s[i] == '+' || s[i] == '-') {
    int oh, om;
    if (!digits(s, i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' || !digits(s, i + 4, 2, om) || oh > 23 ||
        om > 59)
      return bad();
    offset = (oh * 60 + om) * (s[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    return bad();
  }
  if (i != s.size()) return bad();
  std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(static_cast<unsigned>(mo)),
                                  std::chrono::day(static_cast<unsigned>(d))};
  if (y < 1 || !ymd.ok() || h > 23 || mi > 59 || sec > 59) return bad();
  return Seconds(std::chrono::sys_days(ymd).time_since_epoch() + std::chrono::hours(h) + std::chrono::minutes(mi) +
                 std::chrono::seconds(sec) - std::chrono::minutes(offset));
}

std::string format_time(Seconds t) {
  auto day = std::chrono::floor<std::chrono::days>(t);
  std::chrono::year_month_day ymd(day);
  std::chrono::hh_mm_ss hms(t - day);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-", static_cast<int>(ymd.year()));
  std::string out(buf);
  char rest[16] = "00-00T00:00:00Z";
  two(rest, static_cast<unsigned>(ymd.month()));
  two(rest + 3, static_cast<unsigned>(ymd.day()));
  two(rest + 6, static_cast<unsigned>(hms.hours().count()));
  two(rest + 9, static_cast<unsigned>(hms.minutes().count()));
  two(rest + 12, static_cast<unsigned>(hms.seconds().count()));
  return out + rest;
}

std::string canonical_document(const Document& d) {
  std::string out = "{\"attributes\":";
  canonical_to(out, d.attributes);
  auto member = [&](std::string_view name, std::string_view value) {
    out += ",\"";
    out += name;
    out += "\":";
    json::append_string(out, value);
  };
  member("authority", d.authority);
  member("holder", d.holder);
  member("id", d.id);
  member("issued_at", format_time(d.issued_at));
  member("kid", d.kid);
  member("number", d.number);
  member("type", d.type);
  member("valid_from", format_time(d.valid_from));
  member("valid_until", format_time(d.valid_until));
  out += '}';
  return out;
}

Result<Document> document_of(const Value& o, bool allow_other_members) {
  static constexpr std::string_view kMembers[] = {"attributes", "authority", "holder", "id",         "issued_at",
                                                  "kid",        "number",    "type",   "valid_from", "valid_until"};
  if (!o.is_object()) return make_error(invalid("license", "must be a JSON object"));
  if (!allow_other_members)
    for (const auto& [k, v] : o.members)
      if (std::find(std::begin(kMembers), std::end(kMembers), k) == std::end(kMembers))
        return make_error(invalid(k, "is not a member of a licence document"));
  Document d;
  const Value* attributes = o.find("attributes");
  if (!attributes || !attributes->is_object()) return make_error(invalid("attributes", "must be a JSON object"));
  d.attributes = *attributes;
  struct Text {
    std::string_view name;
    std::string* into;
    std::size_t max;
  };
  for (const Text& t :
       {Text{"id", &d.id, 64}, Text{"type", &d.type, 64}, Text{"number", &d.number, 64}, Text{"holder", &d.holder, 32},
        Text{"authority", &d.authority, 200}, Text{"kid", &d.kid, 128}}) {
    auto s = string_member(o, t.name, t.max);
    if (!s) return make_error(s.error());
    *t.into = std::move(*s);
  }
  struct Time {
    std::string_view name;
    Seconds* into;
  };
  for (const Time& t :
       {Time{"valid_from", &d.valid_from}, Time{"valid_until", &d.valid_until}, Time{"issued_at", &d.issued_at}}) {
    auto s = time_member(o, t.name);
    if (!s) return make_error(s.error());
    *t.into = *s;
  }
  return d;
}

Result<Document> parse_document(std::string_view json) {
  auto v = parse(json, "license");
  if (!v) return make_error(v.error());
  return document_of(*v, false);
}

std::string qr_text(std::string_view canonical, std::string_view signature) {
  std::string out(kQrPrefix);
  auth::base64url_append(out, canonical);
  out += '.';
  auth::base64url_append(out, signature);
  return out;
}

Result<QrParts> parse_qr(std::string_view text) {
  if (!text.starts_with(kQrPrefix))
    return make_error(invalid("text", "must start with " + std::string(kQrPrefix.substr(0, 5)) + "."));
  text.remove_prefix(kQrPrefix.size());
  auto dot = text.find('.');
  if (dot == std::string_view::npos || text.find('.', dot + 1) != std::string_view::npos)
    return make_error(invalid("text", "must be SVCL1.<document>.<signature>"));
  auto doc = auth::base64url_decode(text.substr(0, dot));
  auto sig = auth::base64url_decode(text.substr(dot + 1));
  if (!doc || !sig) return make_error(invalid("text", "its parts must be base64url without padding"));
  return QrParts{std::move(*doc), std::move(*sig)};
}

}  // namespace svckit::license
