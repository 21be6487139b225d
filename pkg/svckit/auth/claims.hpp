#pragma once
// A JWT claim set (RFC 7519): the registered claims typed (iss, sub, aud, exp, nbf, iat, jti) and
// every other claim kept as its JSON text, decoded on demand into whatever type the caller names
// (strings, numbers, lists, described structs, as svckit::json decodes them). The same type builds
// the claims an issuer signs.
//
// ```cpp
//   struct Tenant {
//     std::string id;
//     std::string plan;
//     static void json_schema(json::Schema<Tenant>& s) {
//       s.field("id", &Tenant::id).required();
//       s.field("plan", &Tenant::plan);
//     }
//   };
//   void read(const auth::Claims& claims) {
//     std::string_view who = claims.subject();
//     std::vector<std::string> roles = claims.strings("roles");      // ["admin"] or "admin ops"
//     Result<std::optional<Tenant>> tenant = claims.get<Tenant>("tenant");
//     if (claims.expires_at() && *claims.expires_at() < std::chrono::system_clock::now()) return;
//   }
//   auth::Claims make() {
//     auth::Claims c;
//     c.set_subject("user-42").set_audience("orders").set("roles", std::vector<std::string>{"admin"});
//     return c;
//   }
// ```
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "svckit/core/status.hpp"
#include "svckit/json/json.hpp"

namespace svckit::auth {

using Seconds = std::chrono::sys_seconds;

class Claims {
 public:
  Claims() = default;

  // A claim set: a JSON object with unique member names, registered claims of the right types
  // (NumericDates are non-negative numbers; aud a string or an array of strings). INVALID_ARGUMENT.
  static Result<Claims> parse(std::string_view json, std::size_t max_members = 128);

  // Registered claims: empty or nullopt when absent.
  std::string_view issuer() const noexcept { return iss_; }
  std::string_view subject() const noexcept { return sub_; }
  std::string_view id() const noexcept { return jti_; }
  const std::vector<std::string>& audience() const noexcept { return aud_; }
  std::optional<Seconds> expires_at() const noexcept { return exp_; }
  std::optional<Seconds> not_before() const noexcept { return nbf_; }
  std::optional<Seconds> issued_at() const noexcept { return iat_; }

  bool has(std::string_view name) const noexcept { return raw(name).has_value(); }
  // A claim's JSON text as it came ("\"admin\"", "[1,2]", "{...}").
  std::optional<std::string_view> raw(std::string_view name) const noexcept;
  // A claim decoded as T: nullopt when absent; INVALID_ARGUMENT VALIDATION_FAILED when it does not
  // decode (or fails T's schema).
  template <class T>
  Result<std::optional<T>> get(std::string_view name) const {
    auto text = raw(name);
    if (!text) return std::optional<T>();
    auto v = json::decode<T>(*text);
    if (!v) return std::unexpected(v.error());
    return std::optional<T>(std::move(*v));
  }
  // A string claim (nullopt when absent or not a string).
  std::optional<std::string> string(std::string_view name) const;
  // A list claim: an array of strings, or a string of space-separated items (OAuth's "scope").
  // Empty when absent or of another type.
  std::vector<std::string> strings(std::string_view name) const;
  // Every claim, in the order it came or was set: {name, JSON text}.
  const std::vector<std::pair<std::string, std::string>>& members() const noexcept { return members_; }

  // Building. A registered claim set with a value of the wrong type, or JSON text that is not one
  // valid value, is a programmer error (std::invalid_argument).
  Claims& set_issuer(std::string_view iss) { return set("iss", iss); }
  Claims& set_subject(std::string_view sub) { return set("sub", sub); }
  Claims& set_id(std::string_view jti) { return set("jti", jti); }
  Claims& set_audience(std::string_view aud) { return set("aud", aud); }
  Claims& set_audience(const std::vector<std::string>& aud) { return set("aud", aud); }
  Claims& set_expires_at(Seconds t) { return set("exp", t.time_since_epoch().count()); }
  Claims& set_not_before(Seconds t) { return set("nbf", t.time_since_epoch().count()); }
  Claims& set_issued_at(Seconds t) { return set("iat", t.time_since_epoch().count()); }
  template <class T>
  Claims& set(std::string_view name, const T& value) {
    std::string text;
    json::Writer w(text);
    if constexpr (std::is_convertible_v<const T&, std::string_view>)
      w.string(std::string_view(value));
    else
      json::encode_to(text, value);
    return set_raw(name, std::move(text));
  }
  Claims& set_raw(std::string_view name, std::string json_text);
  Claims& erase(std::string_view name);

  // The claim set as compact JSON, members in order.
  std::string to_json() const;

 private:
  // Checks a registered claim's type and caches it; "" when fine, else why not.
  std::string absorb(std::string_view name, std::string_view text);
  void forget(std::string_view name);

  std::vector<std::pair<std::string, std::string>> members_;
  std::string iss_, sub_, jti_;
  std::vector<std::string> aud_;
  std::optional<Seconds> exp_, nbf_, iat_;
};

}  // namespace svckit::auth
