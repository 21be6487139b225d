// Row mapping against the hand-written scan it replaces: 10,000 rows of a user-like table (8 columns:
// integers, text, a NULL-able text, JSON, two timestamps, a double) on SQLite (a temp file) and on a
// PostgreSQL 15 this benchmark starts itself (scripts/pg.sh).
//   Fetch*:  the query and the rows into a std::vector of structs, as a handler does;
//   Decode*: the rows of one prefetched result into structs (the mapping's own cost, no I/O).
// *Scan is row.scan(...) into the struct's members written out by hand; *QueryAs is query_as<T>
// (Fetch) or map_rows<T> (Decode). docs/benchmarks.md has the figures and the command (make bench-db
// runs it).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "svckit/core/runtime.hpp"
#include "svckit/db/database.hpp"
#include "svckit/db/postgres.hpp"
#include "svckit/db/sqlite.hpp"

namespace svckit::db {
namespace {

struct BenchUser {
  std::int64_t id = 0;
  std::string email;
  std::string name;
  std::optional<std::string> external_id;
  Json profile;
  Timestamp created_at;
  Timestamp updated_at;
  double score = 0;
  static void json_schema(json::Schema<BenchUser>& s) {
    s.field("id", &BenchUser::id);
    s.field("email", &BenchUser::email);
    s.field("name", &BenchUser::name);
    s.field("external_id", &BenchUser::external_id);
    s.field("profile", &BenchUser::profile);
    s.field("created_at", &BenchUser::created_at);
    s.field("updated_at", &BenchUser::updated_at);
    s.field("score", &BenchUser::score);
  }
};

constexpr std::size_t kRows = 10000;
const std::string kSelect =
    "SELECT id, email, name, external_id, profile, created_at, updated_at, score FROM bench_users ORDER BY id";

std::string shell(const std::string& cmd) {
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[512];
    for (std::size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    pclose(p);
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

struct Backends {
  Runtime rt{{.workers = 1}};
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("svckit_rows_bench_" + std::to_string(getpid()));
  std::shared_ptr<Database> sqlite, postgres;
  bool pg_started = false;

  Status fill(Database& db, std::string_view ddl) {
    return rt.block_on([&]() -> Task<Status> {
      Context ctx;
      if (Status st = co_await db.exec_script(ctx, ddl); !st.ok()) co_return st;
      co_return co_await db.transaction(ctx, [&](Tx& tx) -> Task<Status> {
        const std::string insert =
            "INSERT INTO bench_users (id, email, name, external_id, profile, created_at, updated_at, score) "
            "VALUES ($1, $2, $3, $4, $5, $6, $6, $7)";
        auto t = *parse_timestamp("2026-11-27T11:52:15.123456Z");
        for (std::size_t i = 1; i <= kRows; ++i) {
          std::optional<std::string> ext;
          if (i % 2) ext = "crm-" + std::to_string(i);
          Params args{static_cast<std::int64_t>(i),
                      "user" + std::to_string(i) + "@example.com",
                      "User " + std::to_string(i),
                      ext,
                      Json{R"({"city":"Oslo","tier":)" + std::to_string(i % 5) + R"(,"tags":["a","b"]})"},
                      t + std::chrono::seconds(i),
                      0.25 * static_cast<double>(i)};
          auto n = co_await tx.exec(ctx, insert, args);
          if (!n) co_return n.error();
        }
        co_return Status();
      });
    }());
  }

  Backends() {
    std::filesystem::create_directories(dir);
    auto s = SqliteDatabase::open(rt, {.path = (dir / "bench.db").string()});
    if (!s) throw std::runtime_error(s.error().to_string());
    sqlite = *s;
    Status st = fill(*sqlite,
                     "CREATE TABLE bench_users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL, "
                     "external_id TEXT, profile TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, "
                     "score REAL NOT NULL)");
    if (!st.ok()) throw std::runtime_error(st.to_string());
    const char* src = std::getenv("SVCKIT_SOURCE_DIR");
    std::string script = std::string(src ? src : SVCKIT_SOURCE_DIR) + "/scripts/pg.sh";
    std::string pg_dir = "/tmp/svckit_rows_bench_pg_" + std::to_string(getpid());
    std::string dsn = shell("bash " + script + " start " + pg_dir + " 2>/dev/null");
    pg_started = dsn.starts_with("host=");
    if (!pg_started) {
      std::fprintf(stderr, "PostgreSQL did not start (%s): its benchmarks are skipped\n", dsn.c_str());
      return;
    }
    stop_pg = "bash " + script + " stop " + pg_dir + " >/dev/null 2>&1; rm -rf " + pg_dir;
    auto p = PgDatabase::open(rt, {.dsn = dsn, .min_connections = 1, .max_connections = 1});
    if (!p) throw std::runtime_error(p.error().to_string());
    postgres = *p;
    st = fill(*postgres,
              "CREATE TABLE bench_users (id bigint PRIMARY KEY, email text NOT NULL, name text NOT NULL, "
              "external_id text, profile jsonb NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz "
              "NOT NULL, score double precision NOT NULL); ANALYZE bench_users");
    if (!st.ok()) throw std::runtime_error(st.to_string());
  }
  ~Backends() {
    if (postgres) postgres->close();
    if (sqlite) sqlite->close();
    if (!stop_pg.empty()) shell(stop_pg);
    std::filesystem::remove_all(dir);
  }
  std::string stop_pg;
};

Backends& backends() {
  static Backends b;
  return b;
}

Database* pick(benchmark::State& state, bool pg) {
  auto& b = backends();
  Database* db = pg ? b.postgres.get() : b.sqlite.get();
  if (!db) state.SkipWithError("PostgreSQL is not available");
  return db;
}

// What services wrote before query_as: the columns scanned into the struct's members by hand.
Status scan_all(const Rows& rows, std::vector<BenchUser>& out) {
  out.reserve(rows.size());
  for (Row row : rows) {
    BenchUser& u = out.emplace_back();
    if (Status st = row.scan(u.id, u.email, u.name, u.external_id, u.profile, u.created_at, u.updated_at, u.score);
        !st.ok())
      return st;
  }
  return {};
}

void FetchScan(benchmark::State& state, bool pg) {
  Database* db = pick(state, pg);
  if (!db) return;
  for (auto _ : state) {
    std::size_t n = backends().rt.block_on([&]() -> Task<std::size_t> {
      auto rows = co_await db->query(Context(), kSelect);
      if (!rows) co_return 0;
      std::vector<BenchUser> users;
      if (!scan_all(*rows, users).ok()) co_return 0;
      co_return users.size();
    }());
    if (n != kRows) state.SkipWithError("wrong row count");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRows));
}

void FetchQueryAs(benchmark::State& state, bool pg) {
  Database* db = pick(state, pg);
  if (!db) return;
  for (auto _ : state) {
    std::size_t n = backends().rt.block_on([&]() -> Task<std::size_t> {
      auto users = co_await db->query_as<BenchUser>(Context(), kSelect);
      co_return users ? users->size() : 0;
    }());
    if (n != kRows) state.SkipWithError("wrong row count");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRows));
}

Result<Rows> prefetch(Database& db) {
  return backends().rt.block_on([&]() -> Task<Result<Rows>> { co_return co_await db.query(Context(), kSelect); }());
}

void DecodeScan(benchmark::State& state, bool pg) {
  Database* db = pick(state, pg);
  if (!db) return;
  auto rows = prefetch(*db);
  if (!rows) return state.SkipWithError("query failed");
  for (auto _ : state) {
    std::vector<BenchUser> users;
    if (!scan_all(*rows, users).ok()) state.SkipWithError("scan failed");
    benchmark::DoNotOptimize(users.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRows));
}

void DecodeQueryAs(benchmark::State& state, bool pg) {
  Database* db = pick(state, pg);
  if (!db) return;
  auto rows = prefetch(*db);
  if (!rows) return state.SkipWithError("query failed");
  for (auto _ : state) {
    auto users = map_rows<BenchUser>(*rows);
    if (!users) state.SkipWithError(users.error().to_string().c_str());
    benchmark::DoNotOptimize(users->data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRows));
}

}  // namespace
}  // namespace svckit::db

int main(int argc, char** argv) {
  using namespace svckit::db;
  for (bool pg : {false, true}) {
    const char* b = pg ? "postgres" : "sqlite";
    // The work runs on the runtime's threads (and SQLite's blocking pool), not the benchmark's: CPU is
    // the process's, time is wall-clock.
    benchmark::RegisterBenchmark((std::string("Fetch10k/Scan/") + b).c_str(), FetchScan, pg)
        ->Unit(benchmark::kMillisecond)
        ->MeasureProcessCPUTime()
        ->UseRealTime();
    benchmark::RegisterBenchmark((std::string("Fetch10k/QueryAs/") + b).c_str(), FetchQueryAs, pg)
        ->Unit(benchmark::kMillisecond)
        ->MeasureProcessCPUTime()
        ->UseRealTime();
    benchmark::RegisterBenchmark((std::string("Decode10k/Scan/") + b).c_str(), DecodeScan, pg)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark((std::string("Decode10k/QueryAs/") + b).c_str(), DecodeQueryAs, pg)
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;  // backends() stops PostgreSQL and removes the files as statics are destroyed
}
