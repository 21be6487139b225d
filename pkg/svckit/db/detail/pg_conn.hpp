#pragma once
// Internal (PostgreSQL driver): one libpq connection driven by its loop. In pipeline mode queries from
// many coroutines are sent at once, each with its own sync point, and a reader coroutine hands the
// results back in order; a dedicated connection (COPY, LISTEN) has no reader and is read by whoever
// holds it. Loop-thread only: a connection is touched only on the loop that opened it.
// A standard header first: Asio decides how it allocates handler memory from libstdc++'s config
// macros, and a translation unit that includes Asio before any of them would decide differently from
// the rest (docs/architecture.md).
// clang-format off
#include <coroutine>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <asio/posix/stream_descriptor.hpp>
// clang-format on
#include <libpq-fe.h>

#include "svckit/core/context.hpp"
#include "svckit/core/runtime.hpp"
#include "svckit/db/postgres.hpp"

namespace svckit::db::detail {

using Descriptor = asio::posix::stream_descriptor;
using Impl = PgDatabase::Impl;

// One query's place in a connection's pipeline.
struct Pending {
  Loop* loop = nullptr;
  int commands = 1;  // result groups (each ends with a NULL) before the sync point
  int nulls = 0;
  bool simple = false;  // simple-query protocol (exec_script): ends at the first NULL
  bool done = false;
  bool abandoned = false;
  std::string prepared_sql;  // set when this query also prepared the statement
  Rows rows;
  // Streaming (single-row mode): each row goes to on_row; cleared when the caller stops waiting.
  const RowFn* on_row = nullptr;
  Rows row;  // reused for every row
  std::uint64_t streamed = 0;
  bool stream_stopped = false;  // on_row failed: the rest is discarded
  bool cancel_on_stop = false;  // the stream has its own connection: cancel the query on the server
  Status status;
  std::coroutine_handle<> waiter;
};

inline void complete(Pending& p) {
  if (p.done) return;
  p.done = true;
  if (auto h = std::exchange(p.waiter, {})) p.loop->post([h] { h.resume(); });
}

struct PendingAwaiter {
  Pending& p;
  bool await_ready() const noexcept { return p.done; }
  void await_suspend(std::coroutine_handle<> h) noexcept { p.waiter = h; }
  void await_resume() const noexcept {}
};

struct PgConn : std::enable_shared_from_this<PgConn> {
  Impl* impl = nullptr;
  Loop* loop = nullptr;
  PGconn* pg = nullptr;
  std::unique_ptr<Descriptor> sock;
  std::shared_ptr<PGcancel> cancel;
  bool ready = false;
  bool broken = false;
  bool reserved = false;
  bool flushing = false;
  bool counted_busy = false;
  std::deque<std::shared_ptr<Pending>> pending;
  std::unordered_map<std::string, std::string> prepared;
  std::uint64_t next_statement = 0;
  Clock::time_point created = Clock::now();
  Clock::time_point last_used = Clock::now();

  ~PgConn() {
    if (sock && sock->is_open()) sock->release();  // libpq owns the fd
    if (pg) PQfinish(pg);
  }
};

// Counts the connection busy (queries in flight or reserved) or not, in the stats and the gauge.
void update_busy(PgConn& c);

// Fails everything in flight, closes the connection and takes it out of its pool.
void fail_conn(const std::shared_ptr<PgConn>& c, const Status& why);

// Asks the server to cancel what the connection is running, off the loop (PQcancel opens a connection
// of its own and blocks).
void cancel_on_server(Impl& impl, const PgConn& c);

// Opens a connection on loop (with a pipeline, or for a dedicated use), within the connect timeout.
Task<Result<std::shared_ptr<PgConn>>> connect(std::shared_ptr<Impl> impl, Loop* loop, bool pipeline);

// Reads a pipelined connection's results until it breaks. It holds impl because c reaches its pool
// through a plain pointer (c->impl), which must outlive the reader's last fail_conn.
Task<void> reader(std::shared_ptr<Impl> impl, std::shared_ptr<PgConn> c);

// Sends what libpq has buffered; a failure fails the connection.
Task<Status> flush(std::shared_ptr<PgConn> c);

// Waits for p, or for the call's deadline/cancellation; on expiry a query still running on the
// server is cancelled.
Task<void> await_pending(std::shared_ptr<Impl> impl, std::shared_ptr<PgConn> c, std::shared_ptr<Pending> p,
                         const Context& call);

// Sends p's query on c and waits for its results, or for the call's deadline; the query's status.
Task<Status> roundtrip(std::shared_ptr<Impl> impl, std::shared_ptr<PgConn> c, std::shared_ptr<Pending> p,
                       const Context& call, const std::string& sql, const Params& params);

}  // namespace svckit::db::detail
