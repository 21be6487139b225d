#pragma once
// Internal: one JSON object read member by member with duplicate names refused (RFC 7515 §4 and
// RFC 7519 §4 allow a parser to refuse them; a header or claim set with a repeated name means
// different things to different parsers), shared by the JWS header, JWK and claims parsers.
#include <string>
#include <string_view>
#include <vector>

#include "svckit/core/status.hpp"
#include "svckit/json/reader.hpp"

namespace svckit::auth::detail {

// fn(name, reader) reads or skips the member's value and returns an error message ("" when fine).
// Errors: INVALID_ARGUMENT with `what` ("JWS header", "JWK") in the message.
template <class Fn>
Status read_members(json::Reader& r, std::string_view what, std::size_t max_members, Fn&& fn) {
  auto bad = [&](std::string_view why) {
    return Status(Code::kInvalidArgument, std::string(what) + ": " + std::string(why));
  };
  if (!r.begin_object()) return bad(r.failed() ? r.error().message : "not a JSON object");
  std::vector<std::string> seen;
  for (std::string_view key; r.next_key(key);) {
    for (const auto& s : seen)
      if (s == key) return bad("duplicate member \"" + std::string(key) + "\"");
    if (seen.size() == max_members) return bad("too many members");
    seen.emplace_back(key);
    std::string why = fn(seen.back(), r);
    if (r.failed()) return bad(r.error().message);
    if (!why.empty()) return bad(why);
  }
  if (r.failed()) return bad(r.error().message);
  if (!r.finish()) return bad(r.error().message);
  return {};
}

// Reads a string member's value into out; "" when fine, else why not.
inline std::string read_string_member(json::Reader& r, std::string_view name, std::string& out) {
  if (r.read_string(out)) return {};
  return r.failed() ? std::string() : "\"" + std::string(name) + "\" must be a string";
}

}  // namespace svckit::auth::detail
