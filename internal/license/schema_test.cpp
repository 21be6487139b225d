#include "schema.hpp"

#include <gtest/gtest.h>

namespace svckit::license {
namespace {

constexpr std::string_view kDriving =
    R"({"type":"object","additionalProperties":false,"required":["name","class"],)"
    R"("properties":{"name":{"type":"string","minLength":1,"maxLength":5},"class":{"type":"string","enum":["A1","C1"]},)"
    R"("seats":{"type":"integer","minimum":1,"maximum":60},"donor":{"type":"boolean"}}})";

std::map<std::string, std::string> check(std::string_view attributes, std::string_view schema = kDriving) {
  auto s = AttributeSchema::compile(schema);
  EXPECT_TRUE(s) << (s ? "" : s.error().to_string());
  auto v = parse(attributes);
  EXPECT_TRUE(v);
  return s->check(*v);
}

TEST(LicenseSchema, AcceptsAConformingObject) {
  EXPECT_TRUE(check(R"({"name":"李雷","class":"C1","seats":5,"donor":true})").empty());
}

TEST(LicenseSchema, NamesEveryProblem) {
  auto e = check(R"({"class":"Z9","seats":0,"donor":"yes","colour":"red"})");
  EXPECT_EQ(e.size(), 5u);
  EXPECT_EQ(e["attributes.name"], "is required");
  EXPECT_EQ(e["attributes.class"], "must be one of \"A1\", \"C1\"");
  EXPECT_EQ(e["attributes.seats"], "must be ≥ 1");
  EXPECT_EQ(e["attributes.donor"], "must be a boolean");
  EXPECT_EQ(e["attributes.colour"], "is not an attribute of this licence type");
}

TEST(LicenseSchema, LengthsCountCharactersNotBytes) {
  EXPECT_TRUE(check(R"({"name":"中华人民共","class":"A1"})").empty());  // 5 characters, 15 bytes
  EXPECT_EQ(check(R"({"name":"abcdef","class":"A1"})")["attributes.name"], "must be at most 5 characters");
  EXPECT_EQ(check(R"({"name":"","class":"A1"})")["attributes.name"], "must be at least 1 characters");
  EXPECT_EQ(check(R"({"name":5,"class":"A1"})")["attributes.name"], "must be a string");
  EXPECT_EQ(check(R"({"name":"a","class":"A1","seats":"5"})")["attributes.seats"], "must be an integer");
  EXPECT_EQ(check(R"([1])").begin()->second, "must be a JSON object");
}

TEST(LicenseSchema, AdditionalPropertiesAllowedByDefault) {
  EXPECT_TRUE(check(R"({"x":{"nested":[1]}})", R"({"type":"object","properties":{"y":{"type":"string"}}})").empty());
}

TEST(LicenseSchema, RefusesWhatItDoesNotUnderstand) {
  EXPECT_FALSE(AttributeSchema::compile(R"({"type":"array"})"));
  EXPECT_FALSE(AttributeSchema::compile(R"({"type":"object","patternProperties":{}})"));
  EXPECT_FALSE(AttributeSchema::compile(R"({"properties":{"a":{"type":"number"}}})"));
  EXPECT_FALSE(AttributeSchema::compile(R"({"properties":{"a":{"type":"string","pattern":"x"}}})"));
  EXPECT_FALSE(AttributeSchema::compile(R"({"properties":{"a":{"type":"string","enum":[1]}}})"));
  EXPECT_FALSE(AttributeSchema::compile(R"({"properties":{"a":{"type":"integer","maxLength":3}}})"));
  EXPECT_FALSE(AttributeSchema::compile("not json"));
}

}  // namespace
}  // namespace svckit::license
