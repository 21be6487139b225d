#pragma once
// Internal: what Repository<T> is made of, without T. The statements are built once, at construction,
// from validated identifiers (quoted, never from input); values always go in as parameters.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "svckit/core/context.hpp"
#include "svckit/core/status.hpp"
#include "svckit/core/task.hpp"
#include "svckit/db/detail/mapping.hpp"
#include "svckit/db/value.hpp"

namespace svckit::db {
class Executor;
struct TableOptions;
struct Where;
struct RepositorySql;
}  // namespace svckit::db

namespace svckit::db::detail {

class TableSql {
 public:
  // Throws std::invalid_argument when the options do not fit the map (see TableOptions). `probe` is a
  // default-constructed T: the types of its page key fields are what cursors must hold.
  TableSql(const TableMap& map, TableOptions options, const void* probe);
  ~TableSql();

  const RepositorySql& sql() const noexcept { return *sql_; }
  const std::string& columns() const noexcept { return columns_; }

  Status insert_params(const void* obj, Params& out) const;
  Status update_params(const void* obj, Params& out) const;
  Status id_of(const void* obj, Param& out) const;
  std::optional<std::int64_t> version_of(const void* obj) const;

  // The NOT_FOUND a missing row answers, naming the table and the id.
  Status not_found(const Param& id) const;
  // Why an UPDATE or DELETE that expected `version` found no row: NOT_FOUND when the row is gone,
  // ABORTED/VERSION_CONFLICT (with the version it is at) when it changed since it was read.
  Task<Status> explain_missing(Executor& ex, const Context& ctx, Param id, std::optional<std::int64_t> version) const;

  struct Query {
    std::string sql;
    Params params;
  };
  Result<Query> page_query(std::string_view cursor, std::size_t limit, const Where& where) const;
  Query find_query(const Where& where) const;
  Result<std::string> cursor_after(const void* obj, const Where& where) const;

  bool versioned() const noexcept { return version_ != nullptr; }

 private:
  std::string listing(const Where& where) const;

  const TableMap& map_;
  std::string table_;  // as given, for messages
  std::string quoted_table_;
  std::string columns_;  // quoted, comma separated, in the map's order
  const MappedField* id_ = nullptr;
  const MappedField* version_ = nullptr;
  std::vector<const MappedField*> insert_;  // in the order of the INSERT's parameters
  std::vector<const MappedField*> update_;
  std::vector<const MappedField*> key_;
  std::vector<std::uint8_t> key_tags_;
  bool descending_ = false;
  std::string secret_;
  std::string order_by_;
  std::string key_tuple_;  // "id" or ("a", "id")
  std::unique_ptr<RepositorySql> sql_;
};

}  // namespace svckit::db::detail
