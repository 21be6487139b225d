// The service and repository layers on a real SQLite file with the service's own migrations: the
// example resource's CRUD, validation, not found and paging.
#include "{{name}}/service.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <svckit/db/migrate.hpp>
#include <svckit/db/settings.hpp>
#include <svckit/log/sink.hpp>

namespace {{name_snake}} {
namespace {

namespace fs = std::filesystem;
using svckit::Code;

class ItemServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ = fs::temp_directory_path() / ("{{name}}-test-" + std::to_string(::getpid()) + "-" + test);
    fs::create_directories(dir_);
    svckit::db::DbSettings settings;
    settings.sqlite.path = (dir_ / "test.db").string();
    auto db = svckit::db::open_database(rt_, settings);
    ASSERT_TRUE(db) << db.error().to_string();
    db_ = *db;
    auto migrations = svckit::db::load_migrations({{NAME}}_SOURCE_DIR "/internal/{{name}}/migrations/sqlite");
    ASSERT_TRUE(migrations) << migrations.error().to_string();
    svckit::log::LoggerOptions quiet_options;
    quiet_options.sink = std::make_shared<svckit::log::DiscardSink>();
    svckit::log::Logger quiet(quiet_options);
    auto applied = rt_.block_on(svckit::db::migrate_up(ctx_, *db_, *migrations, quiet));
    ASSERT_TRUE(applied) << applied.error().to_string();
    items_ = std::make_unique<ItemService>(ItemRepository(db_));
  }
  void TearDown() override {
    items_.reset();
    if (db_) db_->close();
    fs::remove_all(dir_);
  }
  template <class T>
  T run(svckit::Task<T> task) {
    return rt_.block_on(std::move(task));
  }
  static ItemInput input(std::string name, std::string description = "") {
    ItemInput in;
    in.name = std::move(name);
    in.description = std::move(description);
    return in;
  }

  fs::path dir_;
  svckit::Runtime rt_{svckit::RuntimeOptions{.workers = 1}};
  svckit::Context ctx_;
  std::shared_ptr<svckit::db::Database> db_;
  std::unique_ptr<ItemService> items_;
};

TEST_F(ItemServiceTest, CreateReadUpdateDelete) {
  auto created = run(items_->create(ctx_, input("  first  ", "one")));
  ASSERT_TRUE(created) << created.error().to_string();
  EXPECT_GT(created->id, 0);
  EXPECT_EQ(created->name, "first");  // trimmed
  EXPECT_EQ(created->version, 1);

  auto read = run(items_->get(ctx_, created->id));
  ASSERT_TRUE(read) << read.error().to_string();
  EXPECT_EQ(read->description, "one");

  auto updated = run(items_->update(ctx_, created->id, input("renamed", "two")));
  ASSERT_TRUE(updated) << updated.error().to_string();
  EXPECT_EQ(updated->name, "renamed");
  EXPECT_EQ(updated->version, 2);

  EXPECT_TRUE(run(items_->remove(ctx_, created->id)).ok());
  auto gone = run(items_->get(ctx_, created->id));
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), Code::kNotFound);
  EXPECT_EQ(gone.error().reason(), "ITEM_NOT_FOUND");
}

TEST_F(ItemServiceTest, ABlankNameIsRefused) {
  auto created = run(items_->create(ctx_, input("   ")));
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code(), Code::kInvalidArgument);
}

TEST_F(ItemServiceTest, MissingItemsAreNotFound) {
  EXPECT_EQ(run(items_->update(ctx_, 42, input("x"))).error().reason(), "ITEM_NOT_FOUND");
  EXPECT_EQ(run(items_->remove(ctx_, 42)).reason(), "ITEM_NOT_FOUND");
}

TEST_F(ItemServiceTest, ListsInPages) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(run(items_->create(ctx_, input("item " + std::to_string(i)))));
  auto first = run(items_->list(ctx_, "", 2));
  ASSERT_TRUE(first) << first.error().to_string();
  ASSERT_EQ(first->items.size(), 2u);
  EXPECT_EQ(first->items[0].name, "item 0");
  ASSERT_FALSE(first->next_cursor.empty());
  std::vector<std::string> names;
  std::string cursor = first->next_cursor;
  while (!cursor.empty()) {
    auto page = run(items_->list(ctx_, cursor, 2));
    ASSERT_TRUE(page) << page.error().to_string();
    for (const auto& item : page->items) names.push_back(item.name);
    cursor = page->next_cursor;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"item 2", "item 3", "item 4"}));
  auto bad = run(items_->list(ctx_, "not-a-cursor", 2));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace {{name_snake}}
