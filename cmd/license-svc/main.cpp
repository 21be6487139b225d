// license-svc: the platform's electronic licence service (docs/license.md). SQLite by default
// (data/license.db), PostgreSQL with db.driver: postgres; its migrations are
// internal/license/migrations (configs/services/license-svc.yaml). Access tokens are verified here, against the
// identity service's JWKS (auth.jwks_url) or a JWKS file (auth.jwks_file). The OpenAPI document, generated
// from the routes, is served at GET /openapi.json.
#include <string>
#include <vector>

#include "service.hpp"
#include "svckit/app/app.hpp"
#include "svckit/auth/settings.hpp"
#include "svckit/auth_http/jwks_client.hpp"
#include "svckit/db/settings.hpp"
#include "svckit/http/openapi.hpp"

int main(int argc, char** argv) {
  svckit::app::App app({.name = "license-svc", .version = "1.0.0"});
  app.define<svckit::db::DbSettings>("db");
  app.define<svckit::auth::VerifierSettings>("auth");
  app.define<svckit::license::Settings>("license");
  if (auto exit = app.init(argc, argv)) return *exit;
  auto settings = app.settings<svckit::license::Settings>("license");
  auto refuse = [](const std::string& why) {
    std::fprintf(stderr, "license-svc: refusing to start: %s\n", why.c_str());
    return 2;
  };
  // Files named in the configuration are found from the service's root, wherever it is started from.
  auto keys = svckit::license::KeyRing::open(
      app.config().resolve(settings.signing_key_file),
      settings.verification_keys_file.empty() ? "" : app.config().resolve(settings.verification_keys_file));
  if (!keys) return refuse("license.signing_key_file: " + keys.error().to_string());
  if (keys->generated())
    app.logger().info("generated a new licence signing key",
                      {{"file", settings.signing_key_file}, {"kid", keys->signing().kid()}});
  auto auth = app.settings<svckit::auth::VerifierSettings>("auth");
  if (!auth.jwks_file.empty()) auth.jwks_file = app.config().resolve(auth.jwks_file);
  auto verifier = svckit::auth::make_verifier(app.runtime(), auth, app.logger(), app.discovery());
  if (!verifier) return refuse("auth: " + verifier.error().to_string());
  auto db = app.database();
  if (!db) return refuse(db.error().to_string());
  svckit::license::mount(app.router(), *db, std::make_shared<const svckit::license::KeyRing>(std::move(*keys)),
                         *verifier, app.logger(), svckit::license::Options::from(settings));
  svckit::http::serve_openapi(
      app.router(),
      {.title = "license-svc", .version = "1.0.0", .description = "Electronic licences: issue, list, revoke, verify."});
  return app.run();
}
