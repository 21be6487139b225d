#pragma once
// The attribute schemas of licence types: a small subset of JSON Schema, enough to say what a
// licence type's attributes are.
//   {"type": "object", "required": ["name"], "additionalProperties": false,
//    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100},
//                   "class": {"type": "string", "enum": ["A", "B", "C"]},
//                   "seats": {"type": "integer", "minimum": 1, "maximum": 60},
//                   "commercial": {"type": "boolean"}}}
// Understood: at the top, type (must be "object"), required, properties, additionalProperties (a
// boolean; default true); per property, type ("string", "integer" or "boolean"), maxLength and
// minLength (in characters, for strings), enum (values of the property's type), minimum and maximum
// (integers). Any other keyword makes compile() fail, so that a catalogue entry never silently means
// less than it says.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "canonical.hpp"

namespace svckit::license {

class AttributeSchema {
 public:
  // INVALID_ARGUMENT naming the keyword at fault.
  static Result<AttributeSchema> compile(std::string_view schema_json);

  // Every problem of `attributes`, by field path ("attributes.class" → "must be one of A, B, C");
  // empty when it conforms.
  std::map<std::string, std::string> check(const Value& attributes, std::string_view path = "attributes") const;

 private:
  struct Property {
    Value::Kind type = Value::Kind::kString;
    std::optional<std::size_t> min_length, max_length;
    std::optional<std::int64_t> minimum, maximum;
    std::vector<Value> allowed;  // enum
  };
  std::vector<std::string> required_;
  std::vector<std::pair<std::string, Property>> properties_;
  bool additional_ = true;
};

}  // namespace svckit::license
