#include "svckit/db/detail/pg_conn.hpp"

#include <asio/steady_timer.hpp>
#include <exception>
#include <string>
#include <vector>

#include "svckit/core/detail/io_await.hpp"
#include "svckit/db/detail/pg_codec.hpp"
#include "svckit/db/detail/pg_pool.hpp"

namespace svckit::db::detail {

namespace {

using WaitType = asio::posix::descriptor_base::wait_type;

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

// Hands what libpq has read to the queries in the pipeline. Pipeline mode carries no query ids: results
// come back in the order the queries were sent, so `pending` mirrors the wire and its front is always
// the query being answered. Hence the bookkeeping:
//  - A query ends at its sync point (PGRES_PIPELINE_SYNC), not at its last result: after an error the
//    rest of its commands still answer (PIPELINE_ABORTED), and all of it must be read before the next
//    query moves to the front.
//  - A query whose caller stopped waiting (deadline, cancellation) stays in `pending` until then: its
//    results still arrive, and dropping it would hand them to the query behind it.
//  - Within a query, NULLs count finished commands: each command's results end with one NULL, however
//    many rows single-row mode delivered. A query sent as prepare + execute has two commands and only
//    the second one's result is the query's; an error before the first NULL means the prepare failed,
//    so the statement is forgotten and prepared again on next use.
//  - A script (simple-query protocol, outside pipeline mode) has no sync point: it ends at the NULL
//    after its last statement.
// `keep` holds a finished Pending alive past pop_front while complete() wakes its caller.
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

}  // namespace

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

void cancel_on_server(Impl& impl, const PgConn& c) {
  if (!c.cancel) return;
  impl.cancels.fetch_add(1);
  auto cancel = c.cancel;
  (void)impl.rt.blocking_pool().try_submit([cancel] {
    char err[256];
    PQcancel(cancel.get(), err, sizeof err);
  });
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

}  // namespace svckit::db::detail
