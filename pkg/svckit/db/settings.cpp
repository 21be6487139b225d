#include "svckit/db/settings.hpp"

#include "svckit/db/sqlite.hpp"

namespace svckit::db {

using std::chrono::milliseconds;

void SqliteOptions::describe(config::Binder<SqliteOptions>& b) {
  b.field("path", &SqliteOptions::path).non_empty().doc("database file (created with its folder)");
  b.field("max_connections", &SqliteOptions::max_connections).range(1, 64);
  b.field("busy_timeout", &SqliteOptions::busy_timeout)
      .range(milliseconds(0), milliseconds(600000))
      .doc("how long a write waits for another process's lock (the call's deadline bounds it too)");
}

void PgOptions::describe(config::Binder<PgOptions>& b) {
  b.field("dsn", &PgOptions::dsn).non_empty().doc("libpq connection string or postgres:// URI");
  b.field("password", &PgOptions::password).secret();
  b.field("min_connections", &PgOptions::min_connections).range(0, 1000);
  b.field("max_connections", &PgOptions::max_connections).range(1, 1000);
  b.field("acquire_timeout", &PgOptions::acquire_timeout).range(milliseconds(1), milliseconds(600000));
  b.field("connect_timeout", &PgOptions::connect_timeout).range(milliseconds(10), milliseconds(600000));
  b.field("max_lifetime", &PgOptions::max_lifetime).range(milliseconds(1000), milliseconds(86400000));
  b.field("idle_timeout", &PgOptions::idle_timeout).range(milliseconds(1000), milliseconds(86400000));
  b.field("statement_timeout", &PgOptions::statement_timeout)
      .range(milliseconds(0), milliseconds(86400000))
      .doc("set per connection as a backstop; 0: none");
  b.field("pipeline", &PgOptions::pipeline).doc("pipeline independent queries on shared connections");
  b.field("max_pipeline_depth", &PgOptions::max_pipeline_depth).range(1, 4096).doc("queries in flight per connection");
  b.field("application_name", &PgOptions::application_name).doc("shown in pg_stat_activity");
  b.validate([](const PgOptions& s) {
    return s.min_connections <= s.max_connections
               ? Status()
               : Status(Code::kInvalidArgument, "min_connections must not exceed max_connections");
  });
}

void DbSettings::describe(config::Binder<DbSettings>& b) {
  b.field("driver", &DbSettings::driver).one_of({"sqlite", "postgres"});
  b.field("migrate_on_start", &DbSettings::migrate_on_start)
      .doc("apply pending migrations when the service starts (App::database)");
  b.field("migrations", &DbSettings::migrations)
      .non_empty()
      .doc("migrations folder, one subfolder per driver; relative to the service's root");
  b.section("sqlite", &DbSettings::sqlite);
  b.section("postgres", &DbSettings::postgres);
}

Result<std::shared_ptr<Database>> open_database(Runtime& rt, const DbSettings& s) {
  if (s.driver == "postgres") {
    // Defined by svckit::db_postgres; a weak reference pulls nothing in, so a program that does not
    // link the PostgreSQL driver does not link libpq either.
    if (!detail::open_postgres)
      return make_error(
          Code::kFailedPrecondition,
          "db.driver is postgres but this program does not link the PostgreSQL driver (svckit::db_postgres)");
    return detail::open_postgres(rt, s.postgres);
  }
  auto db = SqliteDatabase::open(rt, s.sqlite);
  if (!db) return std::unexpected(db.error());
  return std::shared_ptr<Database>(*db);
}

}  // namespace svckit::db
