#pragma once
// The JSON writer, the decoder's error collection and Codec<M>, how each member type is read and
// written (strings, bools, integers, floating point, std::optional, std::vector, std::map, json::Raw,
// named enums and described structs). Included through svckit/json/json.hpp, which has the API and an example.
#include <bitset>
#include <charconv>
#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "svckit/core/status.hpp"
#include "svckit/json/reader.hpp"

namespace svckit::json {

// Any JSON value, kept as its (validated, compact or not) source text; written back verbatim.
struct Raw {
  std::string text;
  bool operator==(const Raw&) const = default;
};

// Appends JSON to a string. Keeps track of commas; the caller keeps track of nesting.
class Writer {
 public:
  explicit Writer(std::string& out) noexcept : out_(out) {}
  Writer& begin_object() {
    separate();
    out_ += '{';
    comma_ = false;
    return *this;
  }
  Writer& end_object() {
    out_ += '}';
    comma_ = true;
    return *this;
  }
  Writer& begin_array() {
    separate();
    out_ += '[';
    comma_ = false;
    return *this;
  }
  Writer& end_array() {
    out_ += ']';
    comma_ = true;
    return *this;
  }
  Writer& key(std::string_view k) {
    separate();
    append_string(out_, k);
    out_ += ':';
    comma_ = false;
    return *this;
  }
  // A key already written as `"name":` (schemas prebuild theirs).
  Writer& encoded_key(std::string_view k) {
    separate();
    out_ += k;
    comma_ = false;
    return *this;
  }
  Writer& string(std::string_view s) {
    separate();
    append_string(out_, s);
    comma_ = true;
    return *this;
  }
  Writer& boolean(bool b) { return raw(b ? "true" : "false"); }
  Writer& null() { return raw("null"); }
  template <std::integral I>
  Writer& integer(I v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    return raw(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
  }
  // Shortest text that reads back as the same double; NaN and infinities (not JSON) become null.
  Writer& number(double v);
  // Verbatim JSON text (must be one valid value).
  Writer& raw(std::string_view json) {
    separate();
    out_ += json;
    comma_ = true;
    return *this;
  }
  template <class T>
  Writer& value(const T& v);
  template <class T>
  Writer& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }
  std::string& buffer() noexcept { return out_; }

 private:
  void separate() {
    if (comma_) out_ += ',';
  }
  std::string& out_;
  bool comma_ = false;
};

// Decoding state: the current field path and the errors found so far.
class Decoder {
 public:
  static constexpr std::size_t kMaxErrors = 32;

  explicit Decoder(bool reject_unknown = false, bool values_as_text = false) noexcept
      : reject_unknown(reject_unknown), values_as_text(values_as_text) {}

  void add(std::string reason) {
    if (errors.size() >= kMaxErrors) {
      ++truncated;
      return;
    }
    errors.emplace_back(path(), std::move(reason));
  }
  // Records "expected <what>, got <kind>" and skips the value. Always returns false.
  bool type_error(Reader& r, std::string_view expected);

  // The path is a stack of segments, turned into text ("items[2].sku") only when an error needs it.
  // Keys must stay valid while pushed (schema names, map keys owned by the map).
  std::size_t push_key(std::string_view key) noexcept {
    if (depth_ < kMaxSegments) segments_[depth_] = Segment{key.data(), key.size(), false};
    return depth_++;
  }
  std::size_t push_index(std::size_t i) noexcept {
    if (depth_ < kMaxSegments) segments_[depth_] = Segment{nullptr, i, true};
    return depth_++;
  }
  void pop(std::size_t mark) noexcept { depth_ = mark; }
  std::string path() const;

  // INVALID_ARGUMENT/VALIDATION_FAILED with every error in the metadata.
  Status status() const;

  std::vector<std::pair<std::string, std::string>> errors;
  std::size_t truncated = 0;
  bool reject_unknown;
  // Scalars may arrive as strings ("10", "true") and a lone value where a list is expected: values
  // that come from text (query strings, form fields) rather than from JSON.
  bool values_as_text;

 private:
  static constexpr std::size_t kMaxSegments = 64;
  struct Segment {  // trivial, so that the array costs nothing until used
    const char* key;
    std::size_t size_or_index;
    bool is_index;
  };
  Segment segments_[kMaxSegments];
  std::size_t depth_ = 0;
};

template <class T>
class Schema;

// Describes T. By default T's own static json_schema(Schema<T>&); specialise Describe<T> (with a static
// schema(Schema<T>&)) for types you cannot edit.
template <class T>
struct Describe {};
template <class T>
requires requires(Schema<T>& s) {
  T::json_schema(s);
}
struct Describe<T> {
  static void schema(Schema<T>& s) { T::json_schema(s); }
};

template <class T>
concept Described = requires(Schema<T>& s) {
  Describe<T>::schema(s);
};

template <class T>
const Schema<T>& schema_of();

// Codec<M>: how one C++ type is read and written. decode returns false when the value was not
// usable (the error is recorded, or the reader failed).
template <class M, class = void>
struct Codec;

template <class T>
Writer& Writer::value(const T& v) {
  Codec<T>::encode(*this, v);
  return *this;
}

template <>
struct Codec<std::string> {
  static bool decode(Reader& r, std::string& out, Decoder& d) {
    if (r.read_string(out)) return true;
    return d.type_error(r, "string");
  }
  static void encode(Writer& w, const std::string& v) { w.string(v); }
  static bool empty(const std::string& v) { return v.empty(); }
};

template <>
struct Codec<bool> {
  static bool decode(Reader& r, bool& out, Decoder& d) {
    if (d.values_as_text && r.peek() == Kind::kString) {
      std::string text;
      r.read_string(text);
      if (text == "true" || text == "1" || text == "false" || text == "0") {
        out = text == "true" || text == "1";
        return true;
      }
      d.add("must be true or false");
      return false;
    }
    if (r.read_bool(out)) return true;
    return d.type_error(r, "boolean");
  }
  static void encode(Writer& w, bool v) { w.boolean(v); }
  static bool empty(bool v) { return !v; }
};

namespace detail {
// A JSON number literal: -?digits(.digits)?([eE][+-]?digits)?
bool looks_like_number(std::string_view s) noexcept;
// Parses a JSON number literal into an integer of type I; the reason on failure.
template <class I>
const char* parse_integer(std::string_view lit, I& out) {
  for (char c : lit)
    if (c == '.' || c == 'e' || c == 'E') return "must be an integer";
  auto r = std::from_chars(lit.data(), lit.data() + lit.size(), out);
  if (r.ec == std::errc::result_out_of_range || (r.ec == std::errc() && r.ptr != lit.data() + lit.size()))
    return "is out of range";
  if (r.ec != std::errc()) return std::is_signed_v<I> ? "is out of range" : "must not be negative";
  return nullptr;
}
// A number literal into lit: a JSON number, or with values_as_text a string holding one (kept in
// text). False, with the error recorded, otherwise; what is "an integer" or "a number".
inline bool read_numeric(Reader& r, Decoder& d, std::string_view& lit, std::string& text, const char* what) {
  if (d.values_as_text && r.peek() == Kind::kString) {
    r.read_string(text);
    lit = text;
    if (looks_like_number(lit)) return true;
    d.add(std::string("must be ") + what);
    return false;
  }
  if (r.read_number(lit)) return true;
  return d.type_error(r, std::string_view(what).substr(std::string_view(what).find(' ') + 1));
}
}  // namespace detail

template <class I>
struct Codec<I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>>> {
  static bool decode(Reader& r, I& out, Decoder& d) {
    std::string_view lit;
    std::string text;
    if (!detail::read_numeric(r, d, lit, text, "an integer")) return false;
    if (const char* why = detail::parse_integer(lit, out)) {
      std::string reason = why;
      if (reason == "is out of range")
        reason += " [" + std::to_string(std::numeric_limits<I>::min()) + ", " +
                  std::to_string(std::numeric_limits<I>::max()) + "]";
      d.add(std::move(reason));
      return false;
    }
    return true;
  }
  static void encode(Writer& w, I v) { w.integer(v); }
  static bool empty(I v) { return v == 0; }
};

template <class F>
struct Codec<F, std::enable_if_t<std::is_floating_point_v<F>>> {
  static bool decode(Reader& r, F& out, Decoder& d) {
    std::string_view lit;
    std::string text;
    if (!detail::read_numeric(r, d, lit, text, "a number")) return false;
    auto res = std::from_chars(lit.data(), lit.data() + lit.size(), out);
    if (res.ec != std::errc()) {
      d.add("is out of range for a floating-point number");
      return false;
    }
    return true;
  }
  static void encode(Writer& w, F v) { w.number(static_cast<double>(v)); }
  static bool empty(F v) { return v == 0; }
};

template <>
struct Codec<Raw> {
  static bool decode(Reader& r, Raw& out, Decoder&) {
    std::string_view text;
    if (!r.skip(&text)) return false;
    out.text.assign(text);
    return true;
  }
  static void encode(Writer& w, const Raw& v) { w.raw(v.text.empty() ? std::string_view("null") : v.text); }
  static bool empty(const Raw& v) { return v.text.empty() || v.text == "null"; }
};

template <class M>
struct Codec<std::optional<M>> {
  static bool decode(Reader& r, std::optional<M>& out, Decoder& d) {
    if (r.peek() == Kind::kNull) {
      r.read_null();
      out.reset();
      return true;
    }
    return Codec<M>::decode(r, out.emplace(), d);
  }
  static void encode(Writer& w, const std::optional<M>& v) {
    if (v)
      Codec<M>::encode(w, *v);
    else
      w.null();
  }
  static bool empty(const std::optional<M>& v) { return !v.has_value(); }
};

template <class M>
struct Codec<std::vector<M>> {
  static bool decode(Reader& r, std::vector<M>& out, Decoder& d) {
    if (d.values_as_text && r.peek() != Kind::kArray && r.peek() != Kind::kNull) {  // ?tag=a: one of them
      out.clear();
      std::size_t mark = d.push_index(0);
      bool ok = Codec<M>::decode(r, out.emplace_back(), d);
      d.pop(mark);
      return ok;
    }
    if (!r.begin_array()) return r.failed() ? false : d.type_error(r, "array");
    out.clear();
    bool all = true;
    for (std::size_t i = 0; r.next_item(); ++i) {
      std::size_t mark = d.push_index(i);
      all = Codec<M>::decode(r, out.emplace_back(), d) && all;
      d.pop(mark);
      if (r.failed()) return false;
    }
    return all && !r.failed();
  }
  static void encode(Writer& w, const std::vector<M>& v) {
    w.begin_array();
    for (const auto& item : v) Codec<M>::encode(w, item);
    w.end_array();
  }
  static bool empty(const std::vector<M>& v) { return v.empty(); }
};

template <class M>
struct Codec<std::map<std::string, M>> {
  static bool decode(Reader& r, std::map<std::string, M>& out, Decoder& d) {
    if (!r.begin_object()) return r.failed() ? false : d.type_error(r, "object");
    out.clear();
    bool all = true;
    for (std::string_view key; r.next_key(key);) {
      auto slot = out.try_emplace(std::string(key)).first;
      std::size_t mark = d.push_key(slot->first);  // the map's copy: the reader's may be overwritten
      all = Codec<M>::decode(r, slot->second, d) && all;
      d.pop(mark);
      if (r.failed()) return false;
    }
    return all && !r.failed();
  }
  static void encode(Writer& w, const std::map<std::string, M>& v) {
    w.begin_object();
    for (const auto& [k, item] : v) {
      w.key(k);
      Codec<M>::encode(w, item);
    }
    w.end_object();
  }
  static bool empty(const std::map<std::string, M>& v) { return v.empty(); }
};

// An enum with json_names(E) → a range of {value, "name"} pairs, found by argument-dependent lookup
// beside the enum: written and read as its name ("must be one of: ..." for any other string).
template <class E>
concept NamedEnum = std::is_enum_v<E> && requires(E e) {
  json_names(e);
};

template <class E>
requires NamedEnum<E>
struct Codec<E> {
  static bool decode(Reader& r, E& out, Decoder& d) {
    std::string_view text;
    if (!r.read_string(text)) return d.type_error(r, "string");
    for (const auto& [value, name] : json_names(E{})) {
      if (text == name) {
        out = value;
        return true;
      }
    }
    std::string allowed;
    for (const auto& [value, name] : json_names(E{})) allowed += (allowed.empty() ? "" : ", ") + std::string(name);
    d.add("must be one of: " + allowed);
    return false;
  }
  // A value without a name (a cast from an integer) is written as its number, which decode refuses.
  static void encode(Writer& w, E v) {
    for (const auto& [value, name] : json_names(E{})) {
      if (value == v) {
        w.string(name);
        return;
      }
    }
    w.integer(static_cast<std::underlying_type_t<E>>(v));
  }
  static bool empty(E v) { return v == E{}; }
};

template <class T>
requires Described<T>
struct Codec<T> {
  static bool decode(Reader& r, T& out, Decoder& d) { return schema_of<T>().decode(r, out, d); }
  static void encode(Writer& w, const T& v) { schema_of<T>().encode(w, v); }
  static bool empty(const T&) { return false; }
};

}  // namespace svckit::json
