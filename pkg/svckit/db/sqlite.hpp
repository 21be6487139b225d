#pragma once
// SQLite behind the Database interface: the embedded default (no server to run). A file in WAL mode
// (readers never wait for the writer), a small pool of connections, a busy timeout, foreign keys on,
// prepared statements cached per connection; every call runs on the runtime's blocking pool, never on
// an event loop. The Context's deadline interrupts a running statement (DEADLINE_EXCEEDED).
//
// Dialect notes (see docs/db.md): $1… placeholders work as in PostgreSQL; RETURNING, ON CONFLICT …
// DO UPDATE and the ->> JSON operator exist (SQLite ≥ 3.38); timestamps are ISO 8601 UTC text;
// arrays are JSON text; a transaction starts with BEGIN IMMEDIATE (it takes the write lock up front,
// so two writers never deadlock upgrading a read lock).
#include <chrono>
#include <memory>
#include <string>

#include "svckit/core/runtime.hpp"
#include "svckit/db/database.hpp"

namespace svckit::config {
template <class T>
class Binder;
}

namespace svckit::db {

struct SqliteOptions {
  std::string path = "data/svckit.db";  // ":memory:" works for one connection (max_connections = 1)
  int max_connections = 4;
  std::chrono::milliseconds busy_timeout{5000};
  bool create_directories = true;  // mkdir -p the file's folder

  static void describe(config::Binder<SqliteOptions>& b);  // the db.sqlite: section (settings.cpp)
};

class SqliteDatabase final : public Database {
 public:
  // Opens (creating) the file and checks it with a first connection; errors are returned.
  static Result<std::shared_ptr<SqliteDatabase>> open(Runtime& rt, SqliteOptions options);
  ~SqliteDatabase() override;

  std::string_view driver() const noexcept override { return "sqlite"; }
  Task<Result<Rows>> query(const Context& ctx, std::string_view sql, Params params = {}) override;
  Task<Result<std::uint64_t>> stream(const Context& ctx, std::string_view sql, Params params, RowFn on_row) override;
  Task<Status> exec_script(const Context& ctx, std::string_view sql) override;
  Task<Result<std::unique_ptr<Tx>>> begin(const Context& ctx) override;
  Task<Status> ping(const Context& ctx) override;
  void close() override;

  struct Impl;

 private:
  explicit SqliteDatabase(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace svckit::db
