#pragma once
// Typed binding of configuration into plain structs. A struct describes its keys once; the defaults
// are its member initialisers:
//
// ```cpp
//   struct HttpConfig {
//     std::string listen = "0.0.0.0:8080";
//     std::chrono::milliseconds read_timeout{5000};
//     config::ByteSize max_body = 4_MiB;
//     std::string mode = "release";
//     static void describe(config::Binder<HttpConfig>& b) {
//       b.field("listen", &HttpConfig::listen).non_empty();
//       b.field("read_timeout", &HttpConfig::read_timeout).range(1ms, 5min);
//       b.field("max_body", &HttpConfig::max_body).range(1_KiB, 1_GiB);
//       b.field("mode", &HttpConfig::mode).one_of({"debug", "release"});
//     }
//   };
// ```
//
// Supported member types: std::string, bool, integers, floating point, std::chrono::duration,
// ByteSize, std::vector<std::string>, enums with names (below), nested structs with their own
// describe() (b.section), and lists and maps of such structs, bound from YAML sequences and maps:
//
// ```cpp
//   enum class Mode { kDebug, kRelease };
//   constexpr auto config_names(Mode) {              // found by ADL, beside the enum
//     return std::array{std::pair{Mode::kDebug, "debug"}, std::pair{Mode::kRelease, "release"}};
//   }
//   struct Upstream {
//     std::string name;
//     std::chrono::milliseconds timeout{1000};
//     static void describe(config::Binder<Upstream>& b) {
//       b.field("name", &Upstream::name).required();
//       b.field("timeout", &Upstream::timeout).range(1ms, 1min);
//     }
//   };
//   struct Settings {
//     Mode mode = Mode::kRelease;
//     std::vector<Upstream> upstreams;                   // upstreams: [{name: billing, timeout: 2s}, ...]
//     std::map<std::string, Upstream> routes;            // routes: {billing: {timeout: 2s}, ...}
//     static void describe(config::Binder<Settings>& b) {
//       b.field("mode", &Settings::mode);                // "fast" → "is not one of: debug, release"
//       b.field("upstreams", &Settings::upstreams);      // errors name upstreams[2].timeout
//       b.field("routes", &Settings::routes);            // and routes.billing.timeout
//     }
//   };
// ```
// A describe() with lists or maps is defined where svckit/config/config.hpp is included (it defines
// the list binders).
#include <algorithm>
#include <charconv>
#include <chrono>
#include <concepts>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "svckit/config/layer.hpp"
#include "svckit/config/units.hpp"
#include "svckit/core/status.hpp"
#include "svckit/core/strings.hpp"

namespace svckit::config {

template <class M>
struct Codec;

struct Snapshot;
template <class T>
class Binder;

// A struct that describes its keys (static void describe(Binder<S>&)).
template <class S>
concept Described = requires(Binder<S>& b) {
  S::describe(b);
};

// An enum with config_names(E) → a range of {value, "name"} pairs, found by argument-dependent lookup.
template <class E>
concept NamedEnum = std::is_enum_v<E> && requires(E e) {
  config_names(e);
};

template <NamedEnum E>
struct Codec<E> {
  static Status parse(const Entry& e, E& out) {
    std::string allowed;
    for (const auto& [value, name] : config_names(E{})) {
      if (e.value == name) {
        out = value;
        return {};
      }
      allowed += (allowed.empty() ? "" : ", ") + std::string(name);
    }
    return Status(Code::kInvalidArgument, "\"" + e.value + "\" is not one of: " + allowed);
  }
  static std::string format(E v) {
    for (const auto& [value, name] : config_names(E{}))
      if (value == v) return std::string(name);
    return std::to_string(static_cast<long long>(v));
  }
};

template <>
struct Codec<std::string> {
  static Status parse(const Entry& e, std::string& out) {
    out = e.value;
    return {};
  }
  static std::string format(const std::string& v) { return v; }
};

template <>
struct Codec<bool> {
  static Status parse(const Entry& e, bool& out) {
    std::string v = ascii_lower(e.value);
    if (v == "true" || v == "yes" || v == "on" || v == "1") return out = true, Status();
    if (v == "false" || v == "no" || v == "off" || v == "0") return out = false, Status();
    return Status(Code::kInvalidArgument, "\"" + e.value + "\" is not a boolean (true/false)");
  }
  static std::string format(bool v) { return v ? "true" : "false"; }
};

template <class M>
requires(std::is_integral_v<M> && !std::is_same_v<M, bool>) struct Codec<M> {
  static Status parse(const Entry& e, M& out) {
    const char* b = e.value.data();
    const char* end = b + e.value.size();
    auto r = std::from_chars(b, end, out);
    if (r.ec == std::errc::result_out_of_range)
      return Status(Code::kOutOfRange, "\"" + e.value + "\" does not fit in this integer");
    if (r.ec != std::errc() || r.ptr != end)
      return Status(Code::kInvalidArgument, "\"" + e.value + "\" is not an integer");
    return {};
  }
  static std::string format(M v) { return std::to_string(v); }
};

template <std::floating_point M>
struct Codec<M> {
  static Status parse(const Entry& e, M& out) {
    const char* b = e.value.data();
    const char* end = b + e.value.size();
    auto r = std::from_chars(b, end, out);
    if (r.ec != std::errc() || r.ptr != end)
      return Status(Code::kInvalidArgument, "\"" + e.value + "\" is not a number");
    return {};
  }
  static std::string format(M v) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
  }
};

template <class Rep, class Period>
struct Codec<std::chrono::duration<Rep, Period>> {
  using D = std::chrono::duration<Rep, Period>;
  static Status parse(const Entry& e, D& out) {
    auto d = parse_duration(e.value);
    if (!d) return d.error();
    out = std::chrono::duration_cast<D>(*d);
    if (std::chrono::duration_cast<std::chrono::nanoseconds>(out) != *d)
      return Status(Code::kInvalidArgument, "\"" + e.value + "\" is finer than this setting's resolution");
    return {};
  }
  static std::string format(D v) { return format_duration(std::chrono::duration_cast<std::chrono::nanoseconds>(v)); }
};

template <>
struct Codec<ByteSize> {
  static Status parse(const Entry& e, ByteSize& out) {
    auto s = parse_size(e.value);
    if (!s) return s.error();
    out = *s;
    return {};
  }
  static std::string format(ByteSize v) { return format_size(v); }
};

template <>
struct Codec<std::vector<std::string>> {
  static Status parse(const Entry& e, std::vector<std::string>& out) {
    out.clear();
    if (e.is_list) {
      out = e.items;
      return {};
    }
    // From env vars and flags: comma-separated.
    std::string_view v = e.value;
    while (!v.empty()) {
      auto comma = v.find(',');
      std::string_view item = v.substr(0, comma);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (!item.empty()) out.emplace_back(item);
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
    return {};
  }
  static std::string format(const std::vector<std::string>& v) {
    std::string out;
    for (auto& s : v) out += (out.empty() ? "" : ",") + s;
    return out;
  }
};

// One key of a struct, type-erased over the struct's address.
struct FieldSpec {
  std::string key;  // relative to the section
  bool required = false;
  bool secret = false;
  std::string doc;
  std::function<Status(const Entry&, void*)> assign;
  std::function<std::string(const void*)> format;
  std::vector<std::function<Status(const void*)>> checks;
  // A list or map of described structs: bound from every key under its own (key.N.field for a list,
  // key.NAME.field for a map) instead of from one entry, and its defaults written as such keys.
  std::function<void(const Snapshot&, const std::string& key, void* obj, std::vector<std::string>& errors)> bind_tree;
  std::function<void(const void* obj, const std::string& key, Layer& out)> defaults_tree;
  // The keys one item may have, relative to the item ("timeout", "tls.cert"); subtrees end in '.'.
  std::vector<std::string> item_keys;
  std::vector<std::string> secret_item_keys;  // those of item_keys marked secret()
  // Receives the keys the configuration set (not the defaults): see Binder::keys_set.
  std::function<void(std::vector<std::string>, void*)> record_set;
};

namespace detail {
// A list or map given a value of its own: `key: []` (or `{}`) empties it; anything else is an error.
template <class C>
Status clear_if_empty(const Entry& e, C& container) {
  if ((e.is_list && e.items.empty()) || e.value.empty() || e.value == "{}" || e.value == "[]") {
    container.clear();
    return {};
  }
  return Status(Code::kInvalidArgument, "expected a list or map of settings, got \"" + e.value + "\"");
}
// Defined in config.hpp, where Snapshot is complete.
template <Described S>
void bind_list(const Snapshot& snap, const std::string& key, std::vector<S>& out, std::vector<std::string>& errors);
template <Described S>
void bind_map(const Snapshot& snap, const std::string& key, std::map<std::string, S>& out,
              std::vector<std::string>& errors);
// A map of strings (key.name: value); defined in bind.cpp.
void bind_string_map(const Snapshot& snap, const std::string& key, std::map<std::string, std::string>& out,
                     std::vector<std::string>& errors);
template <Described S>
void write_defaults(const S& item, const std::string& prefix, Layer& out);
template <Described S>
std::vector<std::string> item_keys();
template <Described S>
std::vector<std::string> secret_item_keys();
}  // namespace detail

template <class T, class M>
class FieldBuilder {
 public:
  using Format = std::string (*)(const M&);
  explicit FieldBuilder(FieldSpec& spec, M T::*member, Format format = nullptr)
      : spec_(spec), member_(member), format_(format) {}

  // Must be set by a source other than the defaults.
  FieldBuilder& required() {
    spec_.required = true;
    return *this;
  }
  // Redacted in --print-config and /debug/config.
  FieldBuilder& secret() {
    spec_.secret = true;
    return *this;
  }
  FieldBuilder& doc(std::string text) {
    spec_.doc = std::move(text);
    return *this;
  }
  FieldBuilder& range(M lo, M hi) {
    auto member = member_;
    Format fmt = format_ ? format_ : &default_format;
    spec_.checks.push_back([member, lo, hi, fmt](const void* obj) -> Status {
      const M& v = static_cast<const T*>(obj)->*member;
      if (v < lo || hi < v) return Status(Code::kOutOfRange, fmt(v) + " is outside [" + fmt(lo) + ", " + fmt(hi) + "]");
      return {};
    });
    return *this;
  }
  FieldBuilder& one_of(std::initializer_list<M> allowed) {
    std::vector<M> values(allowed);
    auto member = member_;
    spec_.checks.push_back([member, values](const void* obj) -> Status {
      const M& v = static_cast<const T*>(obj)->*member;
      if (std::find(values.begin(), values.end(), v) != values.end()) return {};
      // Built piecewise: "x" + std::string&& trips GCC 12's -Wrestrict at -O3 (PR 105651).
      std::string msg = "\"";
      msg += Codec<M>::format(v);
      msg += "\" is not one of: ";
      for (std::size_t i = 0; i < values.size(); ++i) {
        if (i) msg += ", ";
        msg += Codec<M>::format(values[i]);
      }
      return Status(Code::kInvalidArgument, std::move(msg));
    });
    return *this;
  }
  FieldBuilder& non_empty() {
    auto member = member_;
    spec_.checks.push_back([member](const void* obj) -> Status {
      if ((static_cast<const T*>(obj)->*member).empty()) return Status(Code::kInvalidArgument, "must not be empty");
      return {};
    });
    return *this;
  }
  // Any other rule: pred(value) -> true when valid.
  FieldBuilder& check(std::function<bool(const M&)> pred, std::string message) {
    auto member = member_;
    spec_.checks.push_back([member, pred = std::move(pred), message = std::move(message)](const void* obj) -> Status {
      if (pred(static_cast<const T*>(obj)->*member)) return {};
      return Status(Code::kInvalidArgument, message);
    });
    return *this;
  }

 private:
  static std::string default_format(const M& v) { return Codec<M>::format(v); }
  FieldSpec& spec_;
  M T::*member_;
  Format format_;
};

template <class T>
class Binder {
 public:
  template <class M>
  FieldBuilder<T, M> field(std::string key, M T::*member) {
    auto& spec = specs_.emplace_back();
    spec.key = std::move(key);
    spec.assign = [member](const Entry& e, void* obj) { return Codec<M>::parse(e, static_cast<T*>(obj)->*member); };
    spec.format = [member](const void* obj) { return Codec<M>::format(static_cast<const T*>(obj)->*member); };
    return FieldBuilder<T, M>(spec, member);
  }
  // A list of described structs (a YAML sequence of maps).
  template <Described S>
  FieldBuilder<T, std::vector<S>> field(std::string key, std::vector<S> T::*member) {
    auto& spec = specs_.emplace_back();
    spec.key = std::move(key);
    spec.bind_tree = [member](const Snapshot& snap, const std::string& k, void* obj, std::vector<std::string>& errors) {
      detail::bind_list(snap, k, static_cast<T*>(obj)->*member, errors);
    };
    spec.assign = [member](const Entry& e, void* obj) {
      return detail::clear_if_empty(e, static_cast<T*>(obj)->*member);
    };
    spec.defaults_tree = [member](const void* obj, const std::string& k, Layer& out) {
      const auto& items = static_cast<const T*>(obj)->*member;
      for (std::size_t i = 0; i < items.size(); ++i) detail::write_defaults(items[i], k + "." + std::to_string(i), out);
    };
    spec.item_keys = detail::item_keys<S>();
    spec.secret_item_keys = detail::secret_item_keys<S>();
    return FieldBuilder<T, std::vector<S>>(spec, member);
  }
  // A map of described structs by name (a YAML map of maps).
  template <Described S>
  FieldBuilder<T, std::map<std::string, S>> field(std::string key, std::map<std::string, S> T::*member) {
    auto& spec = specs_.emplace_back();
    spec.key = std::move(key);
    spec.bind_tree = [member](const Snapshot& snap, const std::string& k, void* obj, std::vector<std::string>& errors) {
      detail::bind_map(snap, k, static_cast<T*>(obj)->*member, errors);
    };
    spec.assign = [member](const Entry& e, void* obj) {
      return detail::clear_if_empty(e, static_cast<T*>(obj)->*member);
    };
    spec.defaults_tree = [member](const void* obj, const std::string& k, Layer& out) {
      for (const auto& [name, item] : static_cast<const T*>(obj)->*member)
        detail::write_defaults(item, k + "." + name, out);
    };
    spec.item_keys = detail::item_keys<S>();
    spec.secret_item_keys = detail::secret_item_keys<S>();
    return FieldBuilder<T, std::map<std::string, S>>(spec, member);
  }

  // A map of strings by name (a YAML map of scalars: labels, metadata).
  FieldBuilder<T, std::map<std::string, std::string>> field(std::string key,
                                                            std::map<std::string, std::string> T::*member) {
    auto& spec = specs_.emplace_back();
    spec.key = std::move(key);
    spec.bind_tree = [member](const Snapshot& snap, const std::string& k, void* obj, std::vector<std::string>& errors) {
      detail::bind_string_map(snap, k, static_cast<T*>(obj)->*member, errors);
    };
    spec.assign = [member](const Entry& e, void* obj) {
      return detail::clear_if_empty(e, static_cast<T*>(obj)->*member);
    };
    spec.defaults_tree = [member](const void* obj, const std::string& k, Layer& out) {
      for (const auto& [name, value] : static_cast<const T*>(obj)->*member)
        out[k + "." + name] = Entry{value, {}, false, Origin{"default", 0}};
    };
    return FieldBuilder<T, std::map<std::string, std::string>>(spec, member);
  }

  // An integer member holding a byte count, written with units in configuration ("4MiB", "512KiB").
  template <std::unsigned_integral M>
  FieldBuilder<T, M> bytes(std::string key, M T::*member) {
    auto& spec = specs_.emplace_back();
    spec.key = std::move(key);
    spec.assign = [member](const Entry& e, void* obj) {
      ByteSize size;
      if (auto st = Codec<ByteSize>::parse(e, size); !st.ok()) return st;
      if (size.bytes > std::numeric_limits<M>::max())
        return Status(Code::kOutOfRange, "\"" + e.value + "\" does not fit in this setting");
      static_cast<T*>(obj)->*member = static_cast<M>(size.bytes);
      return Status();
    };
    spec.format = [member](const void* obj) { return format_bytes(static_cast<const T*>(obj)->*member); };
    return FieldBuilder<T, M>(spec, member, &format_bytes<M>);
  }

  // Fills `member` with the keys of this struct that the configuration set, so a struct can be laid
  // over another key by key (a method's policy over its upstream's): see config::overlay.
  void keys_set(std::vector<std::string> T::*member) {
    auto& spec = specs_.emplace_back();
    spec.record_set = [member](std::vector<std::string> keys, void* obj) {
      static_cast<T*>(obj)->*member = std::move(keys);
    };
  }

  // A nested struct with its own describe(), under key prefix `name`; an empty name puts its keys
  // beside this struct's own (a struct reused whole inside a larger section).
  template <class S>
  void section(const std::string& name, S T::*member) {
    Binder<S> inner;
    S::describe(inner);
    for (auto& s : inner.specs_) {
      FieldSpec spec;
      spec.key = name.empty() || s.key.empty() ? name + s.key : name + "." + s.key;
      spec.required = s.required;
      spec.secret = s.secret;
      spec.doc = s.doc;
      spec.item_keys = s.item_keys;
      spec.secret_item_keys = s.secret_item_keys;
      if (s.record_set) {
        // The outer struct records all its keys: pass on those of this section, as the section names them.
        std::vector<std::string> own;
        for (const auto& o : inner.specs_)
          if (!o.record_set) own.push_back(o.key);
        spec.record_set = [member, f = s.record_set, own = std::move(own), name](std::vector<std::string> keys,
                                                                                 void* obj) {
          std::vector<std::string> mine;
          const std::string lead = name.empty() ? std::string() : name + ".";
          for (auto& k : keys)
            if (k.starts_with(lead) && std::find(own.begin(), own.end(), k.substr(lead.size())) != own.end())
              mine.push_back(k.substr(lead.size()));
          f(std::move(mine), &(static_cast<T*>(obj)->*member));
        };
      }
      if (s.assign)
        spec.assign = [member, f = s.assign](const Entry& e, void* obj) {
          return f(e, &(static_cast<T*>(obj)->*member));
        };
      if (s.format)
        spec.format = [member, f = s.format](const void* obj) { return f(&(static_cast<const T*>(obj)->*member)); };
      if (s.bind_tree)
        spec.bind_tree = [member, f = s.bind_tree](const Snapshot& snap, const std::string& k, void* obj,
                                                   std::vector<std::string>& errors) {
          f(snap, k, &(static_cast<T*>(obj)->*member), errors);
        };
      if (s.defaults_tree)
        spec.defaults_tree = [member, f = s.defaults_tree](const void* obj, const std::string& k, Layer& out) {
          f(&(static_cast<const T*>(obj)->*member), k, out);
        };
      for (auto& c : s.checks)
        spec.checks.push_back([member, c](const void* obj) { return c(&(static_cast<const T*>(obj)->*member)); });
      specs_.push_back(std::move(spec));
    }
    // A section's own rules name the section: "db: pool.max_idle: ..." rather than "db: max_idle: ...".
    for (auto& c : inner.validators_)
      validators_.push_back([member, c, name](const T& obj) {
        Status st = c(obj.*member);
        if (st.ok() || name.empty()) return st;
        return Status(st.code(), name + "." + std::string(st.message()));
      });
  }

  // A rule across fields, run after every field bound: return a non-OK Status to reject.
  void validate(std::function<Status(const T&)> rule) { validators_.push_back(std::move(rule)); }

  const std::vector<FieldSpec>& specs() const noexcept { return specs_; }
  const std::vector<std::function<Status(const T&)>>& validators() const noexcept { return validators_; }

 private:
  template <class M>
  static std::string format_bytes(const M& v) {
    return Codec<ByteSize>::format(ByteSize(static_cast<std::uint64_t>(v)));
  }
  template <class>
  friend class Binder;
  std::vector<FieldSpec> specs_;
  std::vector<std::function<Status(const T&)>> validators_;
};

}  // namespace svckit::config
