#include <charconv>
#include <cstring>
#include <optional>
#include <string>

#include "svckit/core/detail/io_await.hpp"
#include "svckit/db/detail/observe.hpp"
#include "svckit/db/detail/pg_codec.hpp"
#include "svckit/db/detail/pg_conn.hpp"
#include "svckit/db/detail/pg_pool.hpp"

// COPY and LISTEN, each on a connection of its own that never joins a pool: COPY holds it for the whole
// transfer, LISTEN for the listener's life. Such a connection has no reader coroutine: its holder reads it.

namespace svckit::db {

namespace detail {

namespace {

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
    auto ec = co_await svckit::detail::WaitAwaiter{*c->sock, asio::posix::descriptor_base::wait_read};
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
      auto ec = co_await svckit::detail::WaitAwaiter{*c_->sock, asio::posix::descriptor_base::wait_read};
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

}  // namespace detail

Task<Result<std::uint64_t>> PgDatabase::copy_in(const Context& ctx, std::string_view copy_sql,
                                                std::function<std::optional<std::string>()> next_chunk) {
  std::string sql(copy_sql);
  detail::Observe observe(ctx, "postgres", sql);
  Context call = observe.context();
  svckit::detail::DeadlineGuard guard(call);
  auto started = co_await detail::start_copy(impl_, call, sql, PGRES_COPY_IN);
  if (!started) {
    observe.finish(started.error());
    co_return std::unexpected(started.error());
  }
  std::shared_ptr<detail::PgConn> conn = *started;
  Status st;
  while (st.ok()) {
    auto chunk = next_chunk();
    int rc = 0;
    for (;;) {
      rc = chunk ? PQputCopyData(conn->pg, chunk->data(), static_cast<int>(chunk->size()))
                 : PQputCopyEnd(conn->pg, nullptr);
      if (rc != 0) break;
      auto ec = co_await svckit::detail::WaitAwaiter{
          *conn->sock, asio::posix::descriptor_base::wait_write};  // libpq's buffer is full
      if (ec) rc = -1;
      if (ec || PQflush(conn->pg) < 0) break;
    }
    if (rc < 0) st = detail::conn_error(conn->pg, "COPY send failed");
    // Keep libpq's buffer small: send what is queued before producing more.
    if (st.ok() && PQflush(conn->pg) == 1) st = co_await detail::flush(conn);
    if (!chunk) break;
  }
  std::uint64_t rows = 0;
  if (st.ok()) st = co_await detail::finish_command(conn, call, &rows);
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
  auto started = co_await detail::start_copy(impl_, call, sql, PGRES_COPY_OUT);
  if (!started) {
    observe.finish(started.error());
    co_return std::unexpected(started.error());
  }
  std::shared_ptr<detail::PgConn> conn = *started;
  Status st;
  while (st.ok()) {
    char* buf = nullptr;
    int n = PQgetCopyData(conn->pg, &buf, 1);
    if (n > 0) {
      st = on_data(std::string_view(buf, static_cast<std::size_t>(n)));
      PQfreemem(buf);
    } else if (n == 0) {
      auto ec = co_await svckit::detail::WaitAwaiter{*conn->sock, asio::posix::descriptor_base::wait_read};
      if (call.done())
        st = call.err();
      else if (ec || !PQconsumeInput(conn->pg))
        st = detail::conn_error(conn->pg, "COPY receive failed");
    } else if (n == -1) {
      break;
    } else {
      st = detail::conn_error(conn->pg, "COPY receive failed");
    }
  }
  std::uint64_t rows = 0;
  if (st.ok()) st = co_await detail::finish_command(conn, call, &rows);
  observe.finish(st);
  if (!st.ok()) co_return std::unexpected(st);
  co_return rows;
}

Task<Result<std::unique_ptr<PgListener>>> PgDatabase::listen(const Context& ctx, std::string channel) {
  Context call = ctx;
  svckit::detail::DeadlineGuard guard(call);
  auto c = co_await detail::dedicated(impl_, call);
  if (!c) co_return std::unexpected(c.error());
  std::shared_ptr<detail::PgConn> conn = *c;
  char* quoted = PQescapeIdentifier(conn->pg, channel.data(), channel.size());
  if (!quoted) co_return std::unexpected(detail::conn_error(conn->pg, "bad channel name"));
  std::string sql = std::string("LISTEN ") + quoted;
  PQfreemem(quoted);
  Status st = co_await detail::start_command(conn, sql, call, PGRES_COMMAND_OK);
  if (st.ok()) st = co_await detail::finish_command(conn, call, nullptr);
  if (!st.ok()) co_return std::unexpected(st);
  co_return std::unique_ptr<PgListener>(new detail::Listener(impl_, std::move(conn)));
}

}  // namespace svckit::db
