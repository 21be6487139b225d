#include "svckit/auth/jws.hpp"

#include "svckit/auth/base64url.hpp"
#include "svckit/auth/detail/json_object.hpp"
#include "svckit/json/json.hpp"

namespace svckit::auth {

namespace {

Status malformed(std::string why) {
  return Status(Code::kUnauthenticated, "MALFORMED_TOKEN", "malformed token: " + std::move(why));
}

// RFC 7515 §4.1.11: crit may not name what the specifications themselves define.
bool registered_header(std::string_view name) {
  static constexpr std::string_view kNames[] = {"alg", "jku", "jwk", "kid",  "x5u",     "x5c",
                                                "x5t", "typ", "cty", "crit", "x5t#S256"};
  for (auto n : kNames)
    if (n == name) return true;
  return false;
}

std::string read_crit(json::Reader& r, std::vector<std::string>& out) {
  if (!r.begin_array()) return r.failed() ? std::string() : "\"crit\" must be an array";
  while (r.next_item()) {
    std::string name;
    if (!r.read_string(name)) return r.failed() ? std::string() : "\"crit\" must list strings";
    if (name.empty() || registered_header(name)) return "\"crit\" names \"" + name + "\"";
    for (const auto& n : out)
      if (n == name) return "\"crit\" lists \"" + name + "\" twice";
    if (out.size() == 16) return "\"crit\" lists too many names";
    out.push_back(std::move(name));
  }
  if (!r.failed() && out.empty()) return "\"crit\" must not be empty";
  return {};
}

}  // namespace

Result<Jws> parse_jws(std::string_view token, std::size_t max_bytes) {
  if (token.size() > max_bytes)
    return make_error(
        Status(Code::kUnauthenticated, "TOKEN_TOO_LARGE",
               "token of " + std::to_string(token.size()) + " bytes (at most " + std::to_string(max_bytes) + ")"));
  auto dot1 = token.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return make_error(malformed("not three dot-separated parts (a JWS compact serialization)"));
  Jws jws;
  auto header = base64url_decode(token.substr(0, dot1));
  if (!header) return make_error(malformed("header: " + std::string(header.error().message())));
  auto payload = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload) return make_error(malformed("payload: " + std::string(payload.error().message())));
  auto signature = base64url_decode(token.substr(dot2 + 1));
  if (!signature) return make_error(malformed("signature: " + std::string(signature.error().message())));

  JwsHeader& h = jws.header;
  bool has_alg = false;
  json::Reader r(*header, json::ReaderOptions{.max_depth = 8});
  Status st = detail::read_members(r, "header", 32, [&](const std::string& name, json::Reader& rd) -> std::string {
    if (name == "alg") {
      has_alg = true;
      return detail::read_string_member(rd, name, h.alg);
    }
    if (name == "kid") return detail::read_string_member(rd, name, h.kid);
    if (name == "typ") return detail::read_string_member(rd, name, h.typ);
    if (name == "cty") return detail::read_string_member(rd, name, h.cty);
    if (name == "crit") return read_crit(rd, h.crit);
    std::string_view raw;
    if (!rd.skip(&raw)) return {};
    // RFC 7797's unencoded payload changes what is signed; svckit signs and verifies encoded ones only.
    if (name == "b64" && raw != "true") return "\"b64\": false (RFC 7797) is not supported";
    h.extra.emplace_back(name, std::string(raw));
    return {};
  });
  if (!st.ok()) return make_error(malformed(std::string(st.message())));
  if (!has_alg) return make_error(malformed("the header has no \"alg\""));
  for (const auto& name : h.crit) {
    bool present = false;
    for (const auto& [k, v] : h.extra) present = present || k == name;
    if (!present) return make_error(malformed("\"crit\" names \"" + name + "\", which the header lacks"));
  }
  jws.payload = std::move(*payload);
  jws.signature = std::move(*signature);
  jws.signing_input = token.substr(0, dot2);
  return jws;
}

Result<std::string> sign_jws(const Key& key, std::string_view payload, const SignOptions& o) {
  std::string header;
  json::Writer w(header);
  w.begin_object();
  w.key("alg").string(algorithm_name(key.algorithm()));
  if (o.include_kid && !key.kid().empty()) w.key("kid").string(key.kid());
  if (!o.typ.empty()) w.key("typ").string(o.typ);
  if (!o.cty.empty()) w.key("cty").string(o.cty);
  if (!o.crit.empty()) {
    w.key("crit").begin_array();
    for (const auto& c : o.crit) w.string(c);
    w.end_array();
  }
  for (const auto& [k, v] : o.extra) w.key(k).raw(v);
  w.end_object();
  std::string token;
  base64url_append(token, header);
  token += '.';
  base64url_append(token, payload);
  auto sig = key.sign(token);
  if (!sig) return std::unexpected(sig.error());
  token += '.';
  base64url_append(token, *sig);
  return token;
}

}  // namespace svckit::auth
