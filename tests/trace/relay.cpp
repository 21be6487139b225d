// relay: a test service for the end-to-end telemetry test. GET /relay calls relay.upstream with the
// request's Context (so the call carries its deadline and trace context), logs a line inside the
// request and answers with what the upstream said.
#include <string>

#include "svckit/app/app.hpp"
#include "svckit/http/client.hpp"
#include "svckit/http/message.hpp"

namespace {
struct RelaySettings {
  std::string upstream;
  static void describe(svckit::config::Binder<RelaySettings>& b) {
    b.field("upstream", &RelaySettings::upstream).required().non_empty();
  }
};
}  // namespace

int main(int argc, char** argv) {
  svckit::app::App app({.name = "relay", .version = "0.1.0"});
  app.define<RelaySettings>("relay");
  if (auto exit = app.init(argc, argv)) return *exit;
  auto upstream = app.settings<RelaySettings>("relay").upstream;
  svckit::http::Client client(app.runtime());
  app.router().get("/relay", [&](svckit::http::Request& req, svckit::http::Response& res) -> svckit::Task<void> {
    auto r = co_await client.get(req.ctx, upstream);
    if (!r) {
      res.error(r.error());
      co_return;
    }
    app.logger().info(req.ctx, "relayed", {{"upstream_status", r->status}});
    res.text(200, "relay<" + r->body + ">");
  });
  return app.run();
}
