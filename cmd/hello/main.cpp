// hello: the smallest svckit service. The app runtime loads layered config, builds the logger, the
// tracer and metrics from it, installs the default middleware (metrics, tracing, request id, access
// log, recovery) and serves the admin port; hello adds GET /hello, a heartbeat log line and its
// OpenAPI document at GET /openapi.json.
#include <string>

#include "svckit/app/app.hpp"
#include "svckit/http/message.hpp"
#include "svckit/http/openapi.hpp"

using namespace std::chrono_literals;
namespace config = svckit::config;

namespace {

struct HelloSettings {
  std::string message = "Hello svckit";
  std::chrono::milliseconds heartbeat{60000};
  static void describe(config::Binder<HelloSettings>& b) {
    b.field("message", &HelloSettings::message).non_empty();
    b.field("heartbeat", &HelloSettings::heartbeat).range(100ms, 24h);
  }
};

// GET /hello's answer, for the document (the handler sends it prebuilt).
struct HelloReply {
  std::string msg;
  static void json_schema(svckit::json::Schema<HelloReply>& s) { s.field("msg", &HelloReply::msg).required(); }
};

svckit::Task<void> heartbeat(const svckit::Runtime& rt, svckit::log::Logger logger, HelloSettings settings) {
  std::uint64_t beats = 0;
  while ((co_await svckit::sleep_for(rt.shutdown_context(), settings.heartbeat)).ok())
    logger.info("heartbeat", {{"beats", ++beats}, {"message", settings.message}});
}

}  // namespace

int main(int argc, char** argv) {
  svckit::app::App app({.name = "hello", .version = "0.1.0"});
  app.define<HelloSettings>("hello");
  if (auto exit = app.init(argc, argv)) return *exit;
  auto settings = app.settings<HelloSettings>("hello");

  // The response is built once: GET /hello is the benchmark's hot path.
  std::string body = "{\"msg\":";
  svckit::http::append_json_string(body, settings.message);
  body += "}";
  app.router()
      .get("/hello", [body](svckit::http::Request&, svckit::http::Response& res) { res.json(200, body); })
      .doc(svckit::http::RouteDoc()
               .summary("A greeting")
               .tags({"hello"})
               .returns<HelloReply>(200, "the configured message"));
  svckit::http::serve_openapi(app.router(), {.title = "hello", .version = "0.1.0"});
  app.runtime().spawn(heartbeat(app.runtime(), app.logger(), settings));
  return app.run();
}
