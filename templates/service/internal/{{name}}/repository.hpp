#pragma once
// The storage layer: the items table through svckit's db::Repository<Item> (generated, parameterised
// SQL; optimistic concurrency on the version column; keyset pages with signed cursors). Nothing above
// this layer writes SQL.
#include <memory>
#include <string>
#include <svckit/core/context.hpp>
#include <svckit/db/database.hpp>
#include <svckit/db/repository.hpp>

#include "{{name}}/item.hpp"

namespace {{name_snake}} {

class ItemRepository {
 public:
  // cursor_secret signs page cursors; the same on every instance ("" : checked, not signed).
  explicit ItemRepository(std::shared_ptr<svckit::db::Database> db, std::string cursor_secret = "");

  svckit::Task<svckit::Result<Item>> insert(const svckit::Context& ctx, const Item& item) const;
  svckit::Task<svckit::Result<Item>> get(const svckit::Context& ctx, std::int64_t id) const;
  // Writes item at item.version: ABORTED/VERSION_CONFLICT when the row changed since it was read.
  svckit::Task<svckit::Result<Item>> update(const svckit::Context& ctx, const Item& item) const;
  svckit::Task<svckit::Status> remove(const svckit::Context& ctx, std::int64_t id) const;
  svckit::Task<svckit::Result<svckit::db::Page<Item>>> page(const svckit::Context& ctx, const std::string& cursor,
                                                            std::size_t limit) const;

 private:
  std::shared_ptr<svckit::db::Database> db_;
  svckit::db::Repository<Item> items_;
};

}  // namespace {{name_snake}}
