#include "svckit/db/settings.hpp"

#include "svckit/db/postgres.hpp"
#include "svckit/db/sqlite.hpp"

namespace svckit::db {

using std::chrono::milliseconds;

void SqliteSettings::describe(config::Binder<SqliteSettings>& b) {
  b.field("path", &SqliteSettings::path).non_empty().doc("database file (created with its folder)");
  b.field("max_connections", &SqliteSettings::max_connections).range(1, 64);
  b.field("busy_timeout", &SqliteSettings::busy_timeout).range(milliseconds(0), milliseconds(600000));
}

void PostgresSettings::describe(config::Binder<PostgresSettings>& b) {
  b.field("dsn", &PostgresSettings::dsn).non_empty().doc("libpq connection string or postgres:// URI");
  b.field("password", &PostgresSettings::password).secret();
  b.field("min_connections", &PostgresSettings::min_connections).range(0, 1000);
  b.field("max_connections", &PostgresSettings::max_connections).range(1, 1000);
  b.field("acquire_timeout", &PostgresSettings::acquire_timeout).range(milliseconds(1), milliseconds(600000));
  b.field("connect_timeout", &PostgresSettings::connect_timeout).range(milliseconds(10), milliseconds(600000));
  b.field("max_lifetime", &PostgresSettings::max_lifetime).range(milliseconds(1000), milliseconds(86400000));
  b.field("idle_timeout", &PostgresSettings::idle_timeout).range(milliseconds(1000), milliseconds(86400000));
  b.field("statement_timeout", &PostgresSettings::statement_timeout).range(milliseconds(0), milliseconds(86400000));
  b.field("pipeline", &PostgresSettings::pipeline).doc("pipeline independent queries on shared connections");
  b.validate([](const PostgresSettings& s) {
    return s.min_connections <= s.max_connections
               ? Status()
               : Status(Code::kInvalidArgument, "min_connections must not exceed max_connections");
  });
}

void DbSettings::describe(config::Binder<DbSettings>& b) {
  b.field("driver", &DbSettings::driver).one_of({"sqlite", "postgres"});
  b.field("migrate_on_start", &DbSettings::migrate_on_start);
  b.section("sqlite", &DbSettings::sqlite);
  b.section("postgres", &DbSettings::postgres);
}

Result<std::shared_ptr<Database>> open_database(Runtime& rt, const DbSettings& s) {
  if (s.driver == "postgres") {
    PgOptions o;
    o.dsn = s.postgres.dsn;
    o.password = s.postgres.password;
    o.min_connections = static_cast<std::size_t>(s.postgres.min_connections);
    o.max_connections = static_cast<std::size_t>(s.postgres.max_connections);
    o.acquire_timeout = s.postgres.acquire_timeout;
    o.connect_timeout = s.postgres.connect_timeout;
    o.max_lifetime = s.postgres.max_lifetime;
    o.idle_timeout = s.postgres.idle_timeout;
    o.statement_timeout = s.postgres.statement_timeout;
    o.pipeline = s.postgres.pipeline;
    auto db = PgDatabase::open(rt, std::move(o));
    if (!db) return std::unexpected(db.error());
    return std::shared_ptr<Database>(*db);
  }
  auto db = SqliteDatabase::open(
      rt, {.path = s.sqlite.path, .max_connections = s.sqlite.max_connections, .busy_timeout = s.sqlite.busy_timeout});
  if (!db) return std::unexpected(db.error());
  return std::shared_ptr<Database>(*db);
}

}  // namespace svckit::db
