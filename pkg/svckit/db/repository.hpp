#pragma once
// Repository<T>: the CRUD trunk of one table for a row-described struct (svckit/db/mapping.hpp), so a
// service does not hand-write column-by-column statements: insert returning the row, get by id,
// update with optimistic concurrency on a version column, delete, keyset pagination with opaque
// signed cursors. Its SQL is generated once, at construction, from identifiers it validates (quoted;
// never from input) with placeholders for every value, and repo.sql() shows it. It runs on any
// Executor: the Database, or a transaction. Anything beyond the trunk stays plain SQL, mapped with
// query_as<T> (repo.columns() is the select list).
//
// ```cpp
//   struct Licence {
//     std::int64_t id = 0;
//     std::string type, number, holder;
//     db::Json attributes;
//     std::int64_t version = 0;
//     static void json_schema(json::Schema<Licence>& s) {
//       s.field("id", &Licence::id);
//       s.field("type", &Licence::type).required();
//       s.field("number", &Licence::number).required();
//       s.field("holder", &Licence::holder).required();
//       s.field("attributes", &Licence::attributes);
//     }
//     static void row_schema(db::RowSchema<Licence>& s) { s.field("version", &Licence::version); }
//   };
//   const db::Repository<Licence>& licences() {  // built once, on first use
//     static const db::Repository<Licence> repo({.table = "licences", .version = "version",
//                                                .insert_only = {"type", "number"},
//                                                .page_key = {"holder", "id"}});
//     return repo;
//   }
//   Task<Status> renew(db::Database& db, const Context& ctx, std::int64_t id, std::int64_t if_match) {
//     auto licence = co_await licences().get(db, ctx, id);
//     if (!licence) co_return licence.error();                  // NOT_FOUND/NO_ROWS
//     licence->version = if_match;                               // the client's ETag
//     licence->attributes = db::Json{R"({"renewed":true})"};
//     auto saved = co_await licences().update(db, ctx, *licence);
//     co_return saved ? Status() : saved.error();                // ABORTED/VERSION_CONFLICT: 412
//   }
//   Task<Result<db::Page<Licence>>> of_holder(db::Database& db, const Context& ctx, std::string holder,
//                                             std::string cursor) {
//     db::Where where{"holder = $1", {std::move(holder)}};      // its own $1..$n; the repository's follow
//     db::PageRequest page{.cursor = std::move(cursor), .limit = 50};   // named, not braced in co_await
//     co_return co_await licences().page(db, ctx, page, where);
//   }
// ```
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "svckit/db/database.hpp"
#include "svckit/db/detail/table_sql.hpp"
#include "svckit/db/mapping.hpp"

namespace svckit::db {

// Which table, and what its columns are for. Every name is a column the struct maps (after its
// row_schema renames) and an identifier [A-Za-z_][A-Za-z0-9_]* (the table may be schema.table); the
// Repository's constructor throws std::invalid_argument otherwise.
struct TableOptions {
  std::string table;
  std::string id = "id";     // the primary key
  bool id_generated = true;  // identity / AUTOINCREMENT: insert leaves it to the database
  // An integer column for optimistic concurrency, "" for none: insert writes 1, update and remove
  // require the value the struct holds and update adds 1.
  std::string version;
  std::vector<std::string> insert_only;  // written by insert, never by update (created_at, a number)
  std::vector<std::string> read_only;    // never written (database defaults, generated columns)
  // The keyset order of page(): columns that are unique together, not NULL (the id, or a column and
  // then the id, as "holder", "id"). Default: the id. Index them.
  std::vector<std::string> page_key;
  bool descending = false;
  // Signs cursors (HMAC-SHA256) so that a client cannot make one up. Without it a cursor is still
  // checked (for this listing, not corrupted, the right types) but could be forged.
  std::string cursor_secret;
};

// A condition written by the program (never from input) with its own placeholders $1..$n, and their
// values. The repository's own parameters follow them.
struct Where {
  std::string sql;
  Params params;
};

struct PageRequest {
  std::string cursor;      // "" for the first page; then the previous page's next_cursor
  std::size_t limit = 20;  // 1..10,000
};

template <class T>
struct Page {
  std::vector<T> items;
  std::string next_cursor;  // "" on the last page
};

// The statements a Repository runs (the page and find ones without a condition); $n are parameters.
struct RepositorySql {
  std::string insert, get, update, remove, remove_versioned, current_version, page_first, page_next, find;
};

template <class T>
requires RowDescribed<T> && std::is_default_constructible_v<T>
class Repository {
 public:
  explicit Repository(TableOptions options)
      : table_(std::make_shared<const detail::TableSql>(row_map_of<T>(), std::move(options), &probe())) {}

  const RepositorySql& sql() const noexcept { return table_->sql(); }
  // The mapped columns, quoted and comma separated: the select list for plain SQL with query_as<T>.
  const std::string& columns() const noexcept { return table_->columns(); }
  // The version the struct holds (for an ETag); nullopt without a version column.
  std::optional<std::int64_t> version_of(const T& value) const { return table_->version_of(&value); }

  // The row as stored (id, version and defaults filled in). A unique violation is
  // ALREADY_EXISTS/UNIQUE_VIOLATION with the constraint in its metadata.
  Task<Result<T>> insert(Executor& ex, const Context& ctx, const T& value) const {
    Params args;
    if (Status st = table_->insert_params(&value, args); !st.ok()) co_return std::unexpected(std::move(st));
    auto row = co_await ex.query_one(ctx, table_->sql().insert, std::move(args));
    if (!row) co_return std::unexpected(row.error());
    co_return map_row<T>(*row);
  }

  // NOT_FOUND/NO_ROWS when there is no such row.
  Task<Result<T>> get(Executor& ex, const Context& ctx, Param id) const {
    Params args{id};
    auto rows = co_await ex.query(ctx, table_->sql().get, std::move(args));
    if (!rows) co_return std::unexpected(rows.error());
    if (rows->empty()) co_return std::unexpected(table_->not_found(id));
    co_return map_row<T>((*rows)[0]);
  }

  // Writes every column but the id, the version and insert_only/read_only ones, where the id is
  // value's and (with a version column) the version is still value's; returns the row as stored,
  // version + 1. NOT_FOUND when the row is gone; ABORTED/VERSION_CONFLICT when someone else changed it
  // since (read it again, or answer 412 to an If-Match that no longer holds).
  Task<Result<T>> update(Executor& ex, const Context& ctx, const T& value) const {
    Params args;
    if (Status st = table_->update_params(&value, args); !st.ok()) co_return std::unexpected(std::move(st));
    Param id(nullptr);
    if (Status st = table_->id_of(&value, id); !st.ok()) co_return std::unexpected(std::move(st));
    auto rows = co_await ex.query(ctx, table_->sql().update, std::move(args));
    if (!rows) co_return std::unexpected(rows.error());
    if (rows->empty()) {
      Status why = co_await table_->explain_missing(ex, ctx, id, table_->version_of(&value));
      co_return std::unexpected(std::move(why));
    }
    co_return map_row<T>((*rows)[0]);
  }

  // NOT_FOUND when there is no such row.
  Task<Status> remove(Executor& ex, const Context& ctx, Param id) const {
    Params args{id};
    auto n = co_await ex.exec(ctx, table_->sql().remove, std::move(args));
    if (!n) co_return n.error();
    if (*n == 0) co_return table_->not_found(id);
    co_return Status();
  }
  // Only while the row is at `version` (a versioned table): else NOT_FOUND or ABORTED/VERSION_CONFLICT.
  Task<Status> remove(Executor& ex, const Context& ctx, Param id, std::int64_t version) const {
    if (!table_->versioned())
      co_return Status(Code::kFailedPrecondition, "NO_VERSION_COLUMN", "remove with a version: the table has none");
    Params args{id, version};
    auto n = co_await ex.exec(ctx, table_->sql().remove_versioned, std::move(args));
    if (!n) co_return n.error();
    if (*n == 0) co_return co_await table_->explain_missing(ex, ctx, id, version);
    co_return Status();
  }

  // One page in page_key order, after request.cursor, of the rows matching `where` (a cursor is valid
  // for the same condition and parameters only). INVALID_ARGUMENT/BAD_CURSOR for a cursor that is not
  // one of this listing's. Rows inserted or removed between pages are seen or not by their key alone:
  // no row is returned twice or skipped for their sake.
  Task<Result<Page<T>>> page(Executor& ex, const Context& ctx, PageRequest request, Where where = {}) const {
    auto q = table_->page_query(request.cursor, request.limit, where);
    if (!q) co_return std::unexpected(q.error());
    auto rows = co_await ex.query(ctx, q->sql, std::move(q->params));
    if (!rows) co_return std::unexpected(rows.error());
    auto items = map_rows<T>(*rows);
    if (!items) co_return std::unexpected(items.error());
    Page<T> out;
    if (items->size() > request.limit) {
      items->pop_back();
      auto next = table_->cursor_after(&items->back(), where);
      if (!next) co_return std::unexpected(next.error());
      out.next_cursor = std::move(*next);
    }
    out.items = std::move(*items);
    co_return out;
  }

  // Every row matching `where`, in page_key order.
  Task<Result<std::vector<T>>> find(Executor& ex, const Context& ctx, Where where) const {
    auto q = table_->find_query(where);
    auto rows = co_await ex.query(ctx, q.sql, std::move(q.params));
    if (!rows) co_return std::unexpected(rows.error());
    co_return map_rows<T>(*rows);
  }
  // The one row matching `where`: NOT_FOUND/NO_ROWS or FAILED_PRECONDITION/TOO_MANY_ROWS otherwise.
  Task<Result<T>> find_one(Executor& ex, const Context& ctx, Where where) const {
    auto q = table_->find_query(where);
    auto row = co_await ex.query_one(ctx, q.sql, std::move(q.params));
    if (!row) co_return std::unexpected(row.error());
    co_return map_row<T>(*row);
  }

 private:
  static const T& probe() {
    static const T value{};
    return value;
  }
  std::shared_ptr<const detail::TableSql> table_;
};

}  // namespace svckit::db
