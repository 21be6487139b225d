#pragma once
// Typed JSON without a DOM: a struct describes its fields once, and svckit decodes request bodies
// straight into it (with validation) and encodes it straight into a response buffer.
//
// ```cpp
//   struct CreateUser {
//     std::string email;
//     std::string name;
//     std::optional<int> age;
//     std::vector<std::string> tags;
//     static void json_schema(json::Schema<CreateUser>& s) {
//       s.field("email", &CreateUser::email).required().email();
//       s.field("name", &CreateUser::name).required().length(1, 100);
//       s.field("age", &CreateUser::age).range(0, 150);
//       s.field("tags", &CreateUser::tags).max_items(10).omit_empty();
//     }
//   };
//   Result<CreateUser> in = json::decode<CreateUser>(req.body());   // 400-ready Status on any error
//   if (!in) return res.error(in.error());
//   std::string out = json::encode(*in);
// ```
//
// Errors: malformed JSON → INVALID_ARGUMENT/MALFORMED_JSON with line and column; wrong types, missing
// required fields, failed rules and unknown fields (when rejected) → INVALID_ARGUMENT/VALIDATION_FAILED
// with one metadata entry per field path ("address.city", "tags[2]") and its reason, all at once.
// Member types: std::string, bool, integers (range-checked), floating point, std::optional, std::vector,
// std::map<std::string, V>, json::Raw (any JSON value kept as text), enums named by json_names(E)
// (found by argument-dependent lookup: {value, "name"} pairs), and described structs.
// A type you cannot edit is described by specialising json::Describe<T>.
#include <string>
#include <string_view>

#include "svckit/json/codec.hpp"
#include "svckit/json/schema.hpp"

namespace svckit::json {

struct DecodeOptions {
  std::uint32_t max_depth = 64;
  // Reject keys no schema knows, everywhere (a schema can also ask for it itself).
  bool reject_unknown = false;
  // See Decoder::values_as_text (http::bind_query sets it).
  bool values_as_text = false;
};

// Decodes text into out (fields absent from the text keep out's values).
template <class T>
Status decode_into(std::string_view text, T& out, const DecodeOptions& options = {}) {
  Reader r(text, ReaderOptions{.max_depth = options.max_depth});
  Decoder d(options.reject_unknown, options.values_as_text);
  if (r.peek() == Kind::kEnd) {
    r.finish();
    return r.error_status();
  }
  Codec<T>::decode(r, out, d);
  if (r.failed()) return r.error_status();
  if (!r.finish()) return r.error_status();
  if (!d.errors.empty()) return d.status();
  return {};
}

template <class T>
Result<T> decode(std::string_view text, const DecodeOptions& options = {}) {
  Result<T> out{std::in_place};
  if (Status st = decode_into(text, *out, options); !st.ok()) return std::unexpected<Status>(std::move(st));
  return out;
}

template <class T>
void encode_to(std::string& out, const T& value) {
  Writer w(out);
  Codec<T>::encode(w, value);
}

template <class T>
std::string encode(const T& value) {
  std::string out;
  encode_to(out, value);
  return out;
}

}  // namespace svckit::json
