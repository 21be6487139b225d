#include "{{name}}/service.hpp"

namespace {{name_snake}} {

namespace {

using svckit::Code;
using svckit::Status;

std::string trim(std::string s) {
  std::size_t b = s.find_first_not_of(" \t\r\n");
  std::size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

Status validate(const ItemInput& in) {
  if (in.name.empty())
    return Status(Code::kInvalidArgument, "VALIDATION_FAILED", "name is required").with_metadata("name", "is required");
  return {};
}

}  // namespace

Status item_not_found(std::int64_t id) {
  return Status(Code::kNotFound, "ITEM_NOT_FOUND", "item " + std::to_string(id) + " not found");
}

svckit::Task<svckit::Result<Item>> ItemService::create(const svckit::Context& ctx, const ItemInput& input) const {
  ItemInput in = input;
  in.name = trim(std::move(in.name));
  if (Status st = validate(in); !st.ok()) co_return svckit::make_error(st);
  Item item;
  item.name = std::move(in.name);
  item.description = std::move(in.description);
  co_return co_await repo_.insert(ctx, item);
}

svckit::Task<svckit::Result<Item>> ItemService::get(const svckit::Context& ctx, std::int64_t id) const {
  auto item = co_await repo_.get(ctx, id);
  if (!item && item.error().code() == Code::kNotFound) co_return svckit::make_error(item_not_found(id));
  co_return item;
}

// Read, change, write at the version read; a concurrent writer makes the write fail and it is done
// again on the row as it is now.
svckit::Task<svckit::Result<Item>> ItemService::update(const svckit::Context& ctx, std::int64_t id,
                                                       const ItemInput& input) const {
  ItemInput in = input;
  in.name = trim(std::move(in.name));
  if (Status st = validate(in); !st.ok()) co_return svckit::make_error(st);
  for (int attempt = 0;; ++attempt) {
    auto item = co_await get(ctx, id);
    if (!item) co_return item;
    item->name = in.name;
    item->description = in.description;
    auto saved = co_await repo_.update(ctx, *item);
    if (saved || saved.error().reason() != "VERSION_CONFLICT" || attempt == 4) {
      if (!saved && saved.error().code() == Code::kNotFound) co_return svckit::make_error(item_not_found(id));
      co_return saved;
    }
  }
}

svckit::Task<Status> ItemService::remove(const svckit::Context& ctx, std::int64_t id) const {
  Status st = co_await repo_.remove(ctx, id);
  if (st.code() == Code::kNotFound) co_return item_not_found(id);
  co_return st;
}

svckit::Task<svckit::Result<ItemPage>> ItemService::list(const svckit::Context& ctx, const std::string& cursor,
                                                         std::size_t limit) const {
  auto page = co_await repo_.page(ctx, cursor, limit);
  if (!page && page.error().reason() == "BAD_CURSOR")
    co_return svckit::make_error(Status(Code::kInvalidArgument, "VALIDATION_FAILED", "cursor is not valid")
                                     .with_metadata("cursor", "must be a next_cursor value"));
  if (!page) co_return svckit::make_error(page.error());
  co_return ItemPage{std::move(page->items), std::move(page->next_cursor)};
}

}  // namespace {{name_snake}}
