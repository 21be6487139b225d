#include "svckit/db/postgres.hpp"

#include <future>
#include <string>
#include <vector>

#include "svckit/db/detail/observe.hpp"
#include "svckit/db/detail/pg_codec.hpp"
#include "svckit/db/detail/pg_conn.hpp"
#include "svckit/db/detail/pg_pool.hpp"
#include "svckit/db/settings.hpp"

namespace svckit::db {

// ---- queries and transactions ----------------------------------------------------------------------

namespace detail {

namespace {

Task<Result<Rows>> run_query(std::shared_ptr<Impl> impl, const Context& ctx, std::string sql, Params params,
                             std::shared_ptr<PgConn> reserved) {
  Observe observe(ctx, "postgres", sql);
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
  Observe observe(ctx, "postgres", sql);
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
  Observe observe(ctx, "postgres", sql);
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

}  // namespace

}  // namespace detail

// ---- PgDatabase --------------------------------------------------------------------------------------

Result<std::shared_ptr<PgDatabase>> PgDatabase::open(Runtime& rt, PgOptions options) {
  char* err = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(options.dsn.c_str(), &err);
  if (!parsed) {
    std::string why = err ? detail::trim_message(err) : "invalid";
    if (err) PQfreemem(err);
    return make_error(Code::kInvalidArgument, "db.postgres.dsn: " + why);
  }
  PQconninfoFree(parsed);
  if (options.max_connections < 1) options.max_connections = 1;
  auto impl = std::make_shared<Impl>(rt, std::move(options));
  for (std::size_t i = 0; i < rt.size(); ++i) rt.loop(i).spawn(detail::sweep(impl, &rt.loop(i)));
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
      for (auto& c : conns) detail::fail_conn(c, Status(Code::kUnavailable, "DATABASE_UNAVAILABLE", "database closed"));
      promise->set_value();
    });
  }
  if (!Loop::current() && !impl_->rt.stopping())
    for (auto& f : done) f.wait_for(std::chrono::seconds(2));
}

Task<Result<Rows>> PgDatabase::query(const Context& ctx, std::string_view sql, Params params) {
  co_return co_await detail::run_query(impl_, ctx, std::string(sql), std::move(params), nullptr);
}

Task<Result<std::uint64_t>> PgDatabase::stream(const Context& ctx, std::string_view sql, Params params, RowFn on_row) {
  co_return co_await detail::run_stream(impl_, ctx, std::string(sql), std::move(params), &on_row, nullptr);
}

Task<Status> PgDatabase::exec_script(const Context& ctx, std::string_view sql) {
  std::string script(sql);
  Context call = ctx;
  svckit::detail::DeadlineGuard guard(call);
  auto c = co_await detail::acquire(impl_, call, true);
  if (!c) co_return c.error();
  Status st = co_await detail::run_script(impl_, ctx, script, *c);
  detail::release(*c);
  co_return st;
}

Task<Result<std::unique_ptr<Tx>>> PgDatabase::begin(const Context& ctx) {
  Context call = ctx;
  svckit::detail::DeadlineGuard guard(call);
  auto c = co_await detail::acquire(impl_, call, true);
  if (!c) co_return std::unexpected(c.error());
  auto r = co_await detail::run_query(impl_, ctx, "BEGIN", {}, *c);
  if (!r) {
    detail::release(*c);
    co_return std::unexpected(r.error());
  }
  co_return std::unique_ptr<Tx>(new detail::PgTx(impl_, std::move(*c), detail::finish_context(ctx)));
}

Task<Status> PgDatabase::ping(const Context& ctx) {
  auto r = co_await query(ctx, "SELECT 1");
  co_return r ? Status() : r.error();
}

PgStats PgDatabase::stats() const noexcept {
  return {impl_->open.load(), impl_->busy.load(), impl_->connects.load(), impl_->connect_failures.load(),
          impl_->cancels.load()};
}

namespace detail {

Result<std::shared_ptr<Database>> open_postgres(Runtime& rt, const PgOptions& o) {
  auto db = PgDatabase::open(rt, o);
  if (!db) return std::unexpected(db.error());
  return std::shared_ptr<Database>(*db);
}

}  // namespace detail

}  // namespace svckit::db

// What svckit::db_postgres' link option names (-Wl,--undefined=...): it brings this file, and with it
// the strong open_postgres, into every program that links the target.
extern "C" const int svckit_db_postgres_linked = 1;
