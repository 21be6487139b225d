// App::database(): the service's database opened from config, migrated from the service's root
// (wherever the process was started from), checked by readiness, closed by the stop sequence.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "svckit/app/app.hpp"
#include "svckit/db/settings.hpp"
#include "svckit/http/client.hpp"

using namespace std::chrono_literals;

namespace svckit::app {
namespace {

namespace fs = std::filesystem;

class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("svckit_appdb_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "configs");
    fs::create_directories(root_ / "db" / "migrations" / "sqlite");
    std::ofstream(root_ / "configs" / "base.yaml")
        << "log:\n  level: error\n  async: false\nhttp:\n  host: 127.0.0.1\n  port: 0\nadmin:\n  port: 0\n"
           "db:\n  migrations: db/migrations\n  sqlite:\n    path: data/books.db\n";
    migration("0001_books.sql", "CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT NOT NULL);");
    fs::create_directories(root_ / "elsewhere");
  }
  void TearDown() override { fs::remove_all(root_); }
  void migration(const std::string& name, const std::string& sql) {
    std::ofstream(root_ / "db" / "migrations" / "sqlite" / name) << sql;
  }
  // An App of the service at root_/configs, started from a folder of no importance.
  std::unique_ptr<App> make(std::vector<std::string> sets = {}) {
    auto app = std::make_unique<App>(AppOptions{.name = "books", .registry = &registry_});
    app->define<db::DbSettings>("db");
    std::vector<std::string> args = {"books", "--config-dir", (root_ / "configs").string()};
    for (auto& s : sets) {
      args.push_back("--set");
      args.push_back(s);
    }
    std::vector<const char*> argv;
    for (auto& a : args) argv.push_back(a.c_str());
    auto before = fs::current_path();
    fs::current_path(root_ / "elsewhere");
    auto exit = app->init(static_cast<int>(argv.size()), argv.data());
    fs::current_path(before);
    EXPECT_FALSE(exit);
    return app;
  }

  fs::path root_;
  metrics::Registry registry_;
};

TEST_F(DatabaseTest, OpensMigratesChecksReadinessAndClosesAtStop) {
  auto app = make();
  auto db = app->database();
  ASSERT_TRUE(db) << db.error().to_string();
  EXPECT_EQ((*db)->driver(), "sqlite");
  // The file is under the service's root, not the working directory.
  EXPECT_TRUE(fs::exists(root_ / "data" / "books.db"));
  EXPECT_FALSE(fs::exists(root_ / "elsewhere" / "data"));
  // The migration ran; a second call returns the same database.
  auto again = app->database();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->get(), db->get());
  const std::string insert = "INSERT INTO books (title) VALUES ($1)";
  db::Params args{std::string("Dune")};
  auto ins = app->runtime().block_on([&]() -> Task<Result<std::uint64_t>> {
    co_return co_await (*db)->exec(Context().with_timeout(5s), insert, args);
  }());
  ASSERT_TRUE(ins) << ins.error().to_string();

  ASSERT_TRUE(app->start().ok());
  http::Client client(app->runtime());
  auto ready = app->runtime().block_on(client.send(
      Context().with_timeout(5s),
      {.method = http::Method::kGet, .url = "http://127.0.0.1:" + std::to_string(app->admin_port()) + "/readyz"}));
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_NE(ready->body.find(R"("db":"ok")"), std::string::npos) << ready->body;
  app->request_stop();
  app->wait();
  // Closed by the stop sequence.
  const std::string count = "SELECT count(*) FROM books";
  Runtime rt({.workers = 1});
  auto after = rt.block_on([&]() -> Task<Result<db::Rows>> { co_return co_await (*db)->query(Context(), count); }());
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code(), Code::kUnavailable);
}

TEST_F(DatabaseTest, ABrokenMigrationOrAMissingDriverIsAnErrorThatSaysWhy) {
  migration("0002_broken.sql", "CREATE TABLE oops (;");
  auto app = make();
  auto db = app->database();
  ASSERT_FALSE(db);
  EXPECT_NE(db.error().message().find("0002_broken"), std::string_view::npos) << db.error().to_string();

  // This test links svckit::db without svckit::db_postgres: driver postgres is refused, not crashed.
  auto pg = make({"db.driver=postgres"});
  auto refused = pg->database();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), Code::kFailedPrecondition);
  EXPECT_NE(refused.error().message().find("svckit::db_postgres"), std::string_view::npos);
}

TEST_F(DatabaseTest, WithoutTheDbSectionItIsAProgrammerError) {
  auto app = std::make_unique<App>(AppOptions{.name = "nodb", .registry = &registry_});
  std::vector<const char*> argv = {"nodb", "--config-dir", "none", "--set", "admin.port=0", "--set", "http.port=0"};
  ASSERT_FALSE(app->init(static_cast<int>(argv.size()), argv.data()));
  EXPECT_THROW((void)app->database(), std::logic_error);
}

}  // namespace
}  // namespace svckit::app
