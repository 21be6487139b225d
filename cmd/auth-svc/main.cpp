// auth-svc: the platform's unified identity (internal/identity, docs/identity.md). Credentials,
// roles and signing keys in its own database (SQLite by default, PostgreSQL by config); profiles in
// the user centre, reached at identity.users_url. Refuses to start without its sealing key file.
#include "identity.hpp"
#include "svckit/app/app.hpp"
#include "svckit/db/settings.hpp"
#include "svckit/http/openapi.hpp"

namespace {

int refuse(const std::string& why) {
  std::fprintf(stderr, "auth-svc: refusing to start: %s\n", why.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace svckit;
  app::App app({.name = "auth-svc", .version = "1.0.0"});
  app.define<db::DbSettings>("db");
  app.define<identity::IdentitySettings>("identity");
  if (auto exit = app.init(argc, argv)) return *exit;
  auto settings = app.settings<identity::IdentitySettings>("identity");
  // Files named in the configuration are found from the service's root, wherever it is started from.
  auto sealing = identity::read_sealing_key(app.config().resolve(settings.sealing_key_file));
  if (!sealing) return refuse(std::string(sealing.error().message()) + " (identity.sealing_key_file)");
  if (!settings.bootstrap_file.empty()) settings.bootstrap_file = app.config().resolve(settings.bootstrap_file);
  std::string common = settings.common_passwords.empty() ? "" : app.config().resolve(settings.common_passwords);
  auto policy = identity::PasswordPolicy::load(
      {.min_length = settings.password_min, .max_length = settings.password_max}, common);
  if (!policy) return refuse(std::string(policy.error().message()) + " (identity.common_passwords)");
  auto db = app.database();
  if (!db) return refuse(db.error().to_string());

  std::shared_ptr<identity::Identity> id;
  try {
    id = std::make_shared<identity::Identity>(settings, *db, std::move(*sealing), std::move(*policy), &app.client(),
                                              app.logger());
  } catch (const std::exception& e) {
    return refuse(e.what());
  }
  identity::mount(app.router(), id);
  http::serve_openapi(app.router(), {.title = "auth-svc",
                                     .version = "1.0.0",
                                     .description = "Unified identity: accounts, tokens, roles and signing keys."});
  // Tokens need keys: not ready until they are loaded (the database's migrations come first).
  app.readiness().add("signing_keys", [id, &app](const Context& ctx) -> Task<Status> {
    co_return co_await id->start(ctx, app.runtime());
  });
  // Not ready until the first accounts exist: the bootstrap needs the user centre.
  app.readiness().add("bootstrap", [id]() { return id->bootstrap_state(); });
  app.on_stop([id]() -> Task<void> { co_await id->stop(); });
  return app.run();
}
