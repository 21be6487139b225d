#include "svckit/db/sqlite.hpp"

#include <sqlite3.h>

#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "svckit/db/detail/observe.hpp"

namespace svckit::db {

namespace {

struct Conn {
  sqlite3* db = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> statements;
  // The call running on this connection: its Context bounds the wait for a lock another connection
  // or process holds (see wait_for_lock), as it bounds the statement itself.
  const Context* ctx = nullptr;
  std::chrono::milliseconds busy_timeout{0};
  Clock::time_point busy_since;
  ~Conn() {
    for (auto& [sql, stmt] : statements) sqlite3_finalize(stmt);
    if (db) sqlite3_close_v2(db);
  }
};

Status map_error(sqlite3* db, int rc, const Context* ctx = nullptr) {
  int ext = db ? sqlite3_extended_errcode(db) : rc;
  std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (ext) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return Status(Code::kAlreadyExists, "UNIQUE_VIOLATION", msg);
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return Status(Code::kFailedPrecondition, "FOREIGN_KEY_VIOLATION", msg);
    case SQLITE_CONSTRAINT_CHECK:
      return Status(Code::kFailedPrecondition, "CHECK_VIOLATION", msg);
    case SQLITE_CONSTRAINT_NOTNULL:
      return Status(Code::kFailedPrecondition, "NOT_NULL_VIOLATION", msg);
    default:
      break;
  }
  // A full disk is the service's resource, not a broken database: RESOURCE_EXHAUSTED, answered 503 (a
  // client may retry later, reads still work). SQLite says SQLITE_FULL, or an I/O error with ENOSPC.
  if ((rc & 0xff) == SQLITE_FULL || ((rc & 0xff) == SQLITE_IOERR && db && sqlite3_system_errno(db) == ENOSPC))
    return Status(Code::kResourceExhausted, "DISK_FULL", "database disk full: " + msg).with_http_status(503);
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      return Status(Code::kFailedPrecondition, "CONSTRAINT_VIOLATION", msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      if (ctx && ctx->done()) return ctx->err();  // gave up waiting for the lock at the deadline
      return Status(Code::kAborted, "BUSY", msg + " (retry the transaction)");
    case SQLITE_INTERRUPT:
      if (ctx && ctx->done()) return ctx->err();
      return Status(Code::kCancelled, "INTERRUPTED", msg);
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return Status(Code::kUnavailable, "DATABASE_UNAVAILABLE", msg);
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
      return Status(Code::kInvalidArgument, "BAD_PARAMETER", msg);
    default:
      return Status(Code::kInternal, "SQL_ERROR", msg);
  }
}

// Wakes a running statement when the request's deadline passes or it is cancelled.
int interrupt_when_done(void* arg) {
  const Context* ctx = static_cast<Conn*>(arg)->ctx;
  return ctx && ctx->done() ? 1 : 0;
}

// SQLite's busy handler, in place of sqlite3_busy_timeout (whose wait no deadline can cut short): keep
// retrying while the lock is held, for at most busy_timeout and never past the call's deadline or
// cancellation. Runs on the blocking pool, where sleeping is allowed; short pauses keep a
// cancellation's wait short.
int wait_for_lock(void* arg, int attempt) {
  using namespace std::chrono_literals;
  auto& c = *static_cast<Conn*>(arg);
  auto now = Clock::now();
  if (attempt == 0) c.busy_since = now;
  if (c.ctx && c.ctx->done()) return 0;
  auto left = c.busy_timeout - (now - c.busy_since);
  if (left <= Duration::zero()) return 0;
  Duration pause = std::min<Duration>({Duration(1ms) * (1 << std::min(attempt, 3)), Duration(10ms), left});
  if (c.ctx) pause = std::min(pause, c.ctx->remaining());
  std::this_thread::sleep_for(pause);
  return 1;
}

// Points the connection's interrupt and lock-wait handlers at one call's Context for its duration.
class CallScope {
 public:
  CallScope(Conn& c, const Context& ctx) : c_(c) {
    c_.ctx = &ctx;
    sqlite3_progress_handler(c_.db, 1000, interrupt_when_done, &c_);
  }
  ~CallScope() {
    sqlite3_progress_handler(c_.db, 0, nullptr, nullptr);
    c_.ctx = nullptr;
  }
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;

 private:
  Conn& c_;
};

Status bind(sqlite3* db, sqlite3_stmt* stmt, const Params& params) {
  int n = sqlite3_bind_parameter_count(stmt);
  std::vector<bool> used(params.size());
  for (int i = 1; i <= n; ++i) {
    // $1, ?1 and ? name their position; SQLite numbers parameters by first appearance, so map by name.
    const char* name = sqlite3_bind_parameter_name(stmt, i);
    std::size_t index = static_cast<std::size_t>(i);
    if (name && (name[0] == '$' || name[0] == '?')) {
      std::string_view digits(name + 1);
      if (std::from_chars(digits.data(), digits.data() + digits.size(), index).ec != std::errc())
        return Status(Code::kInvalidArgument, "BAD_PARAMETER", std::string("unsupported placeholder ") + name);
    } else if (name) {
      return Status(Code::kInvalidArgument, "BAD_PARAMETER", std::string("use $1, $2... placeholders, not ") + name);
    }
    if (index < 1 || index > params.size())
      return Status(
          Code::kInvalidArgument, "BAD_PARAMETER",
          "placeholder $" + std::to_string(index) + " has no parameter (" + std::to_string(params.size()) + " given)");
    used[index - 1] = true;
    int rc = std::visit(
        [&](const auto& v) -> int {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::nullptr_t>) {
            return sqlite3_bind_null(stmt, i);
          } else if constexpr (std::is_same_v<T, bool>) {
            return sqlite3_bind_int(stmt, i, v ? 1 : 0);
          } else if constexpr (std::is_same_v<T, std::int64_t>) {
            return sqlite3_bind_int64(stmt, i, v);
          } else if constexpr (std::is_same_v<T, double>) {
            return sqlite3_bind_double(stmt, i, v);
          } else if constexpr (std::is_same_v<T, std::string>) {
            return sqlite3_bind_text64(stmt, i, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
          } else if constexpr (std::is_same_v<T, Bytes>) {
            return sqlite3_bind_blob64(stmt, i, v.data.data(), v.data.size(), SQLITE_STATIC);
          } else if constexpr (std::is_same_v<T, Json>) {
            return sqlite3_bind_text64(stmt, i, v.text.data(), v.text.size(), SQLITE_STATIC, SQLITE_UTF8);
          } else if constexpr (std::is_same_v<T, Timestamp>) {
            std::string s = format_timestamp(v);
            return sqlite3_bind_text64(stmt, i, s.data(), s.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
          } else if constexpr (std::is_same_v<T, Uuid>) {
            std::string s = v.str();
            return sqlite3_bind_text64(stmt, i, s.data(), s.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
          } else if constexpr (std::is_same_v<T, std::vector<std::int64_t>>) {
            std::string s = "[";
            for (std::size_t k = 0; k < v.size(); ++k) {
              if (k) s += ',';
              s += std::to_string(v[k]);
            }
            s += "]";
            return sqlite3_bind_text64(stmt, i, s.data(), s.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
          } else {
            std::string s = "[";
            for (std::size_t k = 0; k < v.size(); ++k) {
              if (k) s += ',';
              s += '"';
              for (char c : v[k]) {
                if (c == '"' || c == '\\') s += '\\';
                s += c;
              }
              s += '"';
            }
            s += "]";
            return sqlite3_bind_text64(stmt, i, s.data(), s.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
          }
        },
        params[index - 1].value());
    if (rc != SQLITE_OK) return map_error(db, rc);
  }
  for (std::size_t k = 0; k < used.size(); ++k)
    if (!used[k])
      return Status(Code::kInvalidArgument, "BAD_PARAMETER",
                    "parameter " + std::to_string(k + 1) + " has no $" + std::to_string(k + 1) + " in the query");
  return {};
}

// With on_row, each row goes to on_row as it is stepped and is dropped after it (streaming); *seen
// counts them.
Result<Rows> run(Conn& c, const Context& ctx, const std::string& sql, const Params& params,
                 const RowFn* on_row = nullptr, std::uint64_t* seen = nullptr) {
  sqlite3_stmt* stmt = nullptr;
  if (auto it = c.statements.find(sql); it != c.statements.end()) {
    stmt = it->second;
  } else {
    const char* tail = nullptr;
    int rc =
        sqlite3_prepare_v3(c.db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
    if (rc != SQLITE_OK) return std::unexpected(map_error(c.db, rc));
    if (!stmt) return make_error(Code::kInvalidArgument, "empty query");
    for (; tail && *tail; ++tail) {
      if (*tail != ' ' && *tail != '\n' && *tail != '\t' && *tail != '\r' && *tail != ';') {
        sqlite3_finalize(stmt);
        return make_error(Code::kInvalidArgument, "one statement per query (exec_script runs several)");
      }
    }
    if (c.statements.size() >= 256) {  // a bound on statements built from varying SQL text
      for (auto& [s, st] : c.statements) sqlite3_finalize(st);
      c.statements.clear();
    }
    c.statements.emplace(sql, stmt);
  }
  struct Reset {
    sqlite3_stmt* s;
    ~Reset() {
      sqlite3_reset(s);
      sqlite3_clear_bindings(s);
    }
  } reset{stmt};
  if (auto st = bind(c.db, stmt, params); !st.ok()) return std::unexpected(std::move(st));
  CallScope scope(c, ctx);
  Rows rows;
  int cols = sqlite3_column_count(stmt);
  for (int i = 0; i < cols; ++i) rows.add_column(sqlite3_column_name(stmt, i));
  for (;;) {
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return std::unexpected(map_error(c.db, rc, &ctx));
    for (int i = 0; i < cols; ++i) {
      switch (sqlite3_column_type(stmt, i)) {
        case SQLITE_NULL:
          rows.add_null();
          break;
        case SQLITE_INTEGER:
          rows.add_integer(sqlite3_column_int64(stmt, i));
          break;
        case SQLITE_FLOAT:
          rows.add_real(sqlite3_column_double(stmt, i));
          break;
        case SQLITE_BLOB: {
          const void* p = sqlite3_column_blob(stmt, i);
          rows.add_text(
              std::string_view(static_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt, i))),
              CellKind::kBlob);
          break;
        }
        default: {
          const unsigned char* p = sqlite3_column_text(stmt, i);
          rows.add_text(std::string_view(reinterpret_cast<const char*>(p),
                                         static_cast<std::size_t>(sqlite3_column_bytes(stmt, i))));
        }
      }
    }
    rows.end_row();
    if (on_row) {
      Status st;
      try {
        st = (*on_row)(rows[0]);
      } catch (const std::exception& e) {
        st = Status(Code::kInternal, std::string("row callback threw: ") + e.what());
      }
      ++*seen;
      rows.clear_rows();
      if (!st.ok()) return std::unexpected(st);
    }
  }
  if (!sqlite3_stmt_readonly(stmt)) rows.set_affected(static_cast<std::uint64_t>(sqlite3_changes64(c.db)));
  return rows;
}

Status run_script(Conn& c, const Context& ctx, const std::string& sql) {
  CallScope scope(c, ctx);
  char* err = nullptr;
  int rc = sqlite3_exec(c.db, sql.c_str(), nullptr, nullptr, &err);
  if (err) sqlite3_free(err);
  return rc == SQLITE_OK ? Status() : map_error(c.db, rc, &ctx);
}

template <class T>
Status status_of(const Result<T>& r) {
  return r ? Status() : r.error();
}
Status status_of(const Result<Status>& r) {
  return r ? *r : r.error();
}

}  // namespace

struct SqliteDatabase::Impl {
  Runtime& rt;
  SqliteOptions options;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::unique_ptr<Conn>> idle;
  int open = 0;
  bool closed = false;

  Impl(Runtime& r, SqliteOptions o) : rt(r), options(std::move(o)) {}

  Result<std::unique_ptr<Conn>> connect() {
    auto c = std::make_unique<Conn>();
    int rc =
        sqlite3_open_v2(options.path.c_str(), &c->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, nullptr);
    if (rc != SQLITE_OK) {
      Status st = map_error(c->db, rc);
      return make_error(Code::kUnavailable,
                        "cannot open SQLite database '" + options.path + "': " + std::string(st.message()));
    }
    c->busy_timeout = options.busy_timeout;
    sqlite3_busy_handler(c->db, wait_for_lock, c.get());
    sqlite3_extended_result_codes(c->db, 1);
    char* err = nullptr;
    rc = sqlite3_exec(c->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", nullptr,
                      nullptr, &err);
    if (err) sqlite3_free(err);
    if (rc != SQLITE_OK) return std::unexpected(map_error(c->db, rc));
    return c;
  }

  // Blocking: runs on the blocking pool.
  Result<std::unique_ptr<Conn>> acquire(const Context& ctx) {
    std::unique_lock lock(mu);
    for (;;) {
      if (closed) return make_error(Code::kUnavailable, "database closed");
      if (!idle.empty()) {
        auto c = std::move(idle.back());
        idle.pop_back();
        return c;
      }
      if (open < options.max_connections) {
        ++open;
        lock.unlock();
        auto c = connect();
        if (!c) {
          std::lock_guard relock(mu);
          --open;
          cv.notify_one();
        }
        return c;
      }
      auto left = ctx.remaining();
      if (left <= Duration::zero())
        return make_error(Code::kDeadlineExceeded, "no SQLite connection free before the deadline");
      if (left > std::chrono::hours(1)) left = std::chrono::hours(1);
      cv.wait_for(lock, left);
    }
  }

  void release(std::unique_ptr<Conn> c) {
    std::lock_guard lock(mu);
    if (closed || !c) {
      --open;
    } else {
      idle.push_back(std::move(c));
    }
    cv.notify_one();
  }
};

namespace {

class SqliteTx final : public Tx {
 public:
  SqliteTx(std::shared_ptr<SqliteDatabase::Impl> impl, std::unique_ptr<Conn> conn, Context finish_ctx)
      : impl_(std::move(impl)), conn_(std::move(conn)), finish_ctx_(std::move(finish_ctx)) {}
  ~SqliteTx() override {
    if (!conn_) return;
    // Unfinished: roll back off the loop (ROLLBACK touches the file), then hand the connection back.
    auto holder = std::make_shared<std::unique_ptr<Conn>>(std::move(conn_));
    auto job = [impl = impl_, holder] {
      sqlite3_exec((*holder)->db, "ROLLBACK", nullptr, nullptr, nullptr);
      impl->release(std::move(*holder));
    };
    if (!impl_->rt.blocking_pool().try_submit(job)) job();
  }

  Task<Result<Rows>> query(const Context& ctx, std::string_view sql, Params params) override {
    if (!conn_) co_return make_error(Code::kFailedPrecondition, "transaction already finished");
    std::string q(sql);
    detail::Observe observe(ctx, "sqlite", q);
    const Context& call = observe.context();
    Conn* c = conn_.get();
    auto job = [c, &call, &q, &params] { return run(*c, call, q, params); };
    auto r = co_await run_blocking(call, job);
    observe.finish(status_of(r));
    co_return r;
  }
  Task<Result<std::uint64_t>> stream(const Context& ctx, std::string_view sql, Params params, RowFn on_row) override {
    if (!conn_) co_return make_error(Code::kFailedPrecondition, "transaction already finished");
    std::string q(sql);
    detail::Observe observe(ctx, "sqlite", q);
    const Context& call = observe.context();
    Conn* c = conn_.get();
    auto job = [c, &call, &q, &params, &on_row]() -> Result<std::uint64_t> {
      std::uint64_t seen = 0;
      auto r = run(*c, call, q, params, &on_row, &seen);
      if (!r) return std::unexpected(r.error());
      return seen;
    };
    auto r = co_await run_blocking(call, job);
    observe.finish(status_of(r));
    co_return r;
  }
  Task<Status> exec_script(const Context& ctx, std::string_view sql) override {
    if (!conn_) co_return Status(Code::kFailedPrecondition, "transaction already finished");
    std::string q(sql);
    detail::Observe observe(ctx, "sqlite", q);
    const Context& call = observe.context();
    Conn* c = conn_.get();
    auto job = [c, &call, &q] { return run_script(*c, call, q); };
    Status st = status_of(co_await run_blocking(call, job));
    observe.finish(st);
    co_return st;
  }
  Task<Status> commit() override { return finish("COMMIT"); }
  Task<Status> rollback() override { return finish("ROLLBACK"); }

 private:
  Task<Status> finish(const char* sql) {
    if (!conn_) co_return Status(Code::kFailedPrecondition, "transaction already finished");
    Conn* c = conn_.get();
    const std::string q = sql;
    detail::Observe observe(finish_ctx_, "sqlite", q);
    const Context& call = observe.context();
    auto job = [c, &call, &q] { return run_script(*c, call, q); };
    Status st = status_of(co_await run_blocking(call, job));
    bool clean = st.ok();
    if (!st.ok() && q == "COMMIT") {
      // A failed COMMIT (a deferred constraint, a busy database) leaves the transaction open: undo it.
      const std::string back = "ROLLBACK";
      auto undo = [c, &call, &back] { return run_script(*c, call, back); };
      clean = status_of(co_await run_blocking(call, undo)).ok();
    }
    observe.finish(st);
    if (clean) {
      impl_->release(std::move(conn_));
    } else {
      // The transaction may still be open (the pool refused the job, the rollback failed): this
      // connection must never be handed out again. Closing it rolls back whatever is open.
      auto doomed = std::move(conn_);
      auto close = [holder = std::make_shared<std::unique_ptr<Conn>>(std::move(doomed))] { holder->reset(); };
      if (!impl_->rt.blocking_pool().try_submit(close)) close();
      impl_->release(nullptr);
    }
    co_return st;
  }

  std::shared_ptr<SqliteDatabase::Impl> impl_;
  std::unique_ptr<Conn> conn_;
  Context finish_ctx_;
};

}  // namespace

Result<std::shared_ptr<SqliteDatabase>> SqliteDatabase::open(Runtime& rt, SqliteOptions options) {
  if (options.max_connections < 1) options.max_connections = 1;
  if (options.create_directories && options.path != ":memory:" && !options.path.starts_with("file:")) {
    auto parent = std::filesystem::path(options.path).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  }
  auto impl = std::make_shared<Impl>(rt, std::move(options));
  auto first = impl->connect();
  if (!first) return std::unexpected(first.error());
  impl->open = 1;
  impl->idle.push_back(std::move(*first));
  return std::shared_ptr<SqliteDatabase>(new SqliteDatabase(std::move(impl)));
}

SqliteDatabase::~SqliteDatabase() {
  close();
}

void SqliteDatabase::close() {
  std::lock_guard lock(impl_->mu);
  impl_->closed = true;
  impl_->open -= static_cast<int>(impl_->idle.size());
  impl_->idle.clear();
  impl_->cv.notify_all();
}

Task<Result<Rows>> SqliteDatabase::query(const Context& ctx, std::string_view sql, Params params) {
  std::string q(sql);  // the caller's text may not outlive the suspension
  detail::Observe observe(ctx, "sqlite", q);
  const Context& call = observe.context();
  Impl* impl = impl_.get();
  auto job = [impl, &call, &q, &params]() -> Result<Rows> {
    auto c = impl->acquire(call);
    if (!c) return std::unexpected(c.error());
    auto r = run(**c, call, q, params);
    impl->release(std::move(*c));
    return r;
  };
  auto r = co_await run_blocking(call, job);
  observe.finish(status_of(r));
  co_return r;
}

Task<Result<std::uint64_t>> SqliteDatabase::stream(const Context& ctx, std::string_view sql, Params params,
                                                   RowFn on_row) {
  std::string q(sql);
  detail::Observe observe(ctx, "sqlite", q);
  const Context& call = observe.context();
  Impl* impl = impl_.get();
  auto job = [impl, &call, &q, &params, &on_row]() -> Result<std::uint64_t> {
    auto c = impl->acquire(call);
    if (!c) return std::unexpected(c.error());
    std::uint64_t seen = 0;
    auto r = run(**c, call, q, params, &on_row, &seen);
    impl->release(std::move(*c));
    if (!r) return std::unexpected(r.error());
    return seen;
  };
  auto r = co_await run_blocking(call, job);
  observe.finish(status_of(r));
  co_return r;
}

Task<Status> SqliteDatabase::exec_script(const Context& ctx, std::string_view sql) {
  std::string q(sql);
  detail::Observe observe(ctx, "sqlite", q);
  const Context& call = observe.context();
  Impl* impl = impl_.get();
  auto job = [impl, &call, &q]() -> Status {
    auto c = impl->acquire(call);
    if (!c) return c.error();
    Status st = run_script(**c, call, q);
    impl->release(std::move(*c));
    return st;
  };
  Status st = status_of(co_await run_blocking(call, job));
  observe.finish(st);
  co_return st;
}

Task<Result<std::unique_ptr<Tx>>> SqliteDatabase::begin(const Context& ctx) {
  static const std::string kBegin = "BEGIN IMMEDIATE";  // takes the write lock now, not at the first write
  detail::Observe observe(ctx, "sqlite", kBegin);
  const Context& call = observe.context();
  Impl* impl = impl_.get();
  auto job = [impl, &call]() -> Result<std::unique_ptr<Conn>> {
    auto c = impl->acquire(call);
    if (!c) return c;
    if (auto st = run_script(**c, call, kBegin); !st.ok()) {
      impl->release(std::move(*c));
      return std::unexpected(st);
    }
    return c;
  };
  auto conn = co_await run_blocking(call, job);
  observe.finish(status_of(conn));
  if (!conn) co_return std::unexpected(conn.error());
  co_return std::unique_ptr<Tx>(new SqliteTx(impl_, std::move(*conn), detail::finish_context(ctx)));
}

Task<Status> SqliteDatabase::ping(const Context& ctx) {
  auto r = co_await query(ctx, "SELECT 1");
  co_return r ? Status() : r.error();
}

}  // namespace svckit::db
