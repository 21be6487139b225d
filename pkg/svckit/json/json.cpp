#include "svckit/json/json.hpp"

#include <cmath>

namespace svckit::json {

Writer& Writer::number(double v) {
  if (!std::isfinite(v)) return null();
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return raw(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
}

bool Decoder::type_error(Reader& r, std::string_view expected) {
  Kind got = r.peek();
  if (got == Kind::kInvalid) return false;  // a syntax error: the reader has it
  add("expected " + std::string(expected) + ", got " + std::string(kind_name(got)));
  if (got != Kind::kEnd) r.skip();
  return false;
}

std::string Decoder::path() const {
  if (depth_ == 0) return "$";
  std::string out;
  for (std::size_t i = 0; i < depth_ && i < kMaxSegments; ++i) {
    const Segment& s = segments_[i];
    if (s.is_index) {
      out += '[';
      out += std::to_string(s.size_or_index);
      out += ']';
    } else {
      if (!out.empty()) out += '.';
      out.append(s.key, s.size_or_index);
    }
  }
  if (depth_ > kMaxSegments) out += "...";
  return out;
}

Status Decoder::status() const {
  std::string msg;
  for (std::size_t i = 0; i < errors.size() && i < 3; ++i) {
    if (!msg.empty()) msg += "; ";
    msg += errors[i].first + ": " + errors[i].second;
  }
  std::size_t more = errors.size() + truncated - std::min<std::size_t>(errors.size(), 3);
  if (more > 0) msg += " (and " + std::to_string(more) + " more)";
  Status st(Code::kInvalidArgument, "VALIDATION_FAILED", std::move(msg));
  for (const auto& [path, reason] : errors) st.with_metadata(path, reason);
  return st;
}

namespace detail {

bool looks_like_number(std::string_view s) noexcept {
  std::size_t i = 0;
  auto digits = [&] {
    std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (!digits()) return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

bool looks_like_email(std::string_view s) noexcept {
  // Deliberately simple (as most validators are): local@domain.tld, no spaces or control characters,
  // within RFC 5321's length limits. Deliverability is the mail server's business.
  if (s.size() < 3 || s.size() > 254) return false;
  auto at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || at > 64 || at + 1 >= s.size()) return false;
  std::string_view local = s.substr(0, at), domain = s.substr(at + 1);
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return false;
  }
  if (local.find('@') != std::string_view::npos) return false;
  auto dot = domain.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 >= domain.size()) return false;
  if (domain.find("..") != std::string_view::npos || domain.front() == '-' || domain.front() == '.') return false;
  for (char c : domain) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
              static_cast<unsigned char>(c) >= 0x80;
    if (!ok) return false;
  }
  return true;
}

}  // namespace detail
}  // namespace svckit::json
