// user-svc: the platform's user centre. SQLite by default (db.driver: sqlite, a file under data/),
// PostgreSQL with db.driver: postgres. Migrations run at start (db.migrate_on_start), readiness
// follows the database, and the OpenAPI document is served at GET /openapi.yaml.
#include <fstream>
#include <sstream>

#include "service.hpp"
#include "svckit/app/app.hpp"
#include "svckit/db/migrate.hpp"
#include "svckit/db/settings.hpp"
#include "svckit/http/message.hpp"

namespace {

struct UserSvcSettings {
  std::string openapi = "api/user/v1/openapi.yaml";
  std::string migrations = "internal/user/migrations";  // + /sqlite or /postgres
  static void describe(svckit::config::Binder<UserSvcSettings>& b) {
    b.field("openapi", &UserSvcSettings::openapi).non_empty();
    b.field("migrations", &UserSvcSettings::migrations).non_empty();
  }
};

}  // namespace

int main(int argc, char** argv) {
  svckit::app::App app({.name = "user-svc", .version = "1.0.0"});
  app.define<svckit::db::DbSettings>("db");
  app.define<UserSvcSettings>("user");
  if (auto exit = app.init(argc, argv)) return *exit;
  auto settings = app.settings<UserSvcSettings>("user");
  auto db_settings = app.settings<svckit::db::DbSettings>("db");
  const auto& logger = app.logger();
  // Files named in the configuration are found from the service's root, wherever it is started from.
  settings.openapi = app.config().resolve(settings.openapi);
  settings.migrations = app.config().resolve(settings.migrations);
  if (db_settings.sqlite.path != ":memory:" && !db_settings.sqlite.path.starts_with("file:"))
    db_settings.sqlite.path = app.config().resolve(db_settings.sqlite.path);

  std::ifstream in(settings.openapi);
  if (!in) {
    std::fprintf(stderr, "user-svc: refusing to start: cannot read %s (user.openapi)\n", settings.openapi.c_str());
    return 2;
  }
  std::stringstream doc;
  doc << in.rdbuf();
  auto db = svckit::db::open_database(app.runtime(), db_settings);
  if (!db) {
    std::fprintf(stderr, "user-svc: refusing to start: %s\n", db.error().to_string().c_str());
    return 2;
  }
  if (db_settings.migrate_on_start) {
    auto migrations = svckit::db::load_migrations(settings.migrations + "/" + db_settings.driver);
    if (!migrations) {
      std::fprintf(stderr, "user-svc: refusing to start: %s\n", migrations.error().to_string().c_str());
      return 2;
    }
    auto applied = app.runtime().block_on([&]() -> svckit::Task<svckit::Result<int>> {
      co_return co_await svckit::db::migrate_up(svckit::Context().with_timeout(std::chrono::seconds(60)), **db,
                                                *migrations, logger);
    }());
    if (!applied) {
      // A database that is not up yet is not fatal: the service starts unready and retries on the
      // first request; a broken migration is.
      if (applied.error().code() != svckit::Code::kUnavailable) {
        std::fprintf(stderr, "user-svc: refusing to start: %s\n", applied.error().to_string().c_str());
        return 2;
      }
      logger.warn("database unavailable at start; migrations not applied", {{"error", applied.error()}});
    }
  }
  app.readiness().add("db", [db = *db](const svckit::Context& ctx) -> svckit::Task<svckit::Status> {
    co_return co_await db->ping(ctx);
  });
  app.on_stop([db = *db]() -> svckit::Task<void> {
    db->close();
    co_return;
  });
  svckit::user::mount(app.router(), *db, logger);
  app.router().get("/openapi.yaml", [body = doc.str()](svckit::http::Request&, svckit::http::Response& res) {
    res.set_header("Content-Type", "application/yaml");
    res.text(200, body);
    res.set_header("Content-Type", "application/yaml");
  });
  return app.run();
}
