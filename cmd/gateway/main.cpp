// gateway: the platform's single entrance. Routes from the routes file (gateway.routes_file, watched
// for edits) to discovered services or static upstreams, on the App's traffic port; /debug/routes
// on the admin port shows the live table. Routes with `auth: jwt` verify bearer tokens with the keys
// the gateway_auth section names. docs/gateway.md describes the routes and operations; the web portal's
// pages are served at / (docs/portal.md).
#include "gateway.hpp"
#include "portal.hpp"
#include "svckit/app/app.hpp"

int main(int argc, char** argv) {
  svckit::app::App app({.name = "gateway", .version = "0.1.0"});
  app.define<svckit::gateway::GatewaySettings>("gateway");
  app.define<svckit::portal::Settings>("portal");
  if (auto exit = app.init(argc, argv)) return *exit;
  auto settings = app.settings<svckit::gateway::GatewaySettings>("gateway");
  // gateway_auth is optional as a whole (no key set: no verifier), so it is bound here rather than
  // defined: auth::VerifierSettings requires its JWKS and issuer whenever it is bound.
  auto auth = svckit::gateway::bind_edge_auth(*app.config().snapshot(), "gateway_auth");
  if (!auth) {
    app.logger().error("gateway_auth refused", {{"error", auth.error().message()}});
    return 2;
  }
  if (*auth && !(*auth)->jwks_file.empty()) (*auth)->jwks_file = app.config().resolve((*auth)->jwks_file);
  svckit::gateway::Gateway gateway(app.runtime(), {.settings = settings,
                                                   .routes_path = app.config().resolve(settings.routes_file),
                                                   .discovery = app.discovery(),
                                                   .auth = *auth,
                                                   .logger = app.logger(),
                                                   .registry = &app.metrics()});
  if (auto st = gateway.load(); !st.ok()) {
    app.logger().error("gateway routes refused", {{"error", st.message()}});
    return 2;
  }
  // The portal's pages (/, /portal/*) are routes of their own beside the gateway's catch-all.
  svckit::portal::mount(app.router(), app.settings<svckit::portal::Settings>("portal"));
  gateway.mount(app.router());
  app.describe_routes([&gateway] { return gateway.describe(); });
  app.runtime().spawn(gateway.watch(app.runtime().shutdown_context()));
  return app.run();
}
