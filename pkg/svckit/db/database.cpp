#include "svckit/db/database.hpp"

namespace svckit::db {

Task<Result<OneRow>> Executor::query_one(const Context& ctx, std::string_view sql, Params params) {
  auto rows = co_await query(ctx, sql, std::move(params));
  if (!rows) co_return std::unexpected(rows.error());
  if (rows->empty()) co_return make_error(Status(Code::kNotFound, "NO_ROWS", "the query returned no row"));
  if (rows->size() > 1)
    co_return make_error(Status(Code::kFailedPrecondition, "TOO_MANY_ROWS",
                                "query_one: the query returned " + std::to_string(rows->size()) + " rows"));
  co_return OneRow(std::make_unique<Rows>(std::move(*rows)));
}

Task<Result<std::uint64_t>> Executor::exec(const Context& ctx, std::string_view sql, Params params) {
  auto rows = co_await query(ctx, sql, std::move(params));
  if (!rows) co_return std::unexpected(rows.error());
  co_return rows->affected();
}

namespace {

// Runs fn, then commits with `commit` or undoes with `undo`; an exception is rethrown after the undo.
Task<Status> run_and_settle(Tx& tx, TxFn& fn, std::function<Task<Status>()> commit,
                            std::function<Task<Status>()> undo) {
  Status st;
  std::exception_ptr error;
  try {
    st = co_await fn(tx);
  } catch (...) {
    error = std::current_exception();
  }
  if (!error && st.ok()) co_return co_await commit();
  Status undone = co_await undo();
  (void)undone;  // the original failure is what the caller needs
  if (error) std::rethrow_exception(error);
  co_return st;
}

}  // namespace

Task<Status> Database::transaction(const Context& ctx, TxFn fn) {
  auto tx = co_await begin(ctx);
  if (!tx) co_return tx.error();
  Tx* t = tx->get();
  co_return co_await run_and_settle(
      *t, fn, [t] { return t->commit(); }, [t] { return t->rollback(); });
}

Task<Status> Tx::transaction(const Context& ctx, TxFn fn) {
  // SQL strings are named locals: a temporary inside a co_await expression is what GCC 12 mishandles
  // (docs/architecture.md), and the commit/undo coroutines must own what they send.
  const std::string name = "svckit_sp" + std::to_string(++savepoints_);
  const std::string begin_sql = "SAVEPOINT " + name;
  Status st = co_await exec_script(ctx, begin_sql);
  if (!st.ok()) co_return st;
  auto release = [this, ctx, name]() -> Task<Status> {
    const std::string sql = "RELEASE SAVEPOINT " + name;
    co_return co_await exec_script(ctx, sql);
  };
  auto undo = [this, ctx, name]() -> Task<Status> {
    const std::string back = "ROLLBACK TO SAVEPOINT " + name, drop = "RELEASE SAVEPOINT " + name;
    Status rolled = co_await exec_script(ctx, back);
    if (!rolled.ok()) co_return rolled;
    co_return co_await exec_script(ctx, drop);
  };
  co_return co_await run_and_settle(*this, fn, release, undo);
}

}  // namespace svckit::db
