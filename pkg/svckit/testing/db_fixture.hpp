#pragma once
// One suite, two backends: SQLite on a temp file and a real PostgreSQL 15 that the test starts itself
// (scripts/pg.sh: initdb from a cached template, 127.0.0.1, a free port, a temp folder). Outside
// make test, without PostgreSQL installed, the postgres cases skip and say so.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "svckit/core/runtime.hpp"
#include "svckit/db/postgres.hpp"
#include "svckit/db/sqlite.hpp"

namespace svckit::db {

using namespace std::chrono_literals;

inline std::string shell(const std::string& cmd, int* rc = nullptr) {
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  for (std::size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  int status = pclose(p);
  if (rc) *rc = status;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// A PostgreSQL server of this test process, started on first use.
struct PgServer {
  std::string script, dir, dsn;
  bool start() {
    int rc = 0;
    dsn = shell("bash " + script + " start " + dir + " 2>&1", &rc);
    return rc == 0;
  }
  void stop() { shell("bash " + script + " stop " + dir); }
  ~PgServer() {
    stop();
    std::filesystem::remove_all(dir);
  }
};

inline PgServer* pg_server() {
  static std::unique_ptr<PgServer> server = [] {
    const char* src = std::getenv("SVCKIT_SOURCE_DIR");
    if (!src || !std::filesystem::exists("/usr/lib/postgresql/15/bin/initdb")) return std::unique_ptr<PgServer>();
    auto s = std::make_unique<PgServer>();
    s->script = std::string(src) + "/scripts/pg.sh";
    s->dir = (std::filesystem::temp_directory_path() / ("svckit_pg_" + std::to_string(::getpid()))).string();
    if (!s->start()) {
      ADD_FAILURE() << "could not start PostgreSQL: " << s->dsn;
      return std::unique_ptr<PgServer>();
    }
    return s;
  }();
  return server.get();
}

class DbTest : public ::testing::TestWithParam<std::string> {
 protected:
  template <class F>
  auto run(F f) {
    return rt_.block_on(f());
  }
  Status exec(std::string sql) {
    return run([&]() -> Task<Status> { co_return co_await db_->exec_script(Context(), sql); });
  }
  Result<Rows> query(std::string sql, Params params = {}) {
    return run(
        [&]() -> Task<Result<Rows>> { co_return co_await db_->query(Context().with_timeout(10s), sql, params); });
  }

  void SetUp() override {
    if (postgres()) {
      server_ = pg_server();
      if (!server_) GTEST_SKIP() << "PostgreSQL 15 not installed (make test installs it)";
      auto db = PgDatabase::open(
          rt_, {.dsn = server_->dsn, .max_connections = 4, .acquire_timeout = 2000ms, .connect_timeout = 2000ms});
      ASSERT_TRUE(db) << db.error().to_string();
      pg_ = *db;
      db_ = *db;
      // Each test starts from an empty schema.
      ASSERT_TRUE(exec("DROP SCHEMA public CASCADE; CREATE SCHEMA public;").ok());
    } else {
      dir_ = std::filesystem::temp_directory_path() / ("svckit_db_" + std::to_string(::getpid()));
      std::filesystem::remove_all(dir_);
      auto db = SqliteDatabase::open(rt_, {.path = (dir_ / "test.db").string()});
      ASSERT_TRUE(db) << db.error().to_string();
      db_ = *db;
    }
  }
  void TearDown() override {
    if (db_) db_->close();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  bool postgres() const { return GetParam() == "postgres"; }
  // DDL differs between the dialects; everything else in these tests is the same SQL.
  std::string ddl(std::string_view pg, std::string_view sqlite) const { return std::string(postgres() ? pg : sqlite); }

  Runtime rt_{{.workers = 2}};
  std::shared_ptr<Database> db_;
  std::shared_ptr<PgDatabase> pg_;
  PgServer* server_ = nullptr;
  std::filesystem::path dir_;
};

}  // namespace svckit::db
