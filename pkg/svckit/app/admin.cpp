#include "svckit/app/admin.hpp"

#include "svckit/app/detail/console.hpp"
#include "svckit/http/middleware.hpp"
#include "svckit/json/json.hpp"
#include "svckit/json/reader.hpp"
#include "svckit/trace/otlp.hpp"

namespace svckit::app {

namespace {

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\r' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t'))
    s.remove_suffix(1);
  return std::string(s);
}

// The level from a PUT body: {"level":"debug"} or the bare word.
Result<std::string> level_from_body(std::string_view body) {
  std::string text = trim(body);
  if (text.empty() || text[0] != '{') return text;
  json::Reader r(text);
  std::string level;
  if (r.begin_object()) {
    for (std::string_view key; r.next_key(key);) {
      if (key == "level" && r.peek() == json::Kind::kString)
        r.read_string(level);
      else
        r.skip();
    }
  }
  if (!r.finish()) return std::unexpected(r.error_status());
  return level;
}

void write_level(http::Response& res, const log::Logger& logger) {
  std::string body;
  json::Writer(body).begin_object().key("level").string(log::level_name(logger.level())).end_object();
  res.json(200, body);
}

}  // namespace

void mount_admin(http::Router& router, AdminParts p) {
  if (p.registry) router.get("/metrics", http::metrics_handler(*p.registry));
  router.get("/healthz", [](http::Request&, http::Response& res) { res.json(200, R"({"status":"ok"})"); });
  if (p.readiness) {
    router.get(
        "/readyz",
        [readiness = p.readiness, timeout = p.check_timeout](http::Request& req, http::Response& res) -> Task<void> {
          auto report = co_await readiness->check(req.ctx, timeout);
          std::string body;
          json::Writer w(body);
          w.begin_object()
              .key("status")
              .string(report.ready ? "ready" : "unavailable")
              .key("state")
              .string(report.state);
          w.key("checks").begin_object();
          for (auto& c : report.checks) {
            w.key(c.name);
            if (c.status.ok())
              w.string("ok");
            else
              w.string(std::string(code_name(c.status.code())) + ": " + std::string(c.status.message()));
          }
          w.end_object().end_object();
          if (!report.ready) res.set_header("Retry-After", "1");
          res.json(report.ready ? 200 : 503, body);
        });
  }
  if (p.config) {
    router.get("/debug/config",
               [cfg = p.config](http::Request&, http::Response& res) { res.text(200, cfg->print(true)); });
  }
  router.get("/debug/traces", [recent = p.recent, tracer = p.tracer](http::Request& req, http::Response& res) {
    std::vector<trace::SpanData> spans;
    if (recent) spans = recent->recent();
    if (auto want = req.query_param("trace_id"); !want.empty())
      std::erase_if(spans, [&](const trace::SpanData& s) { return s.context.trace_id.hex() != want; });
    res.json(200, trace::encode_otlp_json(spans, tracer ? tracer->resource() : trace::Resource{}));
  });
  if (p.traffic) {
    router.get("/debug/routes", [traffic = p.traffic, own = p.routes_json](http::Request&, http::Response& res) {
      if (own && *own) return res.json(200, (*own)());
      std::string body;
      json::Writer w(body);
      w.begin_array();
      for (const auto& r : traffic->routes())
        w.begin_object().key("method").string(http::method_name(r.method)).key("path").string(r.pattern).end_object();
      w.end_array();
      res.json(200, body);
    });
  }
  router.get("/debug/log-level",
             [logger = p.logger](http::Request&, http::Response& res) { write_level(res, logger); });
  std::string csrf = p.csrf_token.empty() ? detail::random_token() : p.csrf_token;
  router.get("/debug/csrf", [csrf](http::Request&, http::Response& res) {
    std::string body;
    json::Writer(body).begin_object().key("token").string(csrf).end_object();
    res.set_header("Cache-Control", "no-store");
    res.json(200, body);
  });
  auto set_level = [logger = p.logger](http::Request& req, http::Response& res) {
    auto text = level_from_body(req.body());
    if (!text) return res.error(text.error());
    auto level = log::parse_level(*text);
    if (!level) {
      return res.error(Status(Code::kInvalidArgument, "BAD_LOG_LEVEL",
                              "level must be one of trace, debug, info, warn, error, fatal, off"));
    }
    auto before = logger.level();
    logger.set_level(*level);
    // Logged at warn so the change itself is on record whatever the new level is.
    logger.warn("log level changed",
                {{"from", log::level_name(before)}, {"to", log::level_name(*level)}, {"by", req.client_ip()}});
    write_level(res, logger);
  };
  router.put("/debug/log-level", set_level).use(detail::csrf_guard(csrf));
  router.post("/debug/log-level", set_level).use(detail::csrf_guard(csrf));
}

}  // namespace svckit::app
