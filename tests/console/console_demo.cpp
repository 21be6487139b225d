// console-demo: a svckit service shaped for the admin console's browser test (console_test.sh).
// Beside GET /hello it has a route whose traces have several spans, nested two deep, and a circuit
// breaker around a dependency that fails now and then, a route that always fails, and a debug line
// per order, so that the test sees a log-level change in the service's output.
#include <string>

#include "svckit/app/app.hpp"
#include "svckit/http/message.hpp"
#include "svckit/resilience/observed.hpp"

using namespace std::chrono_literals;
using svckit::Code;
using svckit::Context;
using svckit::Status;
using svckit::Task;
namespace http = svckit::http;
namespace trace = svckit::trace;

namespace {

// A secret the console must never show (keys ending in _key are redacted).
struct DemoSettings {
  std::string api_key = "s3cret-demo-value";
  static void describe(svckit::config::Binder<DemoSettings>& b) { b.field("api_key", &DemoSettings::api_key); }
};

// The "inventory" dependency: 2 ms, and UNAVAILABLE for every twentieth order id.
Task<Status> reserve(const Context& ctx, const trace::Tracer& tracer, long id) {
  auto span = tracer.start(ctx, "inventory.reserve", trace::SpanKind::kClient);
  span.set_attribute("order.id", static_cast<std::int64_t>(id));
  co_await svckit::sleep_for(ctx, 2ms);
  if (id % 20 == 0) {
    Status st(Code::kUnavailable, "INVENTORY_DOWN", "inventory did not answer");
    span.record_error(st);
    co_return st;
  }
  co_return Status();
}

}  // namespace

int main(int argc, char** argv) {
  svckit::app::App app({.name = "console-demo", .version = "0.3.0"});
  app.define<DemoSettings>("demo");
  if (auto exit = app.init(argc, argv)) return *exit;
  auto tracer = app.tracer();
  auto logger = app.logger();
  auto breaker = svckit::resilience::observed_breaker(
      {.name = "inventory", .timeout = 500ms, .ready_to_trip = [](const svckit::resilience::Counts& c) {
         return c.consecutive_failures >= 2;
       }});

  app.router().get("/hello", [](http::Request&, http::Response& res) { res.json(200, R"({"msg":"hello"})"); });
  app.router().get("/fail", [](http::Request&, http::Response& res) { res.text(500, "always fails"); });
  app.router().get("/orders/:id", [=](http::Request& req, http::Response& res) -> Task<void> {
    long id = std::strtol(std::string(req.param("id")).c_str(), nullptr, 10);
    {
      auto load = tracer->start(req.ctx, "order.load");
      load.set_attribute("order.id", static_cast<std::int64_t>(id));
      Context in_load = trace::with_span(req.ctx, load.context());
      auto query = tracer->start(in_load, "db.query", trace::SpanKind::kClient);
      query.set_attribute("db.statement", "SELECT * FROM orders WHERE id = ?");
      co_await svckit::sleep_for(in_load, 1ms);
      query.end();
      co_await svckit::sleep_for(in_load, 1ms);  // the load's own time, beyond its query
    }
    {
      auto price = tracer->start(req.ctx, "order.price");
      co_await svckit::sleep_for(req.ctx, std::chrono::milliseconds(1 + id % 7));
    }
    auto call = [&tracer, id](const Context& c) { return reserve(c, *tracer, id); };
    Status st = co_await svckit::resilience::guarded(req.ctx, *breaker, call);
    logger.debug(req.ctx, "order priced", {{"order_id", id}, {"reserved", st.ok()}});
    if (!st.ok()) co_return res.error(st);
    res.json(200, "{\"id\":" + std::to_string(id) + "}");
  });
  return app.run();
}
