#pragma once
// Internal (PostgreSQL driver): each loop's pool of connections (thread per core: a pool is touched
// only on its loop, so the query path takes no lock), and the state PgDatabase shares with them.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "svckit/core/context.hpp"
#include "svckit/core/runtime.hpp"
#include "svckit/db/detail/pg_conn.hpp"
#include "svckit/db/postgres.hpp"
#include "svckit/metrics/metrics.hpp"

namespace svckit::db {

namespace detail {

struct LoopPool {
  std::vector<std::shared_ptr<PgConn>> conns;
  std::size_t connecting = 0;
  std::size_t max = 1;
  std::size_t min = 0;
  Clock::time_point retry_at{};  // reconnect backoff
  Clock::time_point failed_at{};
  std::chrono::milliseconds backoff{0};
  Status last_error;
};

}  // namespace detail

struct PgDatabase::Impl : std::enable_shared_from_this<PgDatabase::Impl> {
  Runtime& rt;
  PgOptions options;
  std::vector<detail::LoopPool> pools;  // one per loop, touched only on that loop
  std::atomic<bool> closed{false};
  Context stop = Context().with_cancel();
  std::atomic<std::size_t> open{0}, busy{0};
  std::atomic<std::uint64_t> connects{0}, connect_failures{0}, cancels{0};
  // When any loop last connected: a success on one loop ends every loop's backoff at once.
  std::atomic<Clock::rep> last_connect_ok{0};
  metrics::Gauge open_gauge, busy_gauge, waiting_gauge;
  metrics::Histogram acquire_seconds;

  // Registers the pool metrics and splits min/max_connections across the loops.
  Impl(Runtime& r, PgOptions o);
};

namespace detail {

// A connection for one query (shared, pipelined) or for a transaction (reserved, exclusive).
Task<Result<std::shared_ptr<PgConn>>> acquire(std::shared_ptr<Impl> impl, const Context& call, bool reserve);

// Gives a reserved connection back to the pool.
void release(const std::shared_ptr<PgConn>& c);

// The connection a call runs on: its transaction's, or one from the pool (exclusive for a stream).
Task<Result<std::shared_ptr<PgConn>>> connection_for(std::shared_ptr<Impl> impl, const Context& call,
                                                     std::shared_ptr<PgConn> tx_conn, bool exclusive);

// Keeps loop's pool within [min, max] over time, until the database closes.
Task<void> sweep(std::shared_ptr<Impl> impl, Loop* loop);

}  // namespace detail

}  // namespace svckit::db
