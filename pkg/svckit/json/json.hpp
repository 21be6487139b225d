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
// std::map<std::string, V>, json::Raw (any JSON value kept as text), and described structs.
// A type you cannot edit is described by specialising json::Describe<T>.
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

template <class T>
requires Described<T>
struct Codec<T> {
  static bool decode(Reader& r, T& out, Decoder& d) { return schema_of<T>().decode(r, out, d); }
  static void encode(Writer& w, const T& v) { schema_of<T>().encode(w, v); }
  static bool empty(const T&) { return false; }
};

namespace detail {
template <class M>
struct Unwrap {
  using type = M;
  static const M* get(const M& v) { return &v; }
};
template <class M>
struct Unwrap<std::optional<M>> {
  using type = M;
  static const M* get(const std::optional<M>& v) { return v ? &*v : nullptr; }
};
template <class V>
std::string to_text(const V& v) {
  if constexpr (std::is_convertible_v<const V&, std::string_view>) {
    return std::string(std::string_view(v));
  } else if constexpr (std::is_arithmetic_v<V>) {
    std::string s;
    Writer w(s);
    w.value(v);
    return s;
  } else {
    return "?";
  }
}
template <class V>
std::size_t measure(const V& v) {
  if constexpr (std::is_convertible_v<const V&, std::string_view>) {
    return utf8_length(std::string_view(v));
  } else {
    return v.size();
  }
}
bool looks_like_email(std::string_view s) noexcept;
}  // namespace detail

// One field of a schema, type-erased over the struct's address.
struct FieldSpec {
  std::string name;
  std::string encoded_key;  // "\"name\":"
  bool required = false;
  bool omit_empty = false;
  std::function<bool(Reader&, void*, Decoder&)> decode;
  std::function<void(Writer&, const void*)> encode;
  std::function<bool(const void*)> empty;  // for omit_empty and required (an optional that is null)
  std::function<bool(const void*)> is_null;
  // Each returns an empty string when the value passes, else the reason.
  std::vector<std::function<std::string(const void*)>> rules;
};

template <class T, class M>
class FieldRule {
  using V = typename detail::Unwrap<M>::type;

 public:
  FieldRule(FieldSpec& spec, M T::*member) : spec_(spec), member_(member) {}

  // The key must be present (and, for an optional, not null).
  FieldRule& required() {
    spec_.required = true;
    return *this;
  }
  // Not written by encode when empty ("", 0, false, [], {}, null).
  FieldRule& omit_empty() {
    spec_.omit_empty = true;
    return *this;
  }
  // Any rule: return "" when v is fine, else the reason ("must be a future date").
  template <class F>
  FieldRule& check(F fn) {
    auto member = member_;
    spec_.rules.push_back([member, fn](const void* obj) -> std::string {
      const V* v = detail::Unwrap<M>::get(static_cast<const T*>(obj)->*member);
      return v ? std::string(fn(*v)) : std::string();
    });
    return *this;
  }
  FieldRule& non_empty() {
    return check([](const V& v) -> std::string { return v.empty() ? "must not be empty" : ""; });
  }
  // Strings: in characters (code points); arrays and maps: in items.
  FieldRule& length(std::size_t min, std::size_t max) {
    return check([min, max](const V& v) -> std::string {
      std::size_t n = detail::measure(v);
      const char* unit = std::is_convertible_v<const V&, std::string_view> ? " characters" : " items";
      if (n < min) return "must be at least " + std::to_string(min) + unit;
      if (n > max) return "must be at most " + std::to_string(max) + unit;
      return "";
    });
  }
  FieldRule& max_items(std::size_t max) { return length(0, max); }
  FieldRule& range(V lo, V hi) {
    return check([lo, hi](const V& v) -> std::string {
      if (v < lo || hi < v) return "must be between " + detail::to_text(lo) + " and " + detail::to_text(hi);
      return "";
    });
  }
  FieldRule& one_of(std::initializer_list<V> allowed) {
    std::vector<V> values(allowed);
    return check([values](const V& v) -> std::string {
      for (const auto& a : values)
        if (a == v) return "";
      std::string list;
      for (const auto& a : values) list += (list.empty() ? "" : ", ") + detail::to_text(a);
      return "must be one of: " + list;
    });
  }
  FieldRule& email() {
    return check(
        [](const V& v) -> std::string { return detail::looks_like_email(v) ? "" : "must be an email address"; });
  }

 private:
  FieldSpec& spec_;
  M T::*member_;
};

template <class T>
class Schema {
 public:
  static constexpr std::size_t kMaxFields = 128;

  template <class M>
  FieldRule<T, M> field(std::string_view name, M T::*member) {
    if (fields_.size() >= kMaxFields) throw std::logic_error("json::Schema: too many fields");
    for (const auto& f : fields_)
      if (f.name == name) throw std::logic_error("json::Schema: duplicate field " + std::string(name));
    FieldSpec& spec = fields_.emplace_back();
    spec.name = std::string(name);
    append_string(spec.encoded_key, name);
    spec.encoded_key += ':';
    spec.decode = [member](Reader& r, void* obj, Decoder& d) {
      return Codec<M>::decode(r, static_cast<T*>(obj)->*member, d);
    };
    spec.encode = [member](Writer& w, const void* obj) { Codec<M>::encode(w, static_cast<const T*>(obj)->*member); };
    spec.empty = [member](const void* obj) { return Codec<M>::empty(static_cast<const T*>(obj)->*member); };
    if constexpr (!std::is_same_v<typename detail::Unwrap<M>::type, M>)
      spec.is_null = [member](const void* obj) { return !(static_cast<const T*>(obj)->*member).has_value(); };
    return FieldRule<T, M>(spec, member);
  }
  // Keys the schema does not know are errors ("unknown field") instead of being ignored.
  Schema& reject_unknown() {
    reject_unknown_ = true;
    return *this;
  }
  // A rule over the whole object, run when its fields decoded cleanly. Return {} when fine, else
  // {field, reason} ("ends_at", "must be after starts_at").
  Schema& check(std::function<std::optional<std::pair<std::string, std::string>>(const T&)> rule) {
    object_rules_.push_back(std::move(rule));
    return *this;
  }

  bool decode(Reader& r, T& out, Decoder& d) const {
    if (!r.begin_object()) return r.failed() ? false : d.type_error(r, "object");
    std::bitset<kMaxFields> seen, bad;
    std::size_t errors_before = d.errors.size() + d.truncated;
    std::size_t hint = 0;
    for (std::string_view key; r.next_key(key);) {
      std::size_t i = index_of(key, hint);
      hint = i + 1;
      if (i == npos) {
        if (reject_unknown_ || d.reject_unknown) {
          std::size_t mark = d.push_key(key);
          d.add("unknown field");
          d.pop(mark);
        }
        if (!r.skip()) return false;
        continue;
      }
      const FieldSpec& f = fields_[i];
      std::size_t mark = d.push_key(f.name);
      if (seen[i]) {
        d.add("duplicate key");
        d.pop(mark);
        if (!r.skip()) return false;
        continue;
      }
      seen[i] = true;
      bool ok = f.decode(r, &out, d);
      if (r.failed()) return false;
      if (!ok) bad[i] = true;
      d.pop(mark);
    }
    if (r.failed()) return false;
    for (std::size_t i = 0; i < fields_.size(); ++i) {
      const FieldSpec& f = fields_[i];
      if (bad[i]) continue;
      bool null = f.is_null && f.is_null(&out);
      if (f.required && (!seen[i] || null)) {
        std::size_t mark = d.push_key(f.name);
        d.add("is required");
        d.pop(mark);
        continue;
      }
      if (!seen[i] || null) continue;
      for (const auto& rule : f.rules) {
        std::string why = rule(&out);
        if (!why.empty()) {
          std::size_t mark = d.push_key(f.name);
          d.add(std::move(why));
          d.pop(mark);
          break;
        }
      }
    }
    if (d.errors.size() + d.truncated != errors_before) return false;
    for (const auto& rule : object_rules_) {
      if (auto v = rule(out)) {
        std::size_t mark = d.push_key(v->first);
        d.add(std::move(v->second));
        d.pop(mark);
      }
    }
    return d.errors.size() + d.truncated == errors_before;
  }

  void encode(Writer& w, const T& v) const {
    w.begin_object();
    for (const auto& f : fields_) {
      if (f.omit_empty && f.empty(&v)) continue;
      w.encoded_key(f.encoded_key);
      f.encode(w, &v);
    }
    w.end_object();
  }

  const std::vector<FieldSpec>& fields() const noexcept { return fields_; }

 private:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  // Keys usually come in schema order, so the field after the previous one is tried first.
  std::size_t index_of(std::string_view key, std::size_t hint) const noexcept {
    auto is = [&](std::size_t i) {
      const std::string& n = fields_[i].name;
      return n.size() == key.size() && std::char_traits<char>::compare(n.data(), key.data(), key.size()) == 0;
    };
    if (hint < fields_.size() && is(hint)) return hint;
    for (std::size_t i = 0; i < fields_.size(); ++i)
      if (is(i)) return i;
    return npos;
  }

  std::vector<FieldSpec> fields_;
  std::vector<std::function<std::optional<std::pair<std::string, std::string>>(const T&)>> object_rules_;
  bool reject_unknown_ = false;
};

template <class T>
const Schema<T>& schema_of() {
  static const Schema<T> schema = [] {
    Schema<T> s;
    Describe<T>::schema(s);
    return s;
  }();
  return schema;
}

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
