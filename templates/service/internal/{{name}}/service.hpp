#pragma once
// The business layer: the rules of items (names are trimmed and required, a missing item is
// ITEM_NOT_FOUND, an update never loses a concurrent change), independent of HTTP{{#grpc}} and gRPC{{/grpc}}.
// Handlers call it; it calls the repository.
#include <memory>
#include <string>

#include "{{name}}/item.hpp"
#include "{{name}}/repository.hpp"

namespace {{name_snake}} {

// What a client may set on an item (POST and PUT bodies).
struct ItemInput {
  std::string name;
  std::string description;
  static void json_schema(svckit::json::Schema<ItemInput>& s) {
    s.reject_unknown();
    s.field("name", &ItemInput::name).required().length(1, 100);
    s.field("description", &ItemInput::description).length(0, 1000);
  }
};

// Arguments are taken by reference: callers name them before the co_await (GCC 12's coroutine rule).
class ItemService {
 public:
  explicit ItemService(ItemRepository repo) : repo_(std::move(repo)) {}

  svckit::Task<svckit::Result<Item>> create(const svckit::Context& ctx, const ItemInput& in) const;
  svckit::Task<svckit::Result<Item>> get(const svckit::Context& ctx, std::int64_t id) const;
  svckit::Task<svckit::Result<Item>> update(const svckit::Context& ctx, std::int64_t id, const ItemInput& in) const;
  svckit::Task<svckit::Status> remove(const svckit::Context& ctx, std::int64_t id) const;
  svckit::Task<svckit::Result<ItemPage>> list(const svckit::Context& ctx, const std::string& cursor,
                                              std::size_t limit) const;

 private:
  ItemRepository repo_;
};

svckit::Status item_not_found(std::int64_t id);

}  // namespace {{name_snake}}
