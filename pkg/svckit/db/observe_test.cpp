// What every database call records without user code, on both backends: a client span under the
// caller's span, svckit_db_* RED metrics, nothing for a probe; and SQLite's lock waits bounded by the
// call's deadline.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdlib>
#include <string>

#include "svckit/metrics/metrics.hpp"
#include "svckit/testing/db_fixture.hpp"
#include "svckit/trace/tracer.hpp"

namespace svckit::db {
namespace {

// The value of svckit_db_queries_total{driver,operation,code} in the global registry (0 when absent).
double queries(std::string_view driver, std::string_view operation, std::string_view code) {
  std::string text = metrics::Registry::global().render();
  std::string series = "svckit_db_queries_total{driver=\"" + std::string(driver) + "\",operation=\"" +
                       std::string(operation) + "\",code=\"" + std::string(code) + "\"} ";
  auto at = text.find(series);
  if (at == std::string::npos) return 0;
  return std::strtod(text.c_str() + at + series.size(), nullptr);
}

std::string attribute(const trace::SpanData& span, std::string_view key) {
  for (auto& a : span.attributes)
    if (a.key == key)
      if (auto* s = std::get_if<std::string>(&a.value)) return *s;
  return {};
}

class ObservedDbTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    if (IsSkipped()) return;
    ring_ = std::make_shared<trace::RingBufferProcessor>(256);
    tracer_ = std::make_shared<trace::Tracer>(
        trace::TracerOptions{.resource = trace::Resource::detect("db-test"), .processors = {ring_}});
    trace::Tracer::set_global(tracer_);
  }
  void TearDown() override {
    trace::Tracer::set_global(nullptr);
    DbTest::TearDown();
  }
  std::string driver() const { return postgres() ? "postgres" : "sqlite"; }
  std::vector<trace::SpanData> client_spans(const trace::TraceId& trace) const {
    std::vector<trace::SpanData> out;
    for (auto& s : ring_->recent())
      if (s.kind == trace::SpanKind::kClient && s.context.trace_id == trace) out.push_back(s);
    return out;
  }

  std::shared_ptr<trace::RingBufferProcessor> ring_;
  std::shared_ptr<trace::Tracer> tracer_;
};

TEST_P(ObservedDbTest, EveryCallIsAClientSpanUnderTheCallersSpanAndCountsInTheDbMetrics) {
  ASSERT_TRUE(exec("CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT)").ok());
  const double inserts = queries(driver(), "INSERT", "OK");
  const double commits = queries(driver(), "COMMIT", "OK");

  auto parent = tracer_->start(Context(), "handler", trace::SpanKind::kServer);
  const Context ctx = trace::with_span(Context().with_timeout(10s), parent.context());
  auto ins = run([&]() -> Task<Result<std::uint64_t>> {
    const std::string sql = "INSERT INTO notes (id, body) VALUES ($1, $2)";
    Params args{1, std::string("one")};
    co_return co_await db_->exec(ctx, sql, args);
  });
  ASSERT_TRUE(ins) << ins.error().to_string();
  const std::string broken = "SELECT nope FROM missing";
  auto bad = run([&]() -> Task<Result<Rows>> { co_return co_await db_->query(ctx, broken); });
  ASSERT_FALSE(bad);
  Status tx = run([&]() -> Task<Status> {
    co_return co_await db_->transaction(ctx, [&](Tx& t) -> Task<Status> {
      const std::string sql = "INSERT INTO notes (id, body) VALUES ($1, $2)";
      Params args{2, std::string("two")};
      auto r = co_await t.exec(ctx, sql, args);
      co_return r ? Status() : r.error();
    });
  });
  ASSERT_TRUE(tx.ok()) << tx.to_string();
  parent.end();

  EXPECT_EQ(queries(driver(), "INSERT", "OK"), inserts + 2);
  EXPECT_EQ(queries(driver(), "COMMIT", "OK"), commits + 1);
  EXPECT_GE(queries(driver(), "SELECT", code_name(bad.error().code())), 1);

  auto spans = client_spans(parent.context().trace_id);
  std::vector<std::string> operations;
  for (auto& s : spans) {
    operations.push_back(attribute(s, "db.operation"));
    EXPECT_EQ(s.parent_span_id, parent.context().span_id) << s.name << " is not a child of the caller's span";
    EXPECT_EQ(attribute(s, "db.system"), postgres() ? "postgresql" : "sqlite");
    if (attribute(s, "db.statement") == broken) {
      EXPECT_EQ(s.status, trace::StatusCode::kError);
    }
  }
  EXPECT_EQ(operations, (std::vector<std::string>{"INSERT", "SELECT", "BEGIN", "INSERT", "COMMIT"}));
}

TEST_P(ObservedDbTest, AProbesCallsAreNeitherTracedNorCounted) {
  const double selects = queries(driver(), "SELECT", "OK");
  const std::size_t spans = ring_->recent().size();
  for (int i = 0; i < 3; ++i) {
    Status st = run([&]() -> Task<Status> { co_return co_await db_->ping(as_probe(Context().with_timeout(10s))); });
    ASSERT_TRUE(st.ok()) << st.to_string();
  }
  EXPECT_EQ(queries(driver(), "SELECT", "OK"), selects);
  EXPECT_EQ(ring_->recent().size(), spans);
  // The same call made for a request is observed.
  ASSERT_TRUE(query("SELECT 1"));
  EXPECT_EQ(queries(driver(), "SELECT", "OK"), selects + 1);
  EXPECT_EQ(ring_->recent().size(), spans + 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, ObservedDbTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

// Holds SQLite's write lock from another connection, as another process would.
class WriteLock {
 public:
  explicit WriteLock(const std::string& path) {
    sqlite3_open(path.c_str(), &db_);
    ok_ = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  ~WriteLock() {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
  }
  bool ok() const { return ok_; }

 private:
  sqlite3* db_ = nullptr;
  bool ok_ = false;
};

class SqliteLockTest : public DbTest {};

TEST_P(SqliteLockTest, TheDeadlineBoundsTheWaitForAWriteLockHeldElsewhere) {
  ASSERT_TRUE(exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)").ok());
  {
    WriteLock lock((dir_ / "test.db").string());
    ASSERT_TRUE(lock.ok());
    // busy_timeout is 5 s; the deadline (300 ms) is what ends the wait.
    auto t0 = std::chrono::steady_clock::now();
    auto ins = run([&]() -> Task<Result<std::uint64_t>> {
      const std::string sql = "INSERT INTO notes (body) VALUES ('x')";
      co_return co_await db_->exec(Context().with_timeout(300ms), sql);
    });
    auto took = std::chrono::steady_clock::now() - t0;
    ASSERT_FALSE(ins);
    EXPECT_EQ(ins.error().code(), Code::kDeadlineExceeded) << ins.error().to_string();
    EXPECT_LT(took, 2s);
    EXPECT_GE(took, 250ms);
    // Beginning a transaction waits for the same lock, under the same bound.
    auto tx = run(
        [&]() -> Task<Result<std::unique_ptr<Tx>>> { co_return co_await db_->begin(Context().with_timeout(300ms)); });
    ASSERT_FALSE(tx);
    EXPECT_EQ(tx.error().code(), Code::kDeadlineExceeded) << tx.error().to_string();
    // Reads go on while the lock is held (WAL).
    EXPECT_TRUE(query("SELECT count(*) FROM notes"));
  }
  // The lock is gone: the write goes through, nothing was half-written before.
  auto ins = run([&]() -> Task<Result<std::uint64_t>> {
    const std::string sql = "INSERT INTO notes (body) VALUES ('y')";
    co_return co_await db_->exec(Context().with_timeout(2s), sql);
  });
  ASSERT_TRUE(ins) << ins.error().to_string();
  auto n = query("SELECT count(*) FROM notes");
  ASSERT_TRUE(n);
  EXPECT_EQ(*(*n)[0].get<std::int64_t>(0), 1);
}

TEST_P(SqliteLockTest, WithoutADeadlineBusyTimeoutEndsTheWaitWithAborted) {
  ASSERT_TRUE(exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)").ok());
  auto short_wait = SqliteDatabase::open(rt_, {.path = (dir_ / "test.db").string(), .busy_timeout = 200ms});
  ASSERT_TRUE(short_wait);
  WriteLock lock((dir_ / "test.db").string());
  ASSERT_TRUE(lock.ok());
  auto t0 = std::chrono::steady_clock::now();
  auto ins = run([&]() -> Task<Result<std::uint64_t>> {
    const std::string sql = "INSERT INTO notes (body) VALUES ('x')";
    co_return co_await (*short_wait)->exec(Context(), sql);
  });
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(ins);
  EXPECT_EQ(ins.error().code(), Code::kAborted) << ins.error().to_string();
  EXPECT_GE(took, 180ms);
  EXPECT_LT(took, 3s);
  (*short_wait)->close();
}

INSTANTIATE_TEST_SUITE_P(Sqlite, SqliteLockTest, ::testing::Values("sqlite"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace svckit::db
