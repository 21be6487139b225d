#include "svckit/db/postgres.hpp"

#include <libpq-fe.h>

#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <charconv>
#include <cstring>
#include <deque>
#include <future>
#include <unordered_map>
#include <vector>

#include "svckit/core/detail/io_await.hpp"
#include "svckit/core/redact.hpp"
#include "svckit/db/detail/observe.hpp"
#include "svckit/db/settings.hpp"
#include "svckit/metrics/metrics.hpp"

namespace svckit::db {

namespace {

using Descriptor = asio::posix::stream_descriptor;
using WaitType = asio::posix::descriptor_base::wait_type;

// ---- errors ----------------------------------------------------------------------------------------

Status map_sqlstate(std::string_view state, std::string message) {
  auto is = [&](std::string_view s) { return state == s; };
  auto starts = [&](std::string_view s) { return state.starts_with(s); };
  if (is("23505")) return Status(Code::kAlreadyExists, "UNIQUE_VIOLATION", std::move(message));
  if (is("23503")) return Status(Code::kFailedPrecondition, "FOREIGN_KEY_VIOLATION", std::move(message));
  if (is("23514")) return Status(Code::kFailedPrecondition, "CHECK_VIOLATION", std::move(message));
  if (is("23502")) return Status(Code::kFailedPrecondition, "NOT_NULL_VIOLATION", std::move(message));
  if (starts("23")) return Status(Code::kFailedPrecondition, "INTEGRITY_VIOLATION", std::move(message));
  if (is("40001")) return Status(Code::kAborted, "SERIALIZATION_FAILURE", std::move(message));
  if (is("40P01")) return Status(Code::kAborted, "DEADLOCK_DETECTED", std::move(message));
  if (is("57014")) return Status(Code::kDeadlineExceeded, "QUERY_CANCELED", std::move(message));
  if (starts("08") || is("57P01") || is("57P02") || is("57P03") || starts("53"))
    return Status(Code::kUnavailable, "DATABASE_UNAVAILABLE", std::move(message));
  if (starts("22")) return Status(Code::kInvalidArgument, "DATA_EXCEPTION", std::move(message));
  if (starts("28")) return Status(Code::kUnavailable, "AUTHENTICATION_FAILED", std::move(message));
  return Status(Code::kInternal, "SQL_ERROR", std::move(message));
}

// libpq's messages may quote the connection string: its credentials never reach an error or a log.
std::string trim_message(const char* m) {
  std::string s = m ? m : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return redact_credentials(s);
}

Status result_error(const PGresult* r) {
  const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  Status st = map_sqlstate(state ? state : "", trim_message(PQresultErrorMessage(r)));
  if (state) st.with_metadata("sqlstate", state);
  if (const char* c = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME)) st.with_metadata("constraint", c);
  return st;
}

Status conn_error(PGconn* pg, std::string_view what) {
  return Status(Code::kUnavailable, "DATABASE_UNAVAILABLE",
                std::string(what) + (pg ? ": " + trim_message(PQerrorMessage(pg)) : std::string()));
}

// ---- parameters ----------------------------------------------------------------------------------

struct Encoded {
  std::vector<std::string> text;
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  std::vector<Oid> types;
};

void encode(const Params& params, Encoded& e) {
  const std::size_t n = params.size();
  e.text.resize(n);
  e.values.assign(n, nullptr);
  e.lengths.assign(n, 0);
  e.formats.assign(n, 0);
  e.types.assign(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::nullptr_t>) {
            return;  // values[i] stays null: SQL NULL
          } else if constexpr (std::is_same_v<T, bool>) {
            e.text[i] = v ? "t" : "f";
            e.types[i] = oid::kBool;
          } else if constexpr (std::is_same_v<T, std::int64_t>) {
            e.text[i] = std::to_string(v);
            e.types[i] = oid::kInt8;
          } else if constexpr (std::is_same_v<T, double>) {
            char buf[32];
            auto r = std::to_chars(buf, buf + sizeof buf, v);
            e.text[i].assign(buf, r.ptr);
            e.types[i] = oid::kFloat8;
          } else if constexpr (std::is_same_v<T, std::string>) {
            e.text[i] = v;  // unknown type: the server infers it from the context
          } else if constexpr (std::is_same_v<T, Bytes>) {
            e.text[i] = v.data;
            e.formats[i] = 1;  // binary: bytea needs no escaping
            e.types[i] = oid::kBytea;
          } else if constexpr (std::is_same_v<T, Json>) {
            e.text[i] = v.text;  // json or jsonb, as the column says
          } else if constexpr (std::is_same_v<T, Timestamp>) {
            e.text[i] = format_timestamp(v);
            e.types[i] = oid::kTimestamptz;
          } else if constexpr (std::is_same_v<T, Uuid>) {
            e.text[i] = v.str();
            e.types[i] = oid::kUuid;
          } else if constexpr (std::is_same_v<T, std::vector<std::int64_t>>) {
            e.text[i] = array_literal(v);
            e.types[i] = oid::kInt8Array;
          } else {
            e.text[i] = array_literal(v);
            e.types[i] = oid::kTextArray;
          }
          e.values[i] = e.text[i].data();
          e.lengths[i] = static_cast<int>(e.text[i].size());
        },
        params[i].value());
  }
}

const char* pg_text(const void* source, std::size_t row, std::size_t col, std::uint32_t* size) {
  auto* r = static_cast<PGresult*>(const_cast<void*>(source));
  int i = static_cast<int>(row), c = static_cast<int>(col);
  if (PQgetisnull(r, i, c)) return nullptr;
  *size = static_cast<std::uint32_t>(PQgetlength(r, i, c));
  return PQgetvalue(r, i, c);
}

// The rows read their values from the PGresult itself (kept alive by the Rows): nothing is copied or
// built per value.
void collect(PGresult* r, Rows& rows) {
  std::shared_ptr<const void> owner(
      r, [](const void* p) { PQclear(const_cast<PGresult*>(static_cast<const PGresult*>(p))); });
  int cols = PQnfields(r);
  for (int c = 0; c < cols; ++c) rows.add_column(PQfname(r, c), PQftype(r, c));
  rows.set_source(r, pg_text, static_cast<std::size_t>(PQntuples(r)));
  const char* affected = PQcmdTuples(r);
  std::uint64_t a = 0;
  if (affected && *affected) std::from_chars(affected, affected + std::strlen(affected), a);
  rows.set_affected(a);
  rows.keep(std::move(owner));
}

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

void complete(Pending& p) {
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

}  // namespace

// ---- connections and pools -------------------------------------------------------------------------

struct PgConn;

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

struct PgDatabase::Impl : std::enable_shared_from_this<PgDatabase::Impl> {
  Runtime& rt;
  PgOptions options;
  std::vector<LoopPool> pools;  // one per loop, touched only on that loop
  std::atomic<bool> closed{false};
  Context stop = Context().with_cancel();
  std::atomic<std::size_t> open{0}, busy{0};
  std::atomic<std::uint64_t> connects{0}, connect_failures{0}, cancels{0};
  // When any loop last connected: a success on one loop ends every loop's backoff at once.
  std::atomic<Clock::rep> last_connect_ok{0};
  metrics::Gauge open_gauge, busy_gauge, waiting_gauge;
  metrics::Histogram acquire_seconds;

  Impl(Runtime& r, PgOptions o) : rt(r), options(std::move(o)), pools(r.size()) {
    auto& reg = metrics::Registry::global();
    auto& conns = reg.gauge_vec({.name = "svckit_db_pool_connections", .help = "Pooled database connections by state."},
                                {"driver", "state"});
    open_gauge = conns.with({"postgres", "open"});
    busy_gauge = conns.with({"postgres", "busy"});
    waiting_gauge =
        reg.gauge_vec({.name = "svckit_db_pool_waiting", .help = "Calls waiting for a pooled connection."}, {"driver"})
            .with({"postgres"});
    acquire_seconds = reg.histogram_vec({.name = "svckit_db_pool_acquire_seconds",
                                         .help = "Time to get a pooled connection.",
                                         .buckets = metrics::exponential_buckets(0.00001, 4, 10)},
                                        {"driver"})
                          .with({"postgres"});
    std::size_t loops = std::max<std::size_t>(pools.size(), 1);
    for (std::size_t i = 0; i < pools.size(); ++i) {
      pools[i].max = std::max<std::size_t>(1, (options.max_connections + loops - 1 - i) / loops);
      pools[i].min = (options.min_connections + loops - 1 - i) / loops;
    }
  }
};

struct PgConn : std::enable_shared_from_this<PgConn> {
  PgDatabase::Impl* impl = nullptr;
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

namespace {

using Impl = PgDatabase::Impl;

void update_busy(PgConn& c) {
  bool busy = !c.broken && (c.reserved || !c.pending.empty());
  if (busy == c.counted_busy) return;
  c.counted_busy = busy;
  if (busy) {
    c.impl->busy.fetch_add(1);
    c.impl->busy_gauge.inc();
  } else {
    c.impl->busy.fetch_sub(1);
    c.impl->busy_gauge.dec();
  }
}

// Fails everything in flight, closes the connection and takes it out of its pool.
void fail_conn(const std::shared_ptr<PgConn>& c, const Status& why) {
  if (c->broken) return;
  bool was_ready = c->ready;
  c->broken = true;
  c->ready = false;
  update_busy(*c);
  for (auto& p : c->pending) {
    if (p->status.ok()) p->status = why;
    complete(*p);
  }
  c->pending.clear();
  if (c->sock && c->sock->is_open()) c->sock->release();  // wakes the reader and any flush with an error
  auto& pool = c->impl->pools[c->loop->index()];
  std::erase(pool.conns, c);
  if (was_ready) {
    c->impl->open.fetch_sub(1);
    c->impl->open_gauge.dec();
  }
}

// Asks the server to cancel what the connection is running, off the loop (PQcancel opens a connection
// of its own and blocks).
void cancel_on_server(Impl& impl, const PgConn& c) {
  if (!c.cancel) return;
  impl.cancels.fetch_add(1);
  auto cancel = c.cancel;
  (void)impl.rt.blocking_pool().try_submit([cancel] {
    char err[256];
    PQcancel(cancel.get(), err, sizeof err);
  });
}

// One row of a streamed result to its consumer; r stays owned by the caller (freed after this).
void deliver_row(PgConn& c, Pending& p, PGresult* r) {
  if (p.stream_stopped || !p.status.ok() || !p.on_row) return;
  p.row.clear_rows();
  if (p.row.columns().empty())
    for (int i = 0; i < PQnfields(r); ++i) p.row.add_column(PQfname(r, i), PQftype(r, i));
  p.row.set_source(r, pg_text, 1);
  Status st;
  try {
    st = (*p.on_row)(p.row[0]);
  } catch (const std::exception& e) {
    st = Status(Code::kInternal, std::string("row callback threw: ") + e.what());
  }
  ++p.streamed;
  if (st.ok()) return;
  p.status = st;
  p.stream_stopped = true;
  if (p.cancel_on_stop) cancel_on_server(*c.impl, c);
}

void drain(const std::shared_ptr<PgConn>& c) {
  PGconn* pg = c->pg;
  while (!c->pending.empty() && !PQisBusy(pg)) {
    PGresult* r = PQgetResult(pg);
    Pending& p = *c->pending.front();
    if (!r) {
      if (p.simple) {
        auto keep = c->pending.front();
        c->pending.pop_front();
        complete(p);
        continue;
      }
      ++p.nulls;
      continue;
    }
    switch (PQresultStatus(r)) {
      case PGRES_PIPELINE_SYNC: {
        auto keep = c->pending.front();
        c->pending.pop_front();
        complete(p);
        break;
      }
      case PGRES_SINGLE_TUPLE:
        if (p.on_row || p.stream_stopped) {
          deliver_row(*c, p, r);
          break;
        }
        [[fallthrough]];
      case PGRES_TUPLES_OK:
      case PGRES_COMMAND_OK:
        // The last command's result is the query's (the first of two only prepared the statement).
        if (p.simple || p.nulls == p.commands - 1) {
          p.rows = Rows();
          collect(r, p.rows);  // the rows own r now
          r = nullptr;
        }
        break;
      case PGRES_FATAL_ERROR:
        if (p.status.ok()) p.status = result_error(r);
        if (!p.prepared_sql.empty() && p.nulls == 0) c->prepared.erase(p.prepared_sql);  // the prepare failed
        break;
      case PGRES_PIPELINE_ABORTED:
        if (p.status.ok()) p.status = Status(Code::kAborted, "PIPELINE_ABORTED", "an earlier statement failed");
        break;
      default:
        if (p.status.ok())
          p.status = Status(Code::kInternal, "UNEXPECTED_RESULT",
                            std::string("unexpected result ") + PQresStatus(PQresultStatus(r)));
    }
    if (r) PQclear(r);
  }
  c->last_used = Clock::now();
  update_busy(*c);
}

Task<void> reader(std::shared_ptr<Impl> impl, std::shared_ptr<PgConn> c) {
  while (!c->broken) {
    auto ec = co_await svckit::detail::WaitAwaiter{*c->sock, WaitType::wait_read};
    if (c->broken) break;
    if (ec) {
      fail_conn(c, Status(Code::kUnavailable, "DATABASE_UNAVAILABLE", "connection wait failed: " + ec.message()));
      break;
    }
    if (!PQconsumeInput(c->pg)) {
      fail_conn(c, conn_error(c->pg, "connection lost"));
      break;
    }
    drain(c);
    if (PQstatus(c->pg) == CONNECTION_BAD) {
      fail_conn(c, conn_error(c->pg, "connection lost"));
      break;
    }
  }
  (void)impl;
}

Task<Status> flush(std::shared_ptr<PgConn> c) {
  if (c->flushing) co_return Status();  // the flush in progress sends it too
  c->flushing = true;
  Status st;
  for (;;) {
    int rc = PQflush(c->pg);
    if (rc == 0) break;
    if (rc < 0) {
      st = conn_error(c->pg, "send failed");
      break;
    }
    auto ec = co_await svckit::detail::WaitAwaiter{*c->sock, WaitType::wait_write};
    if (c->broken || ec) {
      st = Status(Code::kUnavailable, "DATABASE_UNAVAILABLE", "connection closed while sending");
      break;
    }
  }
  c->flushing = false;
  if (!st.ok()) fail_conn(c, st);
  co_return st;
}

Task<Result<std::shared_ptr<PgConn>>> connect(std::shared_ptr<Impl> impl, Loop* loop, bool pipeline) {
  const PgOptions& o = impl->options;
  std::string options = "-c TimeZone=UTC";
  if (o.statement_timeout.count() > 0)
    options += " -c statement_timeout=" + std::to_string(o.statement_timeout.count());
  std::vector<const char*> keys = {"dbname", "application_name", "options", "client_encoding"};
  std::vector<const char*> values = {o.dsn.c_str(), o.application_name.c_str(), options.c_str(), "UTF8"};
  if (!o.password.empty()) {
    keys.push_back("password");
    values.push_back(o.password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  auto c = std::make_shared<PgConn>();
  c->impl = impl.get();
  c->loop = loop;
  c->pg = PQconnectStartParams(keys.data(), values.data(), 1);
  if (!c->pg) co_return make_error(Code::kResourceExhausted, "libpq could not allocate a connection");
  if (PQstatus(c->pg) == CONNECTION_BAD) co_return std::unexpected(conn_error(c->pg, "cannot connect"));
  c->sock = std::make_unique<Descriptor>(loop->io());
  auto timer = std::make_shared<asio::steady_timer>(loop->io());
  auto timed_out = std::make_shared<bool>(false);
  timer->expires_after(o.connect_timeout);
  std::weak_ptr<PgConn> weak = c;
  timer->async_wait([weak, timed_out](const std::error_code& ec) {
    if (ec) return;
    *timed_out = true;
    if (auto s = weak.lock(); s && s->sock->is_open()) {
      std::error_code e;
      s->sock->cancel(e);
    }
  });
  PostgresPollingStatusType poll = PGRES_POLLING_WRITING;
  int fd = -1;
  Status failure;
  for (;;) {
    if (poll == PGRES_POLLING_OK) break;
    if (poll == PGRES_POLLING_FAILED) {
      failure = conn_error(c->pg, "cannot connect");
      break;
    }
    // libpq may move to a new socket (another address of the host): follow it.
    if (PQsocket(c->pg) != fd) {
      if (c->sock->is_open()) c->sock->release();
      fd = PQsocket(c->pg);
      std::error_code e;
      c->sock->assign(fd, e);
      if (e) {
        failure = Status(Code::kUnavailable, "cannot watch the connection socket: " + e.message());
        break;
      }
    }
    auto ec = co_await svckit::detail::WaitAwaiter{
        *c->sock, poll == PGRES_POLLING_READING ? WaitType::wait_read : WaitType::wait_write};
    if (*timed_out) {
      failure = Status(Code::kUnavailable, "DATABASE_UNAVAILABLE",
                       "connect timed out after " + std::to_string(o.connect_timeout.count()) + " ms");
      break;
    }
    if (ec) {
      failure = Status(Code::kUnavailable, "DATABASE_UNAVAILABLE", "connect: " + ec.message());
      break;
    }
    poll = PQconnectPoll(c->pg);
  }
  timer->cancel();
  if (!failure.ok()) co_return std::unexpected(failure);
  if (PQsetnonblocking(c->pg, 1) != 0) co_return std::unexpected(conn_error(c->pg, "cannot set non-blocking"));
  if (pipeline && PQenterPipelineMode(c->pg) != 1)
    co_return std::unexpected(conn_error(c->pg, "cannot enter pipeline mode"));
  c->cancel = std::shared_ptr<PGcancel>(PQgetCancel(c->pg), [](PGcancel* p) {
    if (p) PQfreeCancel(p);
  });
  c->ready = true;
  co_return c;
}

// Opens one more pooled connection on the current loop.
Task<Result<std::shared_ptr<PgConn>>> open_conn(std::shared_ptr<Impl> impl, Loop* loop) {
  LoopPool& pool = impl->pools[loop->index()];
  ++pool.connecting;
  auto r = co_await connect(impl, loop, true);
  --pool.connecting;
  if (!r) {
    impl->connect_failures.fetch_add(1);
    pool.backoff = pool.backoff.count() == 0 ? std::chrono::milliseconds(50)
                                             : std::min(pool.backoff * 2, std::chrono::milliseconds(1000));
    pool.failed_at = Clock::now();
    pool.retry_at = pool.failed_at + pool.backoff;
    pool.last_error = r.error();
    co_return r;
  }
  if (impl->closed) co_return make_error(Code::kUnavailable, "database closed");
  pool.backoff = std::chrono::milliseconds(0);
  pool.last_error = Status();
  impl->last_connect_ok.store(Clock::now().time_since_epoch().count());
  impl->connects.fetch_add(1);
  impl->open.fetch_add(1);
  impl->open_gauge.inc();
  pool.conns.push_back(*r);
  loop->spawn(reader(impl, *r));
  co_return r;
}

// Past the backoff, or another loop has reached the server since this one failed.
bool may_connect(const Impl& impl, const LoopPool& pool) {
  return Clock::now() >= pool.retry_at || impl.last_connect_ok.load() > pool.failed_at.time_since_epoch().count();
}

Status unavailable(const LoopPool& pool) {
  return Status(Code::kUnavailable, "DATABASE_UNAVAILABLE",
                "database unavailable (reconnecting): " +
                    std::string(pool.last_error.ok() ? "no connection" : pool.last_error.message()));
}

// A connection for one query (shared, pipelined) or for a transaction (reserved, exclusive).
Task<Result<std::shared_ptr<PgConn>>> acquire(std::shared_ptr<Impl> impl, const Context& call, bool reserve) {
  Loop* loop = Loop::current();
  if (!loop) co_return make_error(Code::kInternal, "database calls must run on a svckit loop");
  if (impl->closed) co_return make_error(Status(Code::kUnavailable, "DATABASE_UNAVAILABLE", "database closed"));
  LoopPool& pool = impl->pools[loop->index()];
  const std::size_t depth = impl->options.pipeline ? std::max<std::size_t>(impl->options.max_pipeline_depth, 1) : 1;
  const auto started = Clock::now();
  const auto give_up = started + impl->options.acquire_timeout;
  bool waiting = false;
  auto stop_waiting = [&] {
    if (waiting) impl->waiting_gauge.dec();
    waiting = false;
  };
  for (;;) {
    PgConn* best = nullptr;
    for (auto& c : pool.conns) {
      if (!c->ready || c->broken || c->reserved) continue;
      if (reserve ? !c->pending.empty() : c->pending.size() >= depth) continue;
      if (!best || c->pending.size() < best->pending.size()) best = c.get();
    }
    auto take = [&](PgConn* c) {
      stop_waiting();
      if (reserve) c->reserved = true;
      update_busy(*c);
      impl->acquire_seconds.observe(std::chrono::duration<double>(Clock::now() - started).count());
      return c->shared_from_this();
    };
    if (best && best->pending.empty()) co_return take(best);
    bool can_open = pool.conns.size() + pool.connecting < pool.max && may_connect(*impl, pool);
    if (can_open) {
      auto r = co_await open_conn(impl, loop);
      if (r && !(*r)->broken && !(*r)->reserved) co_return take(r->get());
      if (!r && !best && pool.conns.empty()) {
        stop_waiting();
        co_return std::unexpected(unavailable(pool));
      }
      continue;
    }
    if (best) co_return take(best);
    if (pool.conns.empty() && pool.connecting == 0 && !pool.last_error.ok()) {
      stop_waiting();
      co_return std::unexpected(unavailable(pool));  // fail fast while the server is away
    }
    if (call.done()) {
      stop_waiting();
      co_return std::unexpected(call.err());
    }
    if (Clock::now() >= give_up) {
      stop_waiting();
      co_return make_error(Status(
          Code::kUnavailable, "POOL_EXHAUSTED",
          "no database connection free within " + std::to_string(impl->options.acquire_timeout.count()) + " ms"));
    }
    if (!waiting) {
      waiting = true;
      impl->waiting_gauge.inc();
    }
    Status slept = co_await sleep_for(call, std::chrono::microseconds(500));
    (void)slept;  // a done call is noticed at the top of the loop
  }
}

void release(const std::shared_ptr<PgConn>& c) {
  c->reserved = false;
  update_busy(*c);
}

// Sends the query into the connection's pipeline; its results arrive through the reader.
Status send(PgConn& c, Pending& p, const std::string& sql, const Params& params) {
  Encoded e;
  encode(params, e);
  const int n = static_cast<int>(params.size());
  int ok = 0;
  if (p.on_row) {
    // A stream: unprepared, since single-row mode applies to the command sent just before it.
    ok = PQsendQueryParams(c.pg, sql.c_str(), n, e.types.data(), e.values.data(), e.lengths.data(), e.formats.data(),
                           0) &&
         PQsetSingleRowMode(c.pg);
  } else if (auto it = c.prepared.find(sql); it != c.prepared.end()) {
    ok = PQsendQueryPrepared(c.pg, it->second.c_str(), n, e.values.data(), e.lengths.data(), e.formats.data(), 0);
  } else if (c.prepared.size() < 512) {
    std::string name = "svckit_" + std::to_string(++c.next_statement);
    ok = PQsendPrepare(c.pg, name.c_str(), sql.c_str(), n, e.types.data()) &&
         PQsendQueryPrepared(c.pg, name.c_str(), n, e.values.data(), e.lengths.data(), e.formats.data(), 0);
    p.commands = 2;
    p.prepared_sql = sql;
    c.prepared.emplace(sql, std::move(name));
  } else {
    ok =
        PQsendQueryParams(c.pg, sql.c_str(), n, e.types.data(), e.values.data(), e.lengths.data(), e.formats.data(), 0);
  }
  if (!ok || !PQpipelineSync(c.pg)) return conn_error(c.pg, "cannot send query");
  return {};
}

// Waits for p, or for the call's deadline/cancellation; on expiry a query still running on the
// server is cancelled (off the loop: PQcancel opens a connection of its own).
Task<void> await_pending(std::shared_ptr<Impl> impl, std::shared_ptr<PgConn> c, std::shared_ptr<Pending> p,
                         const Context& call) {
  Loop* loop = p->loop;
  std::weak_ptr<Pending> wp = p;
  std::weak_ptr<PgConn> wc = c;
  auto reg = call.on_cancel([loop, wp, wc, impl, call](const Status&) {
    loop->post([wp, wc, impl, call] {
      auto p = wp.lock();
      if (!p || p->done) return;
      p->abandoned = true;
      p->status = call.err();
      auto c = wc.lock();
      bool running = c && !c->broken && !c->pending.empty() && c->pending.front() == p;
      complete(*p);
      if (running) cancel_on_server(*impl, *c);
    });
  });
  co_await PendingAwaiter{*p};
}

// The connection a call runs on: its transaction's, or one from the pool (exclusive for a stream).
Task<Result<std::shared_ptr<PgConn>>> connection_for(std::shared_ptr<Impl> impl, const Context& call,
                                                     std::shared_ptr<PgConn> tx_conn, bool exclusive) {
  if (!tx_conn) co_return co_await acquire(impl, call, exclusive);
  if (tx_conn->broken)
    co_return make_error(Status(Code::kUnavailable, "DATABASE_UNAVAILABLE", "the transaction's connection was lost"));
  co_return tx_conn;
}

// Sends p's query on c and waits for its results, or for the call's deadline; the query's status.
Task<Status> roundtrip(std::shared_ptr<Impl> impl, std::shared_ptr<PgConn> c, std::shared_ptr<Pending> p,
                       const Context& call, const std::string& sql, const Params& params) {
  if (Status st = send(*c, *p, sql, params); !st.ok()) {
    fail_conn(c, st);
    co_return st;
  }
  c->pending.push_back(p);
  update_busy(*c);
  Status sent = co_await flush(c);
  if (!sent.ok()) co_return sent;
  co_await await_pending(impl, c, p, call);
  co_return p->status;
}

Task<Result<Rows>> run_query(std::shared_ptr<Impl> impl, const Context& ctx, std::string sql, Params params,
                             std::shared_ptr<PgConn> reserved) {
  detail::Observe observe(ctx, "postgres", sql);
  Context call = observe.context();
  svckit::detail::DeadlineGuard guard(call);
  auto got = co_await connection_for(impl, call, std::move(reserved), false);
  if (!got) {
    observe.finish(got.error());
    co_return std::unexpected(got.error());
  }
  std::shared_ptr<PgConn> c = std::move(*got);
  auto p = std::make_shared<Pending>();
  p->loop = c->loop;
  Status st = co_await roundtrip(impl, c, p, call, sql, params);
  observe.finish(st);
  if (!st.ok()) co_return std::unexpected(st);
  co_return std::move(p->rows);
}

// A query in single-row mode: on its own connection (or the transaction's), so a long stream never
// holds up queries pipelined behind it, unprepared (single-row mode applies to the first command).
Task<Result<std::uint64_t>> run_stream(std::shared_ptr<Impl> impl, const Context& ctx, std::string sql, Params params,
                                       const RowFn* on_row, std::shared_ptr<PgConn> tx_conn) {
  detail::Observe observe(ctx, "postgres", sql);
  Context call = observe.context();
  svckit::detail::DeadlineGuard guard(call);
  const bool own = !tx_conn;
  auto got = co_await connection_for(impl, call, std::move(tx_conn), true);
  if (!got) {
    observe.finish(got.error());
    co_return std::unexpected(got.error());
  }
  std::shared_ptr<PgConn> c = std::move(*got);
  auto p = std::make_shared<Pending>();
  p->loop = c->loop;
  p->on_row = on_row;
  p->cancel_on_stop = own;  // in a transaction the rest is read and dropped: a late cancel could hit its next statement
  Status st = co_await roundtrip(impl, c, p, call, sql, params);
  p->on_row = nullptr;  // rows that still arrive (an abandoned stream) are dropped, never delivered
  if (own) {
    // A stream stopped early or abandoned may still be running or have a cancel in flight: this
    // connection is not handed to anyone else.
    if (!st.ok() || p->abandoned)
      fail_conn(c, st.ok() ? Status(Code::kCancelled, "stream abandoned") : st);
    else
      release(c);
  }
  observe.finish(st);
  if (!st.ok()) co_return std::unexpected(st);
  co_return p->streamed;
}

// Several statements through the simple-query protocol; needs the connection to itself.
Task<Status> run_script(std::shared_ptr<Impl> impl, const Context& ctx, std::string sql, std::shared_ptr<PgConn> c) {
  detail::Observe observe(ctx, "postgres", sql);
  Context call = observe.context();
  svckit::detail::DeadlineGuard guard(call);
  if (c->broken || !c->pending.empty() || PQexitPipelineMode(c->pg) != 1) {
    Status st(Code::kInternal, "CONNECTION_BUSY", "script on a connection with queries in flight");
    if (c->broken) st = Status(Code::kUnavailable, "DATABASE_UNAVAILABLE", "connection lost");
    observe.finish(st);
    co_return st;
  }
  auto p = std::make_shared<Pending>();
  p->loop = c->loop;
  p->simple = true;
  if (!PQsendQuery(c->pg, sql.c_str())) {
    Status st = conn_error(c->pg, "cannot send script");
    fail_conn(c, st);
    observe.finish(st);
    co_return st;
  }
  c->pending.push_back(p);
  update_busy(*c);
  Status st = co_await flush(c);
  if (st.ok()) {
    co_await await_pending(impl, c, p, call);
    st = p->status;
  }
  if (p->abandoned) {
    // The script may still be running; the connection cannot go back to pipeline mode safely.
    fail_conn(c, st);
  } else if (!c->broken && PQenterPipelineMode(c->pg) != 1) {
    fail_conn(c, conn_error(c->pg, "cannot re-enter pipeline mode"));
  }
  observe.finish(st);
  co_return st;
}

class PgTx final : public Tx {
 public:
  PgTx(std::shared_ptr<Impl> impl, std::shared_ptr<PgConn> c, Context finish_ctx)
      : impl_(std::move(impl)), c_(std::move(c)), finish_ctx_(std::move(finish_ctx)) {}
  ~PgTx() override {
    if (!c_) return;
    // Unfinished: closing the connection makes the server roll back; do it on the connection's loop.
    auto c = std::move(c_);
    c->loop->post([c] { fail_conn(c, Status(Code::kAborted, "transaction abandoned")); });
  }
  Task<Result<Rows>> query(const Context& ctx, std::string_view sql, Params params) override {
    if (!c_) co_return make_error(Code::kFailedPrecondition, "transaction already finished");
    co_return co_await run_query(impl_, ctx, std::string(sql), std::move(params), c_);
  }
  Task<Status> exec_script(const Context& ctx, std::string_view sql) override {
    if (!c_) co_return Status(Code::kFailedPrecondition, "transaction already finished");
    co_return co_await run_script(impl_, ctx, std::string(sql), c_);
  }
  Task<Result<std::uint64_t>> stream(const Context& ctx, std::string_view sql, Params params, RowFn on_row) override {
    if (!c_) co_return make_error(Code::kFailedPrecondition, "transaction already finished");
    co_return co_await run_stream(impl_, ctx, std::string(sql), std::move(params), &on_row, c_);
  }
  Task<Status> commit() override { return finish("COMMIT"); }
  Task<Status> rollback() override { return finish("ROLLBACK"); }

 private:
  Task<Status> finish(const char* sql) {
    if (!c_) co_return Status(Code::kFailedPrecondition, "transaction already finished");
    auto c = std::move(c_);
    auto r = co_await run_query(impl_, finish_ctx_, sql, {}, c);
    if (!r) {
      fail_conn(c, r.error());  // state unknown: never hand this connection to anyone else
      co_return r.error();
    }
    release(c);
    co_return Status();
  }
  std::shared_ptr<Impl> impl_;
  std::shared_ptr<PgConn> c_;
  Context finish_ctx_;
};

// Closes idle connections beyond min and ones past max_lifetime; true when the pool is below min
// and may connect now.
bool sweep_once(Impl& impl, LoopPool& pool) {
  auto now = Clock::now();
  std::vector<std::shared_ptr<PgConn>> retire;
  std::size_t keep = pool.conns.size();
  for (auto& c : pool.conns) {
    if (c->reserved || !c->pending.empty() || !c->ready) continue;
    bool old = now - c->created > impl.options.max_lifetime;
    bool idle = keep > pool.min && now - c->last_used > impl.options.idle_timeout;
    if (old || idle) {
      retire.push_back(c);
      --keep;
    }
  }
  for (auto& c : retire) fail_conn(c, Status(Code::kUnavailable, "connection retired"));
  return pool.conns.size() + pool.connecting < pool.min && may_connect(impl, pool);
}

// Keeps each loop's pool within [min, max] over time. The frame holds as little as possible (and no
// co_await in a loop condition): GCC 12 mislays locals of coroutine frames in such loops.
Task<void> sweep(std::shared_ptr<Impl> impl, Loop* loop) {
  for (;;) {
    Status slept = co_await sleep_for(impl->stop, std::chrono::milliseconds(250));
    if (!slept.ok() || impl->closed) co_return;
    if (sweep_once(*impl, impl->pools[loop->index()])) {
      auto opened = co_await open_conn(impl, loop);
      (void)opened;
    }
  }
}

// ---- dedicated connections (COPY, LISTEN) -------------------------------------------------------------

// The next result of a connection that has no reader coroutine; nullptr at the end of a command.
Task<Result<PGresult*>> next_result(std::shared_ptr<PgConn> c, const Context& call) {
  auto reg = call.on_cancel([loop = c->loop, weak = std::weak_ptr<PgConn>(c)](const Status&) {
    loop->post([weak] {
      if (auto s = weak.lock(); s && s->sock->is_open()) {
        std::error_code e;
        s->sock->cancel(e);
      }
    });
  });
  while (PQisBusy(c->pg)) {
    auto ec = co_await svckit::detail::WaitAwaiter{*c->sock, WaitType::wait_read};
    if (call.done()) co_return std::unexpected(call.err());
    if (ec) co_return make_error(Code::kUnavailable, "connection wait failed: " + ec.message());
    if (!PQconsumeInput(c->pg)) co_return std::unexpected(conn_error(c->pg, "connection lost"));
  }
  co_return PQgetResult(c->pg);
}

// Reads the rest of a command's results; the first error wins.
Task<Status> finish_command(std::shared_ptr<PgConn> c, const Context& call, std::uint64_t* affected) {
  Status st;
  for (;;) {
    auto r = co_await next_result(c, call);
    if (!r) co_return r.error();
    if (!*r) break;
    ExecStatusType s = PQresultStatus(*r);
    if (s == PGRES_FATAL_ERROR && st.ok()) st = result_error(*r);
    if (s == PGRES_COMMAND_OK && affected) {
      const char* n = PQcmdTuples(*r);
      if (n && *n) std::from_chars(n, n + std::strlen(n), *affected);
    }
    PQclear(*r);
  }
  co_return st;
}

Task<Result<std::shared_ptr<PgConn>>> dedicated(std::shared_ptr<Impl> impl, const Context& call) {
  Loop* loop = Loop::current();
  if (!loop) co_return make_error(Code::kInternal, "database calls must run on a svckit loop");
  auto r = co_await connect(impl, loop, false);
  if (r && call.done()) co_return std::unexpected(call.err());
  co_return r;
}

Task<Status> start_command(std::shared_ptr<PgConn> c, const std::string& sql, const Context& call,
                           ExecStatusType want) {
  if (!PQsendQuery(c->pg, sql.c_str())) co_return conn_error(c->pg, "cannot send");
  Status flushed = co_await flush(c);
  if (!flushed.ok()) co_return flushed;
  auto r = co_await next_result(c, call);
  if (!r) co_return r.error();
  if (!*r) co_return Status(Code::kInternal, "no result");
  ExecStatusType s = PQresultStatus(*r);
  Status st = s == want ? Status()
              : s == PGRES_FATAL_ERROR
                  ? result_error(*r)
                  : Status(Code::kInvalidArgument, "unexpected result " + std::string(PQresStatus(s)));
  PQclear(*r);
  co_return st;
}

// A dedicated connection with the COPY started (the server answered COPY IN or COPY OUT).
Task<Result<std::shared_ptr<PgConn>>> start_copy(std::shared_ptr<Impl> impl, const Context& call,
                                                 const std::string& sql, ExecStatusType want) {
  auto c = co_await dedicated(impl, call);
  if (!c) co_return std::unexpected(c.error());
  std::shared_ptr<PgConn> conn = *c;
  Status st = co_await start_command(conn, sql, call, want);
  if (!st.ok()) co_return std::unexpected(st);
  co_return conn;
}

class Listener final : public PgListener {
 public:
  Listener(std::shared_ptr<Impl> impl, std::shared_ptr<PgConn> c) : impl_(std::move(impl)), c_(std::move(c)) {}
  Task<Result<Notification>> next(const Context& ctx) override {
    Context call = ctx;
    svckit::detail::DeadlineGuard guard(call);
    auto reg = call.on_cancel([loop = c_->loop, weak = std::weak_ptr<PgConn>(c_)](const Status&) {
      loop->post([weak] {
        if (auto s = weak.lock(); s && s->sock->is_open()) {
          std::error_code e;
          s->sock->cancel(e);
        }
      });
    });
    for (;;) {
      if (PGnotify* n = PQnotifies(c_->pg)) {
        Notification out{n->relname, n->extra ? n->extra : "", n->be_pid};
        PQfreemem(n);
        co_return out;
      }
      auto ec = co_await svckit::detail::WaitAwaiter{*c_->sock, WaitType::wait_read};
      if (call.done()) co_return std::unexpected(call.err());
      if (ec) co_return make_error(Code::kUnavailable, "listen connection: " + ec.message());
      if (!PQconsumeInput(c_->pg)) co_return std::unexpected(conn_error(c_->pg, "listen connection lost"));
    }
  }

 private:
  std::shared_ptr<Impl> impl_;
  std::shared_ptr<PgConn> c_;
};

}  // namespace

// ---- PgDatabase --------------------------------------------------------------------------------------

Result<std::shared_ptr<PgDatabase>> PgDatabase::open(Runtime& rt, PgOptions options) {
  char* err = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(options.dsn.c_str(), &err);
  if (!parsed) {
    std::string why = err ? trim_message(err) : "invalid";
    if (err) PQfreemem(err);
    return make_error(Code::kInvalidArgument, "db.postgres.dsn: " + why);
  }
  PQconninfoFree(parsed);
  if (options.max_connections < 1) options.max_connections = 1;
  auto impl = std::make_shared<Impl>(rt, std::move(options));
  for (std::size_t i = 0; i < rt.size(); ++i) rt.loop(i).spawn(sweep(impl, &rt.loop(i)));
  return std::shared_ptr<PgDatabase>(new PgDatabase(std::move(impl)));
}

PgDatabase::~PgDatabase() {
  close();
}

void PgDatabase::close() {
  if (impl_->closed.exchange(true)) return;
  impl_->stop.cancel(Status(Code::kUnavailable, "database closed"));
  std::vector<std::future<void>> done;
  for (std::size_t i = 0; i < impl_->rt.size(); ++i) {
    auto promise = std::make_shared<std::promise<void>>();
    done.push_back(promise->get_future());
    Loop* loop = &impl_->rt.loop(i);
    auto impl = impl_;
    loop->post([impl, loop, promise] {
      auto conns = impl->pools[loop->index()].conns;
      for (auto& c : conns) fail_conn(c, Status(Code::kUnavailable, "DATABASE_UNAVAILABLE", "database closed"));
      promise->set_value();
    });
  }
  if (!Loop::current() && !impl_->rt.stopping())
    for (auto& f : done) f.wait_for(std::chrono::seconds(2));
}

Task<Result<Rows>> PgDatabase::query(const Context& ctx, std::string_view sql, Params params) {
  co_return co_await run_query(impl_, ctx, std::string(sql), std::move(params), nullptr);
}

Task<Result<std::uint64_t>> PgDatabase::stream(const Context& ctx, std::string_view sql, Params params, RowFn on_row) {
  co_return co_await run_stream(impl_, ctx, std::string(sql), std::move(params), &on_row, nullptr);
}

Task<Status> PgDatabase::exec_script(const Context& ctx, std::string_view sql) {
  std::string script(sql);
  Context call = ctx;
  svckit::detail::DeadlineGuard guard(call);
  auto c = co_await acquire(impl_, call, true);
  if (!c) co_return c.error();
  Status st = co_await run_script(impl_, ctx, script, *c);
  release(*c);
  co_return st;
}

Task<Result<std::unique_ptr<Tx>>> PgDatabase::begin(const Context& ctx) {
  Context call = ctx;
  svckit::detail::DeadlineGuard guard(call);
  auto c = co_await acquire(impl_, call, true);
  if (!c) co_return std::unexpected(c.error());
  auto r = co_await run_query(impl_, ctx, "BEGIN", {}, *c);
  if (!r) {
    release(*c);
    co_return std::unexpected(r.error());
  }
  co_return std::unique_ptr<Tx>(new PgTx(impl_, std::move(*c), detail::finish_context(ctx)));
}

Task<Status> PgDatabase::ping(const Context& ctx) {
  auto r = co_await query(ctx, "SELECT 1");
  co_return r ? Status() : r.error();
}

Task<Result<std::uint64_t>> PgDatabase::copy_in(const Context& ctx, std::string_view copy_sql,
                                                std::function<std::optional<std::string>()> next_chunk) {
  std::string sql(copy_sql);
  detail::Observe observe(ctx, "postgres", sql);
  Context call = observe.context();
  svckit::detail::DeadlineGuard guard(call);
  auto started = co_await start_copy(impl_, call, sql, PGRES_COPY_IN);
  if (!started) {
    observe.finish(started.error());
    co_return std::unexpected(started.error());
  }
  std::shared_ptr<PgConn> conn = *started;
  Status st;
  while (st.ok()) {
    auto chunk = next_chunk();
    int rc = 0;
    for (;;) {
      rc = chunk ? PQputCopyData(conn->pg, chunk->data(), static_cast<int>(chunk->size()))
                 : PQputCopyEnd(conn->pg, nullptr);
      if (rc != 0) break;
      auto ec = co_await svckit::detail::WaitAwaiter{*conn->sock, WaitType::wait_write};  // libpq's buffer is full
      if (ec) rc = -1;
      if (ec || PQflush(conn->pg) < 0) break;
    }
    if (rc < 0) st = conn_error(conn->pg, "COPY send failed");
    // Keep libpq's buffer small: send what is queued before producing more.
    if (st.ok() && PQflush(conn->pg) == 1) st = co_await flush(conn);
    if (!chunk) break;
  }
  std::uint64_t rows = 0;
  if (st.ok()) st = co_await finish_command(conn, call, &rows);
  observe.finish(st);
  if (!st.ok()) co_return std::unexpected(st);
  co_return rows;
}

Task<Result<std::uint64_t>> PgDatabase::copy_out(const Context& ctx, std::string_view copy_sql,
                                                 std::function<Status(std::string_view)> on_data) {
  std::string sql(copy_sql);
  detail::Observe observe(ctx, "postgres", sql);
  Context call = observe.context();
  svckit::detail::DeadlineGuard guard(call);
  auto started = co_await start_copy(impl_, call, sql, PGRES_COPY_OUT);
  if (!started) {
    observe.finish(started.error());
    co_return std::unexpected(started.error());
  }
  std::shared_ptr<PgConn> conn = *started;
  Status st;
  while (st.ok()) {
    char* buf = nullptr;
    int n = PQgetCopyData(conn->pg, &buf, 1);
    if (n > 0) {
      st = on_data(std::string_view(buf, static_cast<std::size_t>(n)));
      PQfreemem(buf);
    } else if (n == 0) {
      auto ec = co_await svckit::detail::WaitAwaiter{*conn->sock, WaitType::wait_read};
      if (call.done())
        st = call.err();
      else if (ec || !PQconsumeInput(conn->pg))
        st = conn_error(conn->pg, "COPY receive failed");
    } else if (n == -1) {
      break;
    } else {
      st = conn_error(conn->pg, "COPY receive failed");
    }
  }
  std::uint64_t rows = 0;
  if (st.ok()) st = co_await finish_command(conn, call, &rows);
  observe.finish(st);
  if (!st.ok()) co_return std::unexpected(st);
  co_return rows;
}

Task<Result<std::unique_ptr<PgListener>>> PgDatabase::listen(const Context& ctx, std::string channel) {
  Context call = ctx;
  svckit::detail::DeadlineGuard guard(call);
  auto c = co_await dedicated(impl_, call);
  if (!c) co_return std::unexpected(c.error());
  std::shared_ptr<PgConn> conn = *c;
  char* quoted = PQescapeIdentifier(conn->pg, channel.data(), channel.size());
  if (!quoted) co_return std::unexpected(conn_error(conn->pg, "bad channel name"));
  std::string sql = std::string("LISTEN ") + quoted;
  PQfreemem(quoted);
  Status st = co_await start_command(conn, sql, call, PGRES_COMMAND_OK);
  if (st.ok()) st = co_await finish_command(conn, call, nullptr);
  if (!st.ok()) co_return std::unexpected(st);
  co_return std::unique_ptr<PgListener>(new Listener(impl_, std::move(conn)));
}

PgStats PgDatabase::stats() const noexcept {
  return {impl_->open.load(), impl_->busy.load(), impl_->connects.load(), impl_->connect_failures.load(),
          impl_->cancels.load()};
}

namespace detail {

Result<std::shared_ptr<Database>> open_postgres(Runtime& rt, const PostgresSettings& s) {
  PgOptions o;
  o.dsn = s.dsn;
  o.password = s.password;
  o.min_connections = static_cast<std::size_t>(s.min_connections);
  o.max_connections = static_cast<std::size_t>(s.max_connections);
  o.acquire_timeout = s.acquire_timeout;
  o.connect_timeout = s.connect_timeout;
  o.max_lifetime = s.max_lifetime;
  o.idle_timeout = s.idle_timeout;
  o.statement_timeout = s.statement_timeout;
  o.pipeline = s.pipeline;
  auto db = PgDatabase::open(rt, std::move(o));
  if (!db) return std::unexpected(db.error());
  return std::shared_ptr<Database>(*db);
}

}  // namespace detail

}  // namespace svckit::db

// What svckit::db_postgres' link option names (-Wl,--undefined=...): it brings this file, and with it
// the strong open_postgres, into every program that links the target.
extern "C" const int svckit_db_postgres_linked = 1;
