#pragma once
// Schema<T>: the fields a struct describes, with their validation rules, and the decode and encode
// of a described struct from them. Included through svckit/json/json.hpp.
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "svckit/json/codec.hpp"
#include "svckit/json/type_schema.hpp"

namespace svckit::json {

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
  // The member itself, for other bindings of the same description (db's row mapping reads and
  // writes columns through it): its C++ type and its address in an object.
  const std::type_info* type = nullptr;
  std::function<void*(void*)> address;
  // For generated documents (type_schema.hpp): the schema of the member's type (of the value inside
  // a std::optional; is_null says it is one) and what the rules promise.
  std::function<void(SchemaObject&, SchemaSet&)> type_schema;
  FieldFacts facts;
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
    if (!spec_.facts.min_length || *spec_.facts.min_length < 1) spec_.facts.min_length = 1;
    return check([](const V& v) -> std::string { return v.empty() ? "must not be empty" : ""; });
  }
  // Strings: in characters (code points); arrays and maps: in items.
  FieldRule& length(std::size_t min, std::size_t max) {
    if (min > 0) spec_.facts.min_length = min;
    spec_.facts.max_length = max;
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
    if constexpr (std::is_arithmetic_v<V>) {
      spec_.facts.minimum = detail::to_text(lo);
      spec_.facts.maximum = detail::to_text(hi);
    }
    return check([lo, hi](const V& v) -> std::string {
      if (v < lo || hi < v) return "must be between " + detail::to_text(lo) + " and " + detail::to_text(hi);
      return "";
    });
  }
  FieldRule& one_of(std::initializer_list<V> allowed) {
    std::vector<V> values(allowed);
    spec_.facts.enum_values.clear();
    for (const auto& a : values) spec_.facts.enum_values.push_back(encode_value(a));
    return check([values](const V& v) -> std::string {
      for (const auto& a : values)
        if (a == v) return "";
      std::string list;
      for (const auto& a : values) list += (list.empty() ? "" : ", ") + detail::to_text(a);
      return "must be one of: " + list;
    });
  }
  FieldRule& email() {
    spec_.facts.format = "email";
    return check(
        [](const V& v) -> std::string { return detail::looks_like_email(v) ? "" : "must be an email address"; });
  }

  // What documents say of the field; decode checks none of these: pair a format or a pattern with
  // a check() that enforces it.
  FieldRule& describe(std::string text) {
    spec_.facts.description = std::move(text);
    return *this;
  }
  FieldRule& format(std::string name) {  // "date-time", "uuid", "uri"...
    spec_.facts.format = std::move(name);
    return *this;
  }
  FieldRule& pattern(std::string ecma_regex) {
    spec_.facts.pattern = std::move(ecma_regex);
    return *this;
  }
  FieldRule& example(const V& v) {
    spec_.facts.examples.push_back(encode_value(v));
    return *this;
  }

 private:
  static std::string encode_value(const V& v) {
    std::string out;
    Writer w(out);
    Codec<V>::encode(w, v);
    return out;
  }
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
    spec.type = &typeid(M);
    spec.address = [member](void* obj) -> void* { return &(static_cast<T*>(obj)->*member); };
    spec.type_schema = [](SchemaObject& o, SchemaSet& set) {
      TypeSchema<typename detail::Unwrap<M>::type>::write(o, set);
    };
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
  bool rejects_unknown() const noexcept { return reject_unknown_; }

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

// The JSON Schema of an object with these fields (type_schema.hpp).
std::string object_schema(const std::vector<FieldSpec>& fields, bool reject_unknown, SchemaSet& set);

template <class T>
std::string SchemaSet::ref() {
  return define(typeid(T), detail::schema_name_hint<T>(), [](SchemaSet& set) {
    const Schema<T>& s = schema_of<T>();
    return object_schema(s.fields(), s.rejects_unknown(), set);
  });
}

template <class T>
const Schema<T>& schema_of() {
  static const Schema<T> schema = [] {
    Schema<T> s;
    Describe<T>::schema(s);
    return s;
  }();
  return schema;
}

}  // namespace svckit::json
