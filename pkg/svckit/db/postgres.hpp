#pragma once
// PostgreSQL on async libpq, driven by the event loops: no thread per query, no blocking call on a
// loop. Each loop owns a pool of connections (thread per core: no locks on the query path). In
// pipeline mode (default) independent queries from concurrent coroutines share a connection: each is
// sent at once (prepared on first use, then by name) with its own sync point, and the connection's
// reader hands results back in order, so N coroutines need far fewer than N connections and a round
// trip is shared. Transactions take a connection of their own until they end.
//
// Deadlines: the Context's deadline bounds connection acquisition and the query; when it passes while
// the query runs on the server, a cancel request (PQcancel, off the loop) stops it. statement_timeout
// is also set per connection as a backstop. A server that goes away fails every call in flight with
// UNAVAILABLE; new calls fail fast with UNAVAILABLE while reconnection backs off (50 ms doubling to
// 1 s), and the pool heals on the first successful connect.
//
// Beyond the Database interface: COPY FROM STDIN / TO STDOUT and LISTEN/NOTIFY, each on a dedicated
// connection.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "svckit/core/runtime.hpp"
#include "svckit/db/database.hpp"
#include "svckit/db/pg_options.hpp"

namespace svckit::db {

struct PgStats {
  std::size_t open = 0;  // connections established
  std::size_t busy = 0;  // with queries in flight or held by a transaction
  std::uint64_t connects = 0;
  std::uint64_t connect_failures = 0;
  std::uint64_t cancels = 0;  // cancel requests sent for expired deadlines
};

struct Notification {
  std::string channel;
  std::string payload;
  int sender_pid = 0;
};

// Notifications of the channels it listens on (LISTEN), on a connection of its own.
class PgListener {
 public:
  virtual ~PgListener() = default;
  // The next notification; waits within the Context's deadline.
  virtual Task<Result<Notification>> next(const Context& ctx) = 0;
};

class PgDatabase final : public Database {
 public:
  // Validates the DSN (INVALID_ARGUMENT) and starts the pools; does not wait for the server.
  static Result<std::shared_ptr<PgDatabase>> open(Runtime& rt, PgOptions options);
  ~PgDatabase() override;

  std::string_view driver() const noexcept override { return "postgres"; }
  Task<Result<Rows>> query(const Context& ctx, std::string_view sql, Params params = {}) override;
  Task<Result<std::uint64_t>> stream(const Context& ctx, std::string_view sql, Params params, RowFn on_row) override;
  Task<Status> exec_script(const Context& ctx, std::string_view sql) override;
  Task<Result<std::unique_ptr<Tx>>> begin(const Context& ctx) override;
  Task<Status> ping(const Context& ctx) override;
  void close() override;

  // COPY … FROM STDIN: sends what next_chunk returns until nullopt; the rows copied.
  Task<Result<std::uint64_t>> copy_in(const Context& ctx, std::string_view copy_sql,
                                      std::function<std::optional<std::string>()> next_chunk);
  // COPY … TO STDOUT: on_data gets each row's text; a non-OK Status stops the copy with it.
  Task<Result<std::uint64_t>> copy_out(const Context& ctx, std::string_view copy_sql,
                                       std::function<Status(std::string_view)> on_data);
  // LISTEN channel (quoted as an identifier). NOTIFY is a query: SELECT pg_notify($1, $2).
  Task<Result<std::unique_ptr<PgListener>>> listen(const Context& ctx, std::string channel);

  PgStats stats() const noexcept;

  struct Impl;

 private:
  explicit PgDatabase(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace svckit::db
