// hello: the smallest svckit service. Loads layered config, builds the logger and the tracer from it,
// serves GET /hello on the HTTP engine with the default middleware (metrics, tracing, request id,
// access log, recovery), GET /metrics and GET /debug/traces, and drains on SIGTERM/SIGINT.
#include <csignal>
#include <cstdio>
#include <string>

#include "svckit/config/config.hpp"
#include "svckit/config/logging.hpp"
#include "svckit/core/runtime.hpp"
#include "svckit/http/client.hpp"
#include "svckit/http/middleware.hpp"
#include "svckit/http/server.hpp"
#include "svckit/http/settings.hpp"
#include "svckit/trace/settings.hpp"

using namespace std::chrono_literals;
namespace config = svckit::config;

namespace {

svckit::Task<void> flush_traces(std::shared_ptr<svckit::trace::BatchSpanProcessor> batch) {
  if (!batch) co_return;
  auto shutdown = [batch] { batch->shutdown(); };  // blocks: on the blocking pool, not a loop
  // A fresh context: the runtime's shutdown context is already cancelled while stop hooks run.
  (void)co_await svckit::run_blocking(svckit::Context().with_timeout(std::chrono::seconds(15)), shutdown);
}

struct HelloSettings {
  std::string message = "Hello svckit";
  std::chrono::milliseconds heartbeat{60000};
  int workers = 0;
  bool middleware = true;  // recovery + request id + access log; false benchmarks the bare engine
  static void describe(config::Binder<HelloSettings>& b) {
    b.field("middleware", &HelloSettings::middleware);
    b.field("message", &HelloSettings::message).non_empty();
    b.field("heartbeat", &HelloSettings::heartbeat).range(100ms, 24h);
    b.field("workers", &HelloSettings::workers).range(0, 256).doc("0: one per core");
  }
};

svckit::Task<void> heartbeat(const svckit::Runtime& rt, svckit::log::Logger logger, HelloSettings settings) {
  std::uint64_t beats = 0;
  while ((co_await svckit::sleep_for(rt.shutdown_context(), settings.heartbeat)).ok())
    logger.info("heartbeat", {{"beats", ++beats}, {"message", settings.message}});
}

}  // namespace

int main(int argc, char** argv) {
  auto cl = config::parse_command_line(argc, argv);
  if (!cl) {
    std::fprintf(stderr, "hello: %s\n%s", std::string(cl.error().message()).c_str(),
                 config::command_line_help("hello").c_str());
    return 2;
  }
  if (cl->help) {
    std::fputs(config::command_line_help("hello").c_str(), stdout);
    return 0;
  }
  config::Config cfg(cl->options, svckit::log::Logger({.sink = svckit::log::StreamSink::stderr_sink()}));
  cfg.define<config::LogSettings>("log");
  cfg.define<HelloSettings>("hello");
  cfg.define<svckit::http::ServerSettings>("http");
  cfg.define<svckit::trace::TraceSettings>("trace");
  if (auto st = cfg.load(); !st.ok()) {
    std::fprintf(stderr, "hello: refusing to start: %s\n", std::string(st.message()).c_str());
    return 2;
  }
  if (cl->print_config) {
    std::fputs(cfg.print().c_str(), stdout);
    return 0;
  }
  auto logger = config::make_logger(*cfg.get<config::LogSettings>("log"));
  if (!logger) {
    std::fprintf(stderr, "hello: refusing to start: %s\n", std::string(logger.error().message()).c_str());
    return 2;
  }
  svckit::log::set_global(*logger);
  cfg.set_logger(*logger);
  auto settings = *cfg.get<HelloSettings>("hello");
  auto http_settings = *cfg.get<svckit::http::ServerSettings>("http");
  auto trace_settings = *cfg.get<svckit::trace::TraceSettings>("trace");

  svckit::Runtime rt({.workers = static_cast<std::size_t>(settings.workers), .handle_signals = true});
  rt.on_signal(SIGHUP, [sink = logger->sink()] { (void)sink->reopen(); });
  auto sub = cfg.on_change<config::LogSettings>("log", [l = *logger](const config::LogSettings& s) {
    if (auto level = svckit::log::parse_level(s.level)) l.set_level(*level);
  });
  if (auto st = cfg.watch(); !st.ok()) logger->warn("config hot reload unavailable", {{"error", st}});

  // The response is built once: GET /hello is the benchmark's hot path.
  std::string body = "{\"msg\":";
  svckit::http::append_json_string(body, settings.message);
  body += "}";
  auto tracing = svckit::trace::make_tracing(
      trace_settings, svckit::trace::Resource::detect("hello", "0.1.0", cfg.env()), svckit::http::otlp_transport(rt));
  svckit::trace::Tracer::set_global(tracing.tracer);
  // Flush queued spans while the loops still run (the OTLP transport needs them).
  rt.on_stop([batch = tracing.batch] { return flush_traces(batch); });

  auto& registry = svckit::metrics::Registry::global();
  if (tracing.batch) {
    registry.add_collector([batch = tracing.batch](svckit::metrics::Emitter& e) {
      e.counter("svckit_trace_spans_exported_total", "Spans handed to the exporter successfully.",
                static_cast<double>(batch->exported()));
      e.counter("svckit_trace_spans_dropped_total", "Spans dropped because the export queue was full.",
                static_cast<double>(batch->dropped()));
      e.counter("svckit_trace_export_failures_total", "Export batches that failed after retries.",
                static_cast<double>(batch->export_failures()));
    });
  }
  svckit::metrics::register_process_metrics(registry);
  svckit::metrics::register_runtime_metrics(registry, rt);
  registry.add_collector([logger](svckit::metrics::Emitter& e) {
    e.counter("svckit_log_dropped_total", "Log lines dropped because the async sink was full.",
              static_cast<double>(logger->dropped()));
  });
  svckit::http::Router router;
  if (settings.middleware) {
    // Metrics outermost: they count every answer, including 404s and the 500s recovery makes.
    // Recovery innermost: the request id and the access log see the 500 it makes of an exception.
    router.use(svckit::http::middleware::metrics(registry));
    router.use(svckit::http::middleware::tracing());
    router.use(svckit::http::middleware::request_id());
    if (!http_settings.trusted_proxies.empty())
      router.use(svckit::http::middleware::real_ip(http_settings.trusted_proxies));
    if (http_settings.access_log) router.use(svckit::http::middleware::access_log(*logger));
    router.use(svckit::http::middleware::recovery(*logger));
  }
  router.get("/hello", [body](svckit::http::Request&, svckit::http::Response& res) { res.json(200, body); });
  router.get("/metrics", svckit::http::metrics_handler(registry));
  router.get("/debug/traces", [recent = tracing.recent](svckit::http::Request&, svckit::http::Response& res) {
    std::vector<svckit::trace::SpanData> spans;
    if (recent) spans = recent->recent();
    res.json(200, svckit::trace::encode_otlp_json(spans, svckit::trace::Tracer::global()->resource()));
  });
  svckit::http::Server server(rt, router, http_settings.to_options(), *logger);
  if (auto st = server.start(); !st.ok()) {
    logger->error("hello: cannot serve HTTP", {{"error", st}});
    logger->flush();
    return 1;
  }
  std::string url = "http://" + (http_settings.host == "0.0.0.0" ? std::string("127.0.0.1") : http_settings.host) +
                    ":" + std::to_string(server.port()) + "/hello";
  logger->info("hello service started", {{"env", cfg.env()}, {"workers", rt.size()}, {"url", url}});
  std::fprintf(stderr, "hello: serving %s\n", url.c_str());
  rt.spawn(heartbeat(rt, *logger, settings));
  rt.wait();
  logger->info("hello service stopped");
  logger->flush();
  return 0;
}
