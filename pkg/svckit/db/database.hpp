#pragma once
// One database API for PostgreSQL (async libpq on the event loops, pooled and pipelined) and SQLite
// (the embedded default, on the blocking pool). Queries use $1, $2… placeholders and typed Params on
// both; every call takes the request's Context (its deadline becomes the statement's timeout and
// cancels the query when it passes) and reports errors as Status:
//   unique violation → ALREADY_EXISTS, foreign key / check / not null → FAILED_PRECONDITION,
//   serialization failure or deadlock → ABORTED (retry the transaction), connection lost or database
//   unreachable → UNAVAILABLE, deadline → DEADLINE_EXCEEDED, bad SQL → INTERNAL.
// Rows map into structs described once for JSON and rows with query_as<T> (svckit/db/mapping.hpp); a
// table's insert/get/update/delete/pages are Repository<T> (svckit/db/repository.hpp).
//
// ```cpp
//   Task<Status> example(Runtime& rt, const db::DbSettings& settings, const Context& ctx, std::int64_t id) {
//     auto db = db::open_database(rt, settings);             // or app.database(), SqliteDatabase::open...
//     if (!db) co_return db.error();
//     db::Params args{id};                                   // named: GCC 12 rejects a braced list in co_await
//     auto user = co_await (*db)->query_one(ctx, "SELECT id, email FROM users WHERE id = $1", args);
//     if (!user) co_return user.error();                     // NOT_FOUND when there is no row
//     auto email = user->get<std::string>("email");          // the row itself
//     auto audit = [&](db::Tx& tx) -> Task<Status> {
//       auto n = co_await tx.exec(ctx, "INSERT INTO audit (what) VALUES ('debit')");
//       co_return n ? Status() : n.error();
//     };
//     Status st = co_await (*db)->transaction(ctx, [&](db::Tx& tx) -> Task<Status> {
//       db::Params debit{std::int64_t{100}, id};
//       auto r = co_await tx.exec(ctx, "UPDATE accounts SET balance = balance - $1 WHERE id = $2", debit);
//       if (!r) co_return r.error();
//       co_return co_await tx.transaction(ctx, audit);       // a savepoint
//     });                                                    // commit on OK, rollback on error or exception
//     std::vector<std::string> docs;
//     auto n = co_await (*db)->stream(ctx, "SELECT doc FROM events", {},
//                                     [&](const db::Row& row) -> Status {   // row by row
//                                       auto doc = row.get<std::string>(0);
//                                       if (!doc) return doc.error();
//                                       docs.push_back(std::move(*doc));
//                                       return Status();
//                                     });
//     co_return n ? Status() : n.error();
//   }
// ```
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "svckit/core/context.hpp"
#include "svckit/core/status.hpp"
#include "svckit/core/task.hpp"
#include "svckit/db/mapping.hpp"
#include "svckit/db/value.hpp"

namespace svckit::db {

class Tx;
using TxFn = std::function<Task<Status>(Tx&)>;
// Called for each row of a streamed result. The Row is valid during the call only. Returning an error
// stops the stream: the query is cancelled and stream() returns that error.
using RowFn = std::function<Status(const Row&)>;

// What both a Database and a transaction can run.
class Executor {
 public:
  virtual ~Executor() = default;
  virtual Task<Result<Rows>> query(const Context& ctx, std::string_view sql, Params params = {}) = 0;
  // The one row the query returns: NOT_FOUND (reason NO_ROWS) when there is none, FAILED_PRECONDITION
  // (reason TOO_MANY_ROWS) when there are more (add LIMIT 1 where the first of several is meant).
  // Map NOT_FOUND to what the client asked for before it leaves the service ("book 42 not found").
  Task<Result<OneRow>> query_one(const Context& ctx, std::string_view sql, Params params = {});
  // Rows changed (INSERT/UPDATE/DELETE).
  Task<Result<std::uint64_t>> exec(const Context& ctx, std::string_view sql, Params params = {});
  // Several statements without parameters (migrations).
  virtual Task<Status> exec_script(const Context& ctx, std::string_view sql) = 0;
  // A large result row by row, never held whole in memory; returns how many rows on_row saw.
  // PostgreSQL: single-row mode on a connection of the stream's own (rows are read from the socket as
  // on_row consumes them, so a slow consumer slows the server, not the heap); on_row runs on the event
  // loop. SQLite: rows are stepped on the blocking pool and on_row runs there. Either way on_row must
  // not block.
  virtual Task<Result<std::uint64_t>> stream(const Context& ctx, std::string_view sql, Params params, RowFn on_row) = 0;

  // The rows as described structs (svckit/db/mapping.hpp), or as single values when T is a scalar
  // (query_as<std::int64_t> over one column). Columns are matched to fields once per result.
  template <class T>
  requires(RowDescribed<T> || RowScalar<T>) Task<Result<std::vector<T>>> query_as(const Context& ctx,
                                                                                  std::string_view sql,
                                                                                  Params params = {}) {
    auto rows = co_await query(ctx, sql, std::move(params));
    if (!rows) co_return std::unexpected(rows.error());
    co_return map_rows<T>(*rows);
  }
  // The one row as a T: NOT_FOUND (NO_ROWS) and FAILED_PRECONDITION (TOO_MANY_ROWS) as query_one.
  template <class T>
  requires(RowDescribed<T> || RowScalar<T>) Task<Result<T>> query_one_as(const Context& ctx, std::string_view sql,
                                                                         Params params = {}) {
    auto row = co_await query_one(ctx, sql, std::move(params));
    if (!row) co_return std::unexpected(row.error());
    co_return map_row<T>(*row);
  }
  // stream() with each row as a T: on_row(T&&) → Status, under stream()'s rules (it runs on the event
  // loop or the blocking pool and must not block; an error stops the stream). A row that does not map
  // stops the stream with the mapping's error.
  template <class T, class F>
  requires((RowDescribed<T> || RowScalar<T>)&&std::is_invocable_r_v<Status, F&, T&&>)
      Task<Result<std::uint64_t>> stream_as(const Context& ctx, std::string_view sql, Params params, F on_row) {
    RowMapper<T> mapper;
    RowFn fn = [&mapper, &on_row](const Row& row) -> Status {
      auto value = mapper(row);
      if (!value) return value.error();
      return on_row(std::move(*value));
    };
    co_return co_await stream(ctx, sql, std::move(params), fn);
  }
};

// A transaction: holds one connection until commit() or rollback(); destroying it unfinished rolls
// back. transaction() nests as a savepoint.
class Tx : public Executor {
 public:
  virtual Task<Status> commit() = 0;
  virtual Task<Status> rollback() = 0;
  Task<Status> transaction(const Context& ctx, TxFn fn);

 protected:
  int savepoints_ = 0;
};

class Database : public Executor {
 public:
  virtual std::string_view driver() const noexcept = 0;  // "sqlite" or "postgres"
  virtual Task<Result<std::unique_ptr<Tx>>> begin(const Context& ctx) = 0;
  // Runs fn in a transaction: commit when it returns OK, rollback when it returns an error or throws
  // (the exception then propagates).
  Task<Status> transaction(const Context& ctx, TxFn fn);
  // A round trip (readiness checks).
  virtual Task<Status> ping(const Context& ctx) = 0;
  // Closes every connection; later calls fail with UNAVAILABLE.
  virtual void close() = 0;
};

}  // namespace svckit::db
