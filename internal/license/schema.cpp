#include "schema.hpp"

#include "svckit/json/reader.hpp"

namespace svckit::license {

namespace {

Status bad_schema(std::string_view where, std::string why) {
  return Status(Code::kInvalidArgument, "BAD_SCHEMA", "attribute schema: " + std::string(where) + ": " + why);
}

Result<std::size_t> count(const Value& v, std::string_view where) {
  if (v.kind != Value::Kind::kInteger || v.integer < 0) return make_error(bad_schema(where, "must be an integer ≥ 0"));
  return static_cast<std::size_t>(v.integer);
}

bool same(const Value& a, const Value& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Value::Kind::kBool:
      return a.boolean == b.boolean;
    case Value::Kind::kInteger:
      return a.integer == b.integer;
    case Value::Kind::kString:
      return a.string == b.string;
    default:
      return canonical(a) == canonical(b);
  }
}

}  // namespace

Result<AttributeSchema> AttributeSchema::compile(std::string_view schema_json) {
  auto doc = parse(schema_json, "schema");
  if (!doc) return make_error(bad_schema("", std::string(doc.error().message())));
  if (!doc->is_object()) return make_error(bad_schema("", "must be an object"));
  AttributeSchema s;
  for (const auto& [key, v] : doc->members) {
    if (key == "type") {
      if (v.kind != Value::Kind::kString || v.string != "object")
        return make_error(bad_schema(key, "must be \"object\""));
    } else if (key == "required") {
      if (v.kind != Value::Kind::kArray) return make_error(bad_schema(key, "must be an array of names"));
      for (const auto& item : v.items) {
        if (item.kind != Value::Kind::kString) return make_error(bad_schema(key, "must be an array of names"));
        s.required_.push_back(item.string);
      }
    } else if (key == "additionalProperties") {
      if (v.kind != Value::Kind::kBool) return make_error(bad_schema(key, "must be a boolean"));
      s.additional_ = v.boolean;
    } else if (key == "properties") {
      if (!v.is_object()) return make_error(bad_schema(key, "must be an object"));
      for (const auto& [name, def] : v.members) {
        std::string where = "properties." + name;
        if (!def.is_object()) return make_error(bad_schema(where, "must be an object"));
        Property p;
        const Value* type = def.find("type");
        if (!type || type->kind != Value::Kind::kString) return make_error(bad_schema(where, "needs a type"));
        if (type->string == "string")
          p.type = Value::Kind::kString;
        else if (type->string == "integer")
          p.type = Value::Kind::kInteger;
        else if (type->string == "boolean")
          p.type = Value::Kind::kBool;
        else
          return make_error(bad_schema(where + ".type", "must be string, integer or boolean"));
        for (const auto& [kw, kv] : def.members) {
          std::string at = where + "." + kw;
          if (kw == "type" || kw == "title" || kw == "description") continue;
          if ((kw == "maxLength" || kw == "minLength") && p.type == Value::Kind::kString) {
            auto n = count(kv, at);
            if (!n) return make_error(n.error());
            (kw == "maxLength" ? p.max_length : p.min_length) = *n;
          } else if ((kw == "minimum" || kw == "maximum") && p.type == Value::Kind::kInteger) {
            if (kv.kind != Value::Kind::kInteger) return make_error(bad_schema(at, "must be an integer"));
            (kw == "minimum" ? p.minimum : p.maximum) = kv.integer;
          } else if (kw == "enum") {
            if (kv.kind != Value::Kind::kArray || kv.items.empty())
              return make_error(bad_schema(at, "must be a non-empty array"));
            for (const auto& item : kv.items)
              if (item.kind != p.type) return make_error(bad_schema(at, "values must be of the property's type"));
            p.allowed = kv.items;
          } else {
            return make_error(bad_schema(at, "is not a keyword this validator understands"));
          }
        }
        s.properties_.emplace_back(name, std::move(p));
      }
    } else if (key != "title" && key != "description" && key != "$schema") {
      return make_error(bad_schema(key, "is not a keyword this validator understands"));
    }
  }
  return s;
}

std::map<std::string, std::string> AttributeSchema::check(const Value& attributes, std::string_view path) const {
  std::map<std::string, std::string> errors;
  std::string base(path);
  if (!attributes.is_object()) {
    errors[base] = "must be a JSON object";
    return errors;
  }
  for (const auto& name : required_)
    if (!attributes.find(name)) errors[base + "." + name] = "is required";
  for (const auto& [name, v] : attributes.members) {
    std::string at = base + "." + name;
    const Property* p = nullptr;
    for (const auto& [n, prop] : properties_)
      if (n == name) p = &prop;
    if (!p) {
      if (!additional_) errors[at] = "is not an attribute of this licence type";
      continue;
    }
    if (v.kind != p->type) {
      errors[at] =
          "must be " + std::string(p->type == Value::Kind::kInteger ? "an " : "a ") + std::string(kind_name(p->type));
      continue;
    }
    if (p->type == Value::Kind::kString) {
      std::size_t chars = json::utf8_length(v.string);
      if (p->max_length && chars > *p->max_length)
        errors[at] = "must be at most " + std::to_string(*p->max_length) + " characters";
      if (p->min_length && chars < *p->min_length)
        errors[at] = "must be at least " + std::to_string(*p->min_length) + " characters";
    }
    if (p->type == Value::Kind::kInteger) {
      if (p->minimum && v.integer < *p->minimum) errors[at] = "must be ≥ " + std::to_string(*p->minimum);
      if (p->maximum && v.integer > *p->maximum) errors[at] = "must be ≤ " + std::to_string(*p->maximum);
    }
    if (!p->allowed.empty()) {
      bool found = false;
      for (const auto& a : p->allowed) found = found || same(a, v);
      if (!found) {
        std::string list;
        for (const auto& a : p->allowed) list += (list.empty() ? "" : ", ") + canonical(a);
        errors[at] = "must be one of " + list;
      }
    }
  }
  return errors;
}

}  // namespace svckit::license
