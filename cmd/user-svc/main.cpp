// user-svc: the platform's user centre. SQLite by default (db.driver: sqlite, a file under data/),
// PostgreSQL with db.driver: postgres. The App opens the database, applies the migrations in
// db.migrations (db.migrate_on_start), makes readiness follow it and closes it at stop; the OpenAPI
// document, generated from the routes, is served at GET /openapi.json.
#include "service.hpp"
#include "svckit/app/app.hpp"
#include "svckit/db/settings.hpp"
#include "svckit/http/openapi.hpp"

namespace {

struct UserSvcSettings {
  std::string cursor_secret;
  static void describe(svckit::config::Binder<UserSvcSettings>& b) {
    b.field("cursor_secret", &UserSvcSettings::cursor_secret)
        .secret()
        .doc("signs page cursors (HMAC-SHA256; cursor_secret_file for a secret file); empty: checked, not signed");
  }
};

}  // namespace

int main(int argc, char** argv) {
  svckit::app::App app({.name = "user-svc", .version = "1.0.0"});
  app.define<svckit::db::DbSettings>("db");
  app.define<UserSvcSettings>("user");
  if (auto exit = app.init(argc, argv)) return *exit;
  auto settings = app.settings<UserSvcSettings>("user");
  auto db = app.database();
  if (!db) {
    std::fprintf(stderr, "user-svc: refusing to start: %s\n", db.error().to_string().c_str());
    return 2;
  }
  svckit::user::mount(app.router(), *db, app.logger(), {.cursor_secret = settings.cursor_secret});
  svckit::http::serve_openapi(app.router(),
                              {.title = "user-svc", .version = "1.0.0", .description = "The platform's user centre."});
  return app.run();
}
