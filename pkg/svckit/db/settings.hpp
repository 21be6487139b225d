#pragma once
// The `db:` configuration section and the Database it opens:
//   db:
//     driver: sqlite                 # sqlite (embedded default) | postgres
//     migrate_on_start: true
//     migrations: migrations         # + /sqlite or /postgres
//     sqlite: { path: data/user.db, max_connections: 4, busy_timeout: 5s }
//     postgres: { dsn: "host=... dbname=...", password: ..., min_connections: 1, max_connections: 8,
//                 acquire_timeout: 2s, connect_timeout: 5s, max_lifetime: 30m, idle_timeout: 5m,
//                 statement_timeout: 30s, pipeline: true }
#include <chrono>
#include <memory>
#include <string>

#include "svckit/config/binder.hpp"
#include "svckit/core/runtime.hpp"
#include "svckit/db/database.hpp"

namespace svckit::db {

struct SqliteSettings {
  std::string path = "data/svckit.db";
  int max_connections = 4;
  std::chrono::milliseconds busy_timeout{5000};
  static void describe(config::Binder<SqliteSettings>& b);
};

struct PostgresSettings {
  std::string dsn = "host=127.0.0.1 port=5432 dbname=svckit user=svckit";  // libpq keyword/value or URI
  std::string password;  // kept out of the DSN so it can come from a secret file (password_file)
  int min_connections = 1;
  int max_connections = 8;
  std::chrono::milliseconds acquire_timeout{2000};
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds max_lifetime{1800000};
  std::chrono::milliseconds idle_timeout{300000};
  std::chrono::milliseconds statement_timeout{30000};
  bool pipeline = true;
  static void describe(config::Binder<PostgresSettings>& b);
};

struct DbSettings {
  std::string driver = "sqlite";
  bool migrate_on_start = true;
  // The folder of versioned migrations, one subfolder per driver (sqlite/, postgres/); relative to
  // the service's root (config::Config::resolve) when the App opens the database.
  std::string migrations = "migrations";
  SqliteSettings sqlite;
  PostgresSettings postgres;
  static void describe(config::Binder<DbSettings>& b);
};

// Opens the configured database. SQLite opens the file now; PostgreSQL starts its pool and connects
// in the background (a server that is down makes calls fail fast with UNAVAILABLE until it is back).
// The PostgreSQL driver is its own target, svckit::db_postgres (it brings libpq): a program that
// links only svckit::db gets FAILED_PRECONDITION for driver postgres.
Result<std::shared_ptr<Database>> open_database(Runtime& rt, const DbSettings& settings);

namespace detail {
// Defined in svckit::db_postgres only (weak here: see open_database).
[[gnu::weak]] Result<std::shared_ptr<Database>> open_postgres(Runtime& rt, const PostgresSettings& settings);
}  // namespace detail

}  // namespace svckit::db
