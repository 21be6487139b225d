#include "render.hpp"

#include <gtest/gtest.h>

namespace svckit::cli {
namespace {

Vars vars(std::initializer_list<std::string> flags = {}) {
  Vars v = service_vars("order-book");
  v.values["db"] = "sqlite";
  for (const auto& f : flags) v.flags.insert(f);
  return v;
}

TEST(RenderTest, NameForms) {
  Vars v = service_vars("order-book2");
  EXPECT_EQ(v.values["name"], "order-book2");
  EXPECT_EQ(v.values["name_snake"], "order_book2");
  EXPECT_EQ(v.values["Name"], "OrderBook2");
  EXPECT_EQ(v.values["NAME"], "ORDER_BOOK2");
}

TEST(RenderTest, Values) {
  auto r = render("namespace {{name_snake}} { // {{Name}} on {{db}}\n", vars());
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.text, "namespace order_book { // OrderBook on sqlite\n");
}

TEST(RenderTest, SectionsInlineAndOnTheirOwnLines) {
  const std::string t =
      "a{{#grpc}} grpc{{/grpc}}{{^grpc}} plain{{/grpc}}\n"
      "{{#grpc}}\n"
      "only grpc\n"
      "  {{#postgres}}\n"
      "grpc and postgres\n"
      "  {{/postgres}}\n"
      "{{/grpc}}\n"
      "end\n";
  EXPECT_EQ(render(t, vars()).text, "a plain\nend\n");
  EXPECT_EQ(render(t, vars({"grpc"})).text, "a grpc\nonly grpc\nend\n");
  EXPECT_EQ(render(t, vars({"grpc", "postgres"})).text, "a grpc\nonly grpc\ngrpc and postgres\nend\n");
}

TEST(RenderTest, ATagAtTheStartOrEndOfTheText) {
  EXPECT_EQ(render("{{#grpc}}\nx\n{{/grpc}}", vars({"grpc"})).text, "x\n");
  EXPECT_EQ(render("{{name}}", vars()).text, "order-book");
}

TEST(RenderTest, ErrorsNameTheLine) {
  EXPECT_EQ(render("ok\n{{nmae}}\n", vars()).error, "line 2: unknown key {{nmae}}");
  EXPECT_EQ(render("{{#grpc}}\n", vars()).error, "{{#grpc}} is never closed");
  EXPECT_EQ(render("{{#grpc}}{{/postgres}}", vars()).error, "line 1: {{/postgres}} closes no open section");
  EXPECT_EQ(render("{{#grpc}}{{nmae}}{{/grpc}}", vars()).error, "");  // skipped text is not looked at
}

TEST(RenderTest, Paths) {
  EXPECT_EQ(render_path("internal/{{name}}/service.cpp", vars()).text, "internal/order-book/service.cpp");
  EXPECT_EQ(render_path("api/{{name}}/v1/{{name_snake}}.proto.if-grpc", vars()).text, "");
  EXPECT_EQ(render_path("api/{{name}}/v1/{{name_snake}}.proto.if-grpc", vars({"grpc"})).text,
            "api/order-book/v1/order_book.proto");
  EXPECT_EQ(render_path("a.if-grpc/b.txt", vars()).text, "a.if-grpc/b.txt");  // only file names
}

TEST(RenderTest, ServiceNames) {
  for (const char* ok : {"demo", "ab", "order-book", "svc2", "a123456789012345678901234567890"})  // 31: the longest
    EXPECT_TRUE(valid_service_name(ok)) << ok;
  for (const char* bad :
       {"", "a", "Demo", "1demo", "demo_x", "demo-", "-demo", "de mo", "a1234567890123456789012345678901"})
    EXPECT_FALSE(valid_service_name(bad)) << bad;
}

}  // namespace
}  // namespace svckit::cli
