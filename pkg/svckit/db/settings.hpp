#pragma once
// The `db:` configuration section and the Database it opens:
//   db:
//     driver: sqlite                 # sqlite (embedded default) | postgres
//     migrate_on_start: true
//     migrations: migrations         # + /sqlite or /postgres
//     sqlite: { path: data/user.db, max_connections: 4, busy_timeout: 5s }
//     postgres: { dsn: "host=... dbname=...", password: ..., min_connections: 1, max_connections: 8,
//                 acquire_timeout: 2s, connect_timeout: 5s, max_lifetime: 30m, idle_timeout: 5m,
//                 statement_timeout: 30s, pipeline: true, max_pipeline_depth: 64,
//                 application_name: svckit }
// The sqlite and postgres subsections are the drivers' own options (SqliteOptions, PgOptions).
#include <chrono>
#include <memory>
#include <string>

#include "svckit/config/binder.hpp"
#include "svckit/core/runtime.hpp"
#include "svckit/db/database.hpp"
#include "svckit/db/pg_options.hpp"
#include "svckit/db/sqlite.hpp"

namespace svckit::db {

struct DbSettings {
  std::string driver = "sqlite";
  bool migrate_on_start = true;
  // The folder of versioned migrations, one subfolder per driver (sqlite/, postgres/); relative to
  // the service's root (config::Config::resolve) when the App opens the database.
  std::string migrations = "migrations";
  SqliteOptions sqlite;
  PgOptions postgres;
  static void describe(config::Binder<DbSettings>& b);
};

// Opens the configured database. SQLite opens the file now; PostgreSQL starts its pool and connects
// in the background (a server that is down makes calls fail fast with UNAVAILABLE until it is back).
// The PostgreSQL driver is its own target, svckit::db_postgres (it brings libpq): a program that
// links only svckit::db gets FAILED_PRECONDITION for driver postgres.
Result<std::shared_ptr<Database>> open_database(Runtime& rt, const DbSettings& settings);

namespace detail {
// Defined in svckit::db_postgres only (weak here: see open_database).
[[gnu::weak]] Result<std::shared_ptr<Database>> open_postgres(Runtime& rt, const PgOptions& options);
}  // namespace detail

}  // namespace svckit::db
