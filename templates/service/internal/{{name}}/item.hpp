#pragma once
// The example resource. One struct is the JSON body (json_schema: names, validation) and the table's
// row (db::Repository<Item> maps the same fields to columns; row_schema adds the version, which the
// API shows as the ETag rather than in the body).
#include <cstdint>
#include <string>
#include <svckit/db/mapping.hpp>
#include <svckit/json/json.hpp>
#include <vector>

namespace {{name_snake}} {

struct Item {
  std::int64_t id = 0;
  std::string name;
  std::string description;
  std::int64_t version = 0;
  static void json_schema(svckit::json::Schema<Item>& s) {
    s.field("id", &Item::id);
    s.field("name", &Item::name).required().length(1, 100);
    s.field("description", &Item::description).length(0, 1000);
  }
  static void row_schema(svckit::db::RowSchema<Item>& s) { s.field("version", &Item::version); }
};

// One page of a listing: GET /v1/items?limit=N&cursor=C.
struct ItemPage {
  std::vector<Item> items;
  std::string next_cursor;  // "" on the last page
  static void json_schema(svckit::json::Schema<ItemPage>& s) {
    s.field("items", &ItemPage::items);
    s.field("next_cursor", &ItemPage::next_cursor).omit_empty();
  }
};

}  // namespace {{name_snake}}
