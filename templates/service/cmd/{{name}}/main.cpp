// {{name}}: HTTP on http.port{{#grpc}}, gRPC on grpc.port{{/grpc}}, /healthz /readyz /metrics on admin.port; the
// database from db: ({{db}} by default), its migrations applied at start; its OpenAPI document, generated from
// the routes, at GET /openapi.json.
// {{name_snake}}.greeting and {{name_snake}}.page_size apply live when their file changes.
#include <svckit/app/app.hpp>
#include <svckit/db/settings.hpp>
{{#grpc}}
#include <svckit/grpc/grpc.hpp>
#include <svckit/grpc/service.hpp>
{{/grpc}}
#include <svckit/http/openapi.hpp>

{{#grpc}}
#include "{{name}}/grpc_handler.hpp"
{{/grpc}}
#include "{{name}}/handler.hpp"

int main(int argc, char** argv) {
  using {{name_snake}}::Settings;
  svckit::app::App app({.name = "{{name}}", .version = "0.1.0"});
  app.define<svckit::db::DbSettings>("db");
  app.define<Settings>("{{name_snake}}");
{{#grpc}}
  app.define<svckit::grpc::ServerSettings>("grpc");
{{/grpc}}
  if (auto exit = app.init(argc, argv)) return *exit;
  const Settings settings = app.settings<Settings>("{{name_snake}}");

  // Applied live: the handlers read the current value; an edit that does not validate is refused by
  // the config (logged, counted) and the old value stays.
  auto live = std::make_shared<{{name_snake}}::Live<Settings>>(settings);
  auto subscription = app.config().on_change<Settings>("{{name_snake}}", [live, logger = app.logger()](const Settings& s) {
    live->set(s);
    logger.info("{{name_snake}} settings applied");
  });

  auto db = app.database();  // opened, migrated, in readiness, closed at stop
  if (!db) {
    std::fprintf(stderr, "{{name}}: refusing to start: %s\n", db.error().to_string().c_str());
    return 2;
  }
  auto items = std::make_shared<const {{name_snake}}::ItemService>({{name_snake}}::ItemRepository(*db, settings.cursor_secret));
  {{name_snake}}::mount_http(app.router(), items, live);
  // Built once, at start, from the routes' .doc() and the structs' json_schema.
  svckit::http::serve_openapi(app.router(),
                              {.title = "{{name}}", .version = "0.1.0", .description = "The {{name}} service's API."});
{{#grpc}}

  svckit::grpc::Service grpc_items("{{name_snake}}.v1.{{Name}}");
  {{name_snake}}::add_grpc(grpc_items, app.runtime(), items);
  svckit::grpc::Server server(app.settings<svckit::grpc::ServerSettings>("grpc"), app.logger());
  server.add_service(&grpc_items);
  app.serve(server);  // started, health-checked, shed and stopped with the App
{{/grpc}}
  return app.run();
}
