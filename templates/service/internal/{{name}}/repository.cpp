#include "{{name}}/repository.hpp"

namespace {{name_snake}} {

namespace {

svckit::db::TableOptions item_table(std::string cursor_secret) {
  svckit::db::TableOptions t;
  t.table = "items";
  t.version = "version";  // insert writes 1, update requires the version read and adds 1
  t.cursor_secret = std::move(cursor_secret);
  return t;
}

}  // namespace

ItemRepository::ItemRepository(std::shared_ptr<svckit::db::Database> db, std::string cursor_secret)
    : db_(std::move(db)), items_(item_table(std::move(cursor_secret))) {}

svckit::Task<svckit::Result<Item>> ItemRepository::insert(const svckit::Context& ctx, const Item& item) const {
  co_return co_await items_.insert(*db_, ctx, item);
}

svckit::Task<svckit::Result<Item>> ItemRepository::get(const svckit::Context& ctx, std::int64_t id) const {
  svckit::db::Param key(id);
  co_return co_await items_.get(*db_, ctx, key);
}

svckit::Task<svckit::Result<Item>> ItemRepository::update(const svckit::Context& ctx, const Item& item) const {
  co_return co_await items_.update(*db_, ctx, item);
}

svckit::Task<svckit::Status> ItemRepository::remove(const svckit::Context& ctx, std::int64_t id) const {
  svckit::db::Param key(id);
  co_return co_await items_.remove(*db_, ctx, key);
}

svckit::Task<svckit::Result<svckit::db::Page<Item>>> ItemRepository::page(const svckit::Context& ctx,
                                                                          const std::string& cursor,
                                                                          std::size_t limit) const {
  // Arguments named, never built inside the co_await (GCC 12 mishandles temporaries with non-trivial
  // members there: docs/architecture.md in svckit), default arguments included.
  svckit::db::PageRequest request;
  request.cursor = cursor;
  request.limit = limit;
  svckit::db::Where all;
  co_return co_await items_.page(*db_, ctx, request, all);
}

}  // namespace {{name_snake}}
