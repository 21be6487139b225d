#pragma once
// The JSON Schema (draft 2020-12) of what JSON binding reads and writes, generated from the same
// descriptions: each member type's schema, a field's rules as keywords (lengths, ranges, enums,
// formats), and described structs as named definitions referenced by `$ref`. OpenAPI documents
// (svckit/http/openapi.hpp) are built from it. Included through svckit/json/json.hpp.
//
// ```cpp
//   struct CreateUser {
//     std::string email;
//     static void json_schema(json::Schema<CreateUser>& s) { s.field("email", &CreateUser::email).required().email(); }
//   };
//   json::SchemaSet set;                                  // definitions under #/components/schemas/
//   json::SchemaObject body = set.schema<CreateUser>();   // {"$ref":"#/components/schemas/CreateUser"}
//   for (const auto& [name, schema] : set.definitions()) { /* "CreateUser": {"type":"object",...} */ }
// ```
#include <climits>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#include "svckit/json/codec.hpp"

namespace svckit::json {

// One schema object being built: its keywords in order, each value as JSON text.
class SchemaObject {
 public:
  // Adds the keyword, or replaces its value where it is already set.
  SchemaObject& set(std::string_view key, std::string value_json);
  const std::string* get(std::string_view key) const noexcept;
  void erase(std::string_view key);
  bool empty() const noexcept { return keywords_.empty(); }
  // {"type":"string","minLength":1}
  std::string text() const;

 private:
  std::vector<std::pair<std::string, std::string>> keywords_;
};

// What a field's rules promise and what it says of itself, kept beside the rules (which are code)
// so that documents can state them.
struct FieldFacts {
  std::optional<std::uint64_t> min_length;  // characters of a string, items of an array or map
  std::optional<std::uint64_t> max_length;
  std::string minimum;  // a JSON number; empty: none
  std::string maximum;
  std::vector<std::string> enum_values;  // JSON texts
  std::string format;                    // "email", "date-time", "uuid"...
  std::string pattern;                   // an ECMA-262 regular expression
  std::string description;
  std::vector<std::string> examples;  // JSON texts
};

// Writes the facts into a field's schema, choosing the keywords by its type (minLength for a
// string, minItems for an array, minProperties for an object).
void apply_facts(SchemaObject& schema, const FieldFacts& facts);
// Lets the schema also accept null (a std::optional member): "type" gains "null", a "$ref" becomes
// "anyOf" with {"type":"null"}, an "enum" gains null.
void make_nullable(SchemaObject& schema);

class SchemaSet;

// TypeSchema<M>::write(schema, set): the keywords of M's schema. Specialised beside each Codec; a
// type with a Codec and no TypeSchema has the empty schema (any value).
template <class M, class = void>
struct TypeSchema {
  static void write(SchemaObject&, SchemaSet&) {}
};

// The definitions of the described structs that schemas refer to, each once, by name (the struct's
// unqualified name, or its static json_name when it has one; a second struct of the same name gets
// a numbered one).
class SchemaSet {
 public:
  explicit SchemaSet(std::string ref_prefix = "#/components/schemas/") : prefix_(std::move(ref_prefix)) {}

  template <class M>
  SchemaObject schema() {
    SchemaObject o;
    TypeSchema<M>::write(o, *this);
    return o;
  }
  // The reference to described T ("#/components/schemas/User"), defining it on first use.
  template <class T>
  std::string ref();
  // Keeps name for a definition the caller writes itself (no struct gets it).
  void reserve(std::string name) { reserved_.push_back(std::move(name)); }
  // name → the definition's JSON text, in the order of first use.
  const std::vector<std::pair<std::string, std::string>>& definitions() const noexcept { return definitions_; }

 private:
  std::string define(const std::type_info& type, std::string_view name_hint,
                     const std::function<std::string(SchemaSet&)>& make);

  std::string prefix_;
  std::map<const std::type_info*, std::string> names_;  // by the type's identity
  std::vector<std::pair<std::string, std::string>> definitions_;
  std::vector<std::string> reserved_;
};

namespace detail {
std::string json_string(std::string_view s);
template <class T>
constexpr std::string_view schema_name_hint() {
  if constexpr (requires { std::string_view(T::json_name); })
    return std::string_view(T::json_name);
  else
    return {};
}
}  // namespace detail

template <>
struct TypeSchema<std::string> {
  static void write(SchemaObject& o, SchemaSet&) { o.set("type", "\"string\""); }
};
template <>
struct TypeSchema<bool> {
  static void write(SchemaObject& o, SchemaSet&) { o.set("type", "\"boolean\""); }
};
template <class I>
struct TypeSchema<I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>>> {
  static void write(SchemaObject& o, SchemaSet&) {
    o.set("type", "\"integer\"");
    if constexpr (std::is_signed_v<I> && sizeof(I) == 4) {
      o.set("format", "\"int32\"");
    } else if constexpr (std::is_signed_v<I> && sizeof(I) == 8) {
      o.set("format", "\"int64\"");
    } else {
      o.set("minimum", std::to_string(std::numeric_limits<I>::min()));
      o.set("maximum", std::to_string(std::numeric_limits<I>::max()));
    }
  }
};
template <class F>
struct TypeSchema<F, std::enable_if_t<std::is_floating_point_v<F>>> {
  static void write(SchemaObject& o, SchemaSet&) {
    o.set("type", "\"number\"");
    o.set("format", sizeof(F) == 4 ? "\"float\"" : "\"double\"");
  }
};
template <>
struct TypeSchema<Raw> {
  static void write(SchemaObject&, SchemaSet&) {}  // any JSON value: the empty schema
};
template <class M>
struct TypeSchema<std::optional<M>> {
  static void write(SchemaObject& o, SchemaSet& set) {
    TypeSchema<M>::write(o, set);
    make_nullable(o);
  }
};
template <class M>
struct TypeSchema<std::vector<M>> {
  static void write(SchemaObject& o, SchemaSet& set) {
    o.set("type", "\"array\"");
    o.set("items", set.schema<M>().text());
  }
};
template <class M>
struct TypeSchema<std::map<std::string, M>> {
  static void write(SchemaObject& o, SchemaSet& set) {
    o.set("type", "\"object\"");
    o.set("additionalProperties", set.schema<M>().text());
  }
};
template <class E>
requires NamedEnum<E>
struct TypeSchema<E> {
  static void write(SchemaObject& o, SchemaSet&) {
    o.set("type", "\"string\"");
    std::string list = "[";
    for (const auto& [value, name] : json_names(E{})) {
      if (list.size() > 1) list += ',';
      list += detail::json_string(name);
    }
    o.set("enum", list + "]");
  }
};
template <class T>
requires Described<T>
struct TypeSchema<T> {
  static void write(SchemaObject& o, SchemaSet& set) { o.set("$ref", detail::json_string(set.ref<T>())); }
};

}  // namespace svckit::json
