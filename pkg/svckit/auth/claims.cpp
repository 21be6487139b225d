#include "svckit/auth/claims.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>

#include "svckit/auth/detail/json_object.hpp"

namespace svckit::auth {

namespace {

// A NumericDate (RFC 7519 §2): seconds since the epoch, possibly fractional (floored). Bounded to
// what sys_seconds arithmetic with leeways cannot overflow.
std::optional<Seconds> numeric_date(std::string_view text) {
  json::Reader r(text);
  std::string_view literal;
  if (!r.read_number(literal) || !r.finish()) return std::nullopt;
  double v = 0;
  auto res = std::from_chars(literal.data(), literal.data() + literal.size(), v);
  if (res.ec != std::errc() || !std::isfinite(v) || v < 0 || v > 1e13) return std::nullopt;
  return Seconds(std::chrono::seconds(static_cast<std::int64_t>(std::floor(v))));
}

std::optional<std::string> string_value(std::string_view text) {
  json::Reader r(text);
  std::string out;
  if (!r.read_string(out) || !r.finish()) return std::nullopt;
  return out;
}

std::optional<std::vector<std::string>> string_array(std::string_view text) {
  json::Reader r(text);
  std::vector<std::string> out;
  if (!r.begin_array()) return std::nullopt;
  while (r.next_item()) {
    std::string s;
    if (!r.read_string(s)) return std::nullopt;
    out.push_back(std::move(s));
  }
  if (r.failed() || !r.finish()) return std::nullopt;
  return out;
}

}  // namespace

std::string Claims::absorb(std::string_view name, std::string_view text) {
  if (name == "iss" || name == "sub" || name == "jti") {
    auto s = string_value(text);
    if (!s) return "\"" + std::string(name) + "\" must be a string";
    (name == "iss" ? iss_ : name == "sub" ? sub_ : jti_) = std::move(*s);
  } else if (name == "aud") {
    if (auto s = string_value(text)) {
      aud_ = {std::move(*s)};
    } else if (auto a = string_array(text)) {
      aud_ = std::move(*a);
    } else {
      return "\"aud\" must be a string or an array of strings";
    }
  } else if (name == "exp" || name == "nbf" || name == "iat") {
    auto t = numeric_date(text);
    if (!t) return "\"" + std::string(name) + "\" must be a NumericDate (seconds since the epoch)";
    (name == "exp" ? exp_ : name == "nbf" ? nbf_ : iat_) = *t;
  }
  return {};
}

void Claims::forget(std::string_view name) {
  if (name == "iss") iss_.clear();
  if (name == "sub") sub_.clear();
  if (name == "jti") jti_.clear();
  if (name == "aud") aud_.clear();
  if (name == "exp") exp_.reset();
  if (name == "nbf") nbf_.reset();
  if (name == "iat") iat_.reset();
}

Result<Claims> Claims::parse(std::string_view text, std::size_t max_members) {
  json::Reader r(text, json::ReaderOptions{.max_depth = 32});
  Claims c;
  Status st = detail::read_members(r, "JWT claims", max_members, [&](const std::string& name, json::Reader& rd) {
    std::string_view raw;
    if (!rd.skip(&raw)) return std::string();
    std::string why = c.absorb(name, raw);
    if (why.empty()) c.members_.emplace_back(name, std::string(raw));
    return why;
  });
  if (!st.ok()) return std::unexpected(st);
  return c;
}

std::optional<std::string_view> Claims::raw(std::string_view name) const noexcept {
  for (const auto& [k, v] : members_)
    if (k == name) return std::string_view(v);
  return std::nullopt;
}

std::optional<std::string> Claims::string(std::string_view name) const {
  auto text = raw(name);
  return text ? string_value(*text) : std::nullopt;
}

std::vector<std::string> Claims::strings(std::string_view name) const {
  auto text = raw(name);
  if (!text) return {};
  if (auto a = string_array(*text)) return std::move(*a);
  std::vector<std::string> out;
  if (auto s = string_value(*text)) {
    std::string_view rest = *s;
    while (!rest.empty()) {
      auto sp = rest.find(' ');
      if (sp != 0) out.emplace_back(rest.substr(0, sp));
      if (sp == std::string_view::npos) break;
      rest.remove_prefix(sp + 1);
    }
  }
  return out;
}

Claims& Claims::set_raw(std::string_view name, std::string text) {
  json::Reader r(text);
  if (!r.skip() || !r.finish())
    throw std::invalid_argument("auth::Claims: the value of \"" + std::string(name) + "\" is not valid JSON");
  forget(name);
  if (std::string why = absorb(name, text); !why.empty()) throw std::invalid_argument("auth::Claims: " + why);
  for (auto& [k, v] : members_)
    if (k == name) {
      v = std::move(text);
      return *this;
    }
  members_.emplace_back(std::string(name), std::move(text));
  return *this;
}

Claims& Claims::erase(std::string_view name) {
  forget(name);
  std::erase_if(members_, [&](const auto& m) { return m.first == name; });
  return *this;
}

std::string Claims::to_json() const {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  for (const auto& [k, v] : members_) w.key(k).raw(v);
  w.end_object();
  return out;
}

}  // namespace svckit::auth
