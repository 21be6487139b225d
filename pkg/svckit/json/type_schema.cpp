#include "svckit/json/type_schema.hpp"

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "svckit/json/schema.hpp"

namespace svckit::json {

SchemaObject& SchemaObject::set(std::string_view key, std::string value_json) {
  for (auto& [k, v] : keywords_) {
    if (k == key) {
      v = std::move(value_json);
      return *this;
    }
  }
  keywords_.emplace_back(std::string(key), std::move(value_json));
  return *this;
}

const std::string* SchemaObject::get(std::string_view key) const noexcept {
  for (const auto& [k, v] : keywords_)
    if (k == key) return &v;
  return nullptr;
}

void SchemaObject::erase(std::string_view key) {
  std::erase_if(keywords_, [&](const auto& kv) { return kv.first == key; });
}

std::string SchemaObject::text() const {
  std::string out = "{";
  for (const auto& [k, v] : keywords_) {
    if (out.size() > 1) out += ',';
    append_string(out, k);
    out += ':';
    out += v;
  }
  out += '}';
  return out;
}

void apply_facts(SchemaObject& o, const FieldFacts& f) {
  const std::string* type = o.get("type");
  bool is_array = type && *type == "\"array\"";
  bool is_object = type && *type == "\"object\"";
  const char* min_key = is_array ? "minItems" : is_object ? "minProperties" : "minLength";
  const char* max_key = is_array ? "maxItems" : is_object ? "maxProperties" : "maxLength";
  if (f.min_length) o.set(min_key, std::to_string(*f.min_length));
  if (f.max_length) o.set(max_key, std::to_string(*f.max_length));
  if (!f.minimum.empty()) o.set("minimum", f.minimum);
  if (!f.maximum.empty()) o.set("maximum", f.maximum);
  if (!f.enum_values.empty()) {
    std::string list = "[";
    for (const auto& v : f.enum_values) list += (list.size() > 1 ? "," : "") + v;
    o.set("enum", list + "]");
  }
  if (!f.format.empty()) o.set("format", detail::json_string(f.format));
  if (!f.pattern.empty()) o.set("pattern", detail::json_string(f.pattern));
  if (!f.description.empty()) o.set("description", detail::json_string(f.description));
  if (!f.examples.empty()) {
    std::string list = "[";
    for (const auto& v : f.examples) list += (list.size() > 1 ? "," : "") + v;
    o.set("examples", list + "]");
  }
}

void make_nullable(SchemaObject& o) {
  if (const std::string* ref = o.get("$ref")) {
    // 2020-12 allows keywords beside $ref, but "or null" needs a choice between two schemas.
    std::string either = "[{\"$ref\":" + *ref + "},{\"type\":\"null\"}]";
    o.erase("$ref");
    o.set("anyOf", std::move(either));
    return;
  }
  if (const std::string* type = o.get("type"); type && type->front() == '"') o.set("type", "[" + *type + ",\"null\"]");
  if (const std::string* list = o.get("enum"); list && list->size() >= 2) {
    std::string with_null = list->substr(0, list->size() - 1);
    with_null += with_null.size() > 1 ? ",null]" : "null]";
    o.set("enum", std::move(with_null));
  }
}

namespace detail {

std::string json_string(std::string_view s) {
  std::string out;
  append_string(out, s);
  return out;
}

namespace {
// "svckit::user::CreateUser" → "CreateUser"; "Page<svckit::User>" → "Page_User_": names usable in a
// JSON pointer and as an OpenAPI component key ([A-Za-z0-9._-]).
std::string readable_name(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> demangled(abi::__cxa_demangle(type.name(), nullptr, nullptr, &status),
                                                        &std::free);
  std::string text = status == 0 && demangled ? demangled.get() : type.name();
  // "(anonymous namespace)" and the "()" of a function that holds a local struct say nothing here.
  std::string full;
  int depth = 0;
  for (char c : text) {
    if (c == '(') ++depth;
    if (depth == 0) full += c;
    if (c == ')' && depth > 0) --depth;
  }
  std::string out;
  std::size_t word = 0;  // where the current qualified name's last component starts in out
  for (std::size_t i = 0; i < full.size(); ++i) {
    char c = full[i];
    if (c == ':' && i + 1 < full.size() && full[i + 1] == ':') {
      out.resize(word);  // drop the namespace just read
      ++i;
    } else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') {
      out += c;
    } else if (c != ' ') {
      out += '_';
      word = out.size();
    }
  }
  return out.empty() ? "Type" : out;
}
}  // namespace

}  // namespace detail

std::string SchemaSet::define(const std::type_info& type, std::string_view name_hint,
                              const std::function<std::string(SchemaSet&)>& make) {
  for (const auto& [t, name] : names_)
    if (*t == type) return prefix_ + name;
  std::string base = name_hint.empty() ? detail::readable_name(type) : std::string(name_hint);
  std::string name = base;
  auto taken = [&](const std::string& n) {
    if (std::find(reserved_.begin(), reserved_.end(), n) != reserved_.end()) return true;
    for (const auto& [t, existing] : names_)
      if (existing == n) return true;
    return false;
  };
  for (int i = 2; taken(name); ++i) name = base + std::to_string(i);
  names_.emplace(&type, name);
  // Reserved before it is made, so that a struct that contains itself refers to its own name.
  std::size_t slot = definitions_.size();
  definitions_.emplace_back(name, std::string());
  std::string text = make(*this);
  definitions_[slot].second = std::move(text);
  return prefix_ + name;
}

std::string object_schema(const std::vector<FieldSpec>& fields, bool reject_unknown, SchemaSet& set) {
  SchemaObject o;
  o.set("type", "\"object\"");
  std::string properties = "{";
  std::string required = "[";
  for (const auto& f : fields) {
    SchemaObject field;
    if (f.type_schema) f.type_schema(field, set);
    apply_facts(field, f.facts);
    if (f.is_null) make_nullable(field);
    if (properties.size() > 1) properties += ',';
    append_string(properties, f.name);
    properties += ':';
    properties += field.text();
    if (f.required) {
      if (required.size() > 1) required += ',';
      append_string(required, f.name);
    }
  }
  o.set("properties", properties + "}");
  if (required.size() > 1) o.set("required", required + "]");
  if (reject_unknown) o.set("additionalProperties", "false");
  return o.text();
}

}  // namespace svckit::json
