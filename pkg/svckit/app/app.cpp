#include "svckit/app/app.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <stdexcept>

#include "svckit/app/admin.hpp"
#include "svckit/app/detail/background.hpp"
#include "svckit/app/detail/console.hpp"
#include "svckit/app/otlp_logs.hpp"
#include "svckit/app/otlp_metrics.hpp"
#include "svckit/db/migrate.hpp"
#include "svckit/db/settings.hpp"
#include "svckit/discovery/settings.hpp"
#include "svckit/discovery_etcd/etcd_config_source.hpp"
#include "svckit/http/client.hpp"
#include "svckit/http/middleware.hpp"
#include "svckit/http/server.hpp"
#include "svckit/http/settings.hpp"
#include "svckit/log/settings.hpp"
#include "svckit/resilience/queue_shedder.hpp"
#include "svckit/resilience/settings.hpp"
#include "svckit/resilience_http/middleware.hpp"
#include "svckit/trace/settings.hpp"

namespace svckit::app {

namespace {
// The queue shedder's per-loop state: the measured queueing delay and the refusal probability.
void register_queue_shedder_metrics(metrics::Registry& r, std::shared_ptr<resilience::QueueShedder> q) {
  r.add_collector([q](metrics::Emitter& e) {
    std::vector<std::string> names(q->loops());
    for (std::size_t i = 0; i < q->loops(); ++i) names[i] = std::to_string(i);
    auto family = [&](std::string_view name, std::string_view help, auto value) {
      e.begin(name, help, metrics::Type::kGauge);
      for (std::size_t i = 0; i < q->loops(); ++i) {
        std::pair<std::string_view, std::string_view> label{"loop", names[i]};
        e.sample(name, std::span(&label, 1), value(i));
      }
    };
    family("svckit_resilience_queue_delay_seconds", "The queueing delay the shedder's probe last measured on the loop.",
           [&](std::size_t i) { return std::chrono::duration<double>(q->delay(i)).count(); });
    family("svckit_resilience_queue_shed_probability", "The share of new requests the loop refuses now (PIE).",
           [&](std::size_t i) { return q->probability(i); });
  });
}
}  // namespace

struct App::Telemetry {
  trace::TracingSetup tracing;
  std::shared_ptr<OtlpLogSink> logs;
  std::unique_ptr<OtlpMetricsPusher> metrics_push;
};

App::App(AppOptions options) : options_(std::move(options)), telemetry_(std::make_unique<Telemetry>()) {
  if (options_.registry) registry_ = options_.registry;
}

App::~App() {
  // Servers first (they reference the routers and the runtime), then exporters (they use the runtime
  // as their transport), then the runtime.
  admin_server_.reset();
  server_.reset();
  if (telemetry_->logs) telemetry_->logs->shutdown();
  telemetry_.reset();
}

std::optional<int> App::init(int argc, const char* const* argv) {
  const std::string& name = options_.name;
  auto refuse = [&](std::string_view why) {
    std::fprintf(stderr, "%s: refusing to start: %.*s\n", name.c_str(), static_cast<int>(why.size()), why.data());
    return std::optional<int>(2);
  };
  auto cl = config::parse_command_line(argc, argv);
  if (!cl) {
    std::fprintf(stderr, "%s: %s\n%s", name.c_str(), std::string(cl.error().message()).c_str(),
                 config::command_line_help(name).c_str());
    return 2;
  }
  if (cl->help) {
    std::fputs(config::command_line_help(name).c_str(), stdout);
    return 0;
  }
  if (cl->options.service.empty()) cl->options.service = name;
  config_ = std::make_unique<config::Config>(cl->options);
  config_->define<log::LogSettings>("log");
  config_->define<http::ServerSettings>("http");
  config_->define<trace::TraceSettings>("trace");
  config_->define<AppSettings>("app");
  config_->define<AdminSettings>("admin");
  config_->define<OtlpSettings>("otlp");
  config_->define<resilience::ResilienceSettings>("resilience");
  config_->define<discovery::DiscoverySettings>("discovery");
  config_->define<discovery::RemoteConfigOptions>("config.remote");
  for (auto& define : pending_sections_) define(*config_);
  if (auto st = config_->load(); !st.ok()) return refuse(st.message());
  Status remote_unread;  // reported once the logger exists
  if (auto remote = settings<discovery::RemoteConfigOptions>("config.remote"); remote.enabled) {
    // Read before anything is built from the configuration, so the remote layer counts from the start.
    if (remote.key.empty()) remote.key = "/config/" + name;
    remote_config_ = discovery::EtcdConfigSource::create(remote);
    remote_unread = remote_config_->fetch_now();
    if (!remote_unread.ok() && remote.required) return refuse(remote_unread.message());
    config_->add_source(remote_config_);
    if (auto st = config_->reload(); !st.ok()) return refuse(st.message());
  }
  if (cl->print_config) {
    std::fputs(config_->print().c_str(), stdout);
    return 0;
  }
  auto log_settings = settings<log::LogSettings>("log");
  auto otlp = settings<OtlpSettings>("otlp");
  app_settings_ = settings<AppSettings>("app");
  admin_settings_ = settings<AdminSettings>("admin");
  if (otlp.logs && log_settings.format != log::Format::kJson) return refuse("otlp.logs needs log.format: json");
  if (admin_settings_.enabled && !detail::loopback_host(admin_settings_.host) && admin_settings_.token.empty())
    return refuse("admin.host " + admin_settings_.host +
                  " is beyond loopback: set admin.token (or admin.token_file) so that /debug/* and the console "
                  "need a bearer token");

  runtime_ = std::make_unique<Runtime>(RuntimeOptions{.workers = static_cast<std::size_t>(app_settings_.workers),
                                                      .shutdown_timeout = app_settings_.shutdown_timeout,
                                                      .handle_signals = true});
  auto resource = trace::Resource::detect(name, options_.version, config_->env());
  auto transport = http::otlp_transport(*runtime_);
  trace::OtlpOptions otlp_base{.gzip = otlp.gzip, .timeout = otlp.timeout};
  if (otlp.logs) {
    auto o = otlp_base;
    o.endpoint = otlp.logs_endpoint;
    telemetry_->logs = std::make_shared<OtlpLogSink>(OtlpLogOptions{.otlp = o}, resource, transport);
  }
  auto logger = log::make_logger(log_settings, telemetry_->logs);
  if (!logger) return refuse(logger.error().message());
  logger_ = *logger;
  log::set_global(logger_);
  config_->on_reload([l = logger_](const config::ReloadEvent& e) {
    if (!e.error.ok())
      l.error("config reload rejected, keeping the previous configuration",
              {{"error", e.error}, {"reload_failures", e.failures}});
    else
      l.info("config reloaded", {{"changed_keys", e.changed_keys}});
  });
  runtime_->on_signal(SIGHUP, [sink = logger_.sink()] { (void)sink->reopen(); });
  if (!remote_unread.ok())
    logger_.warn(
        "config.remote unreadable: starting on the local configuration, the remote one follows when etcd answers",
        {{"error", remote_unread}});
  if (remote_config_) remote_config_->run_on(*runtime_);
  log_subscription_ =
      config_->on_change<log::LogSettings>("log", [l = logger_](const log::LogSettings& s) { l.set_level(s.level); });
  if (auto st = config_->watch(); !st.ok()) logger_.warn("config hot reload unavailable", {{"error", st}});

  telemetry_->tracing = trace::make_tracing(settings<trace::TraceSettings>("trace"), resource, transport);
  tracer_ = telemetry_->tracing.tracer;
  trace::Tracer::set_global(tracer_);
  if (otlp.metrics) {
    auto o = otlp_base;
    o.endpoint = otlp.metrics_endpoint;
    telemetry_->metrics_push = std::make_unique<OtlpMetricsPusher>(
        *registry_, OtlpMetricsOptions{.otlp = o, .interval = otlp.metrics_interval}, resource, transport);
  }
  register_telemetry_metrics();
  if (auto why = open_registry()) return refuse(*why);

  router_ = std::make_unique<http::Router>();
  std::shared_ptr<resilience::TokenBucket> rate_limit;  // kept for the console's live view
  std::shared_ptr<resilience::Bulkhead> bulkhead;
  upstreams_ = resilience::Upstreams(settings<resilience::ResilienceSettings>("resilience").upstreams);
  if (app_settings_.middleware) {
    auto http_settings = settings<http::ServerSettings>("http");
    // Metrics outermost: they count every answer, including 404s and the 500s recovery makes.
    // Recovery innermost: the request id and the access log see the 500 it makes of an exception.
    router_->use(http::middleware::metrics(*registry_));
    // Protection right after metrics: a shed or limited request costs almost nothing and is counted.
    auto guard = settings<resilience::ResilienceSettings>("resilience");
    if (guard.shed) {
      shedder_ =
          std::make_shared<resilience::Shedder>(resilience::ShedderSettings{.cpu_threshold = guard.shed_cpu_threshold});
      router_->use(resilience::middleware::shed(shedder_));
    }
    if (guard.shed_queue_delay.count() > 0) {
      queue_shedder_ = std::make_shared<resilience::QueueShedder>(
          resilience::QueueShedderSettings{.target = guard.shed_queue_delay}, runtime_->size());
      queue_shedder_->start(*runtime_);
      router_->use(resilience::middleware::shed_queue(queue_shedder_));
      register_queue_shedder_metrics(*registry_, queue_shedder_);
    }
    if (guard.rate_limit) {
      rate_limit = std::make_shared<resilience::TokenBucket>(guard.rate, guard.burst);
      router_->use(resilience::middleware::rate_limit(rate_limit));
    }
    if (guard.max_in_flight > 0) {
      bulkhead = std::make_shared<resilience::Bulkhead>(static_cast<std::size_t>(guard.max_in_flight));
      router_->use(resilience::middleware::concurrency_limit(bulkhead));
    }
    if (!guard.routes.empty()) router_->use(resilience::route_limits(guard.routes));
    router_->use(http::middleware::tracing());
    router_->use(http::middleware::request_id());
    if (!http_settings.trusted_proxies.empty()) router_->use(http::middleware::real_ip(http_settings.trusted_proxies));
    if (http_settings.access_log) router_->use(http::middleware::access_log(logger_));
    router_->use(http::middleware::recovery(logger_));
  }
  admin_router_ = std::make_unique<http::Router>();
  if (!detail::loopback_host(admin_settings_.host)) admin_router_->use(detail::bearer_guard(admin_settings_.token));
  mount_admin(*admin_router_, {.registry = registry_,
                               .config = config_.get(),
                               .logger = logger_,
                               .recent = telemetry_->tracing.recent,
                               .tracer = tracer_,
                               .readiness = &readiness_,
                               .check_timeout = admin_settings_.check_timeout,
                               .traffic = router_.get(),
                               .routes_json = routes_json_});
  mount_registry_debug();
  if (admin_settings_.console)
    detail::mount_console(*admin_router_, {.registry = registry_,
                                           .logger = logger_,
                                           .service = name,
                                           .version = options_.version,
                                           .shedder = shedder_,
                                           .rate_limit = rate_limit,
                                           .bulkhead = bulkhead,
                                           .window = admin_settings_.console_window});
  return std::nullopt;
}

void App::register_telemetry_metrics() {
  metrics::Registry& r = *registry_;
  // Process metrics describe the process, not an App: once per registry.
  static std::mutex mu;
  static std::vector<const metrics::Registry*> with_process;
  {
    std::lock_guard lock(mu);
    if (std::find(with_process.begin(), with_process.end(), &r) == with_process.end()) {
      with_process.push_back(&r);
      metrics::register_process_metrics(r);
    }
  }
  metrics::register_runtime_metrics(r, *runtime_);
  r.add_collector(
      [t = telemetry_.get(), logger = logger_, cfg = config_.get(), remote = remote_config_](metrics::Emitter& e) {
        e.counter("svckit_log_dropped_total", "Log lines dropped because a sink could not keep up.",
                  static_cast<double>(logger.dropped()));
        e.counter("svckit_config_reloads_total", "Configuration reloads applied.", static_cast<double>(cfg->reloads()));
        e.counter("svckit_config_reload_failures_total", "Configuration reloads refused (the old config stays).",
                  static_cast<double>(cfg->reload_failures()));
        if (remote) {
          auto st = remote->stats();
          e.counter("svckit_config_remote_updates_total", "Values read from the remote configuration source.",
                    static_cast<double>(st.updates));
          e.counter("svckit_config_remote_errors_total",
                    "Failed reads and broken watches of the remote source (retried).", static_cast<double>(st.errors));
        }
        if (auto& batch = t->tracing.batch) {
          e.counter("svckit_trace_spans_exported_total", "Spans handed to the exporter successfully.",
                    static_cast<double>(batch->exported()));
          e.counter("svckit_trace_spans_dropped_total", "Spans dropped because the export queue was full.",
                    static_cast<double>(batch->dropped()));
          e.counter("svckit_trace_export_failures_total", "Export batches that failed after retries.",
                    static_cast<double>(batch->export_failures()));
        }
        if (auto& logs = t->logs) {
          e.counter("svckit_otlp_logs_exported_total", "Log records accepted by the OTLP endpoint.",
                    static_cast<double>(logs->exported()));
          e.counter("svckit_otlp_logs_dropped_total", "Log lines dropped because the OTLP export buffer was full.",
                    static_cast<double>(logs->dropped()));
          e.counter("svckit_otlp_logs_export_failures_total", "Log export batches that failed after retries.",
                    static_cast<double>(logs->export_failures()));
        }
        if (auto& push = t->metrics_push) {
          e.counter("svckit_otlp_metrics_pushes_total", "Metric pushes accepted by the OTLP endpoint.",
                    static_cast<double>(push->pushes()));
          e.counter("svckit_otlp_metrics_push_failures_total", "Metric pushes that failed after retries.",
                    static_cast<double>(push->failures()));
        }
      });
}

namespace {
std::string display_host(const std::string& host) {
  return host == "0.0.0.0" ? "127.0.0.1" : host;
}

// SIGHUP: the traffic port's certificate files read again, on the blocking pool.
Task<void> reload_tls(http::Server* server, log::Logger logger) {
  auto reload = [server] { return server->reload_tls(); };
  auto st = co_await run_blocking(reload);
  if (st && st->ok()) logger.info("tls certificate reloaded on SIGHUP");  // a refusal is logged by the server
}

}  // namespace

Status App::start() {
  if (!runtime_) throw std::logic_error("App::start before a successful init()");
  if (started_) return {};
  auto http_settings = settings<http::ServerSettings>("http");
  if (options_.http) {
    auto http_options = http_settings.server;
    http_options.drain_on_stop = false;  // the stop sequence drains after readiness went down
    server_ = std::make_unique<http::Server>(*runtime_, *router_, http_options, logger_);
    if (auto st = server_->start(); !st.ok()) return st;
    if (http_options.tls.enabled())
      runtime_->on_signal(SIGHUP, [this] {
        if (server_) runtime_->spawn(reload_tls(server_.get(), logger_));
      });
  }
  if (admin_settings_.enabled) {
    http::ServerOptions admin_options{.host = admin_settings_.host,
                                      .port = static_cast<std::uint16_t>(admin_settings_.port),
                                      .drain_timeout = std::chrono::seconds(2),
                                      .drain_on_stop = false,
                                      .max_connections = 256};
    admin_server_ = std::make_unique<http::Server>(*runtime_, *admin_router_, admin_options, logger_);
    if (auto st = admin_server_->start(); !st.ok())
      return Status(st.code(), "admin port: " + std::string(st.message()));
  }
  for (auto& served : served_) {
    if (auto st = served.start(); !st.ok()) return Status(st.code(), served.name + ": " + std::string(st.message()));
    served.set_serving(false);  // until the first readiness check says otherwise
    std::fprintf(stderr, "%s: %s %s:%u\n", options_.name.c_str(), served.name.c_str(),
                 display_host(served.host).c_str(), served.port());
  }
  runtime_->on_stop([this] { return stop_sequence(); });
  started_ = true;
  readiness_.set_serving(true);
  if (!served_.empty()) spawn_background(publish_readiness());
  describe_self();
  if (register_self_ && self_) spawn_background(register_when_ready());
  std::string url;
  if (server_) {
    url = (http_settings.server.tls.enabled() ? "https://" : "http://") + display_host(http_settings.server.host) +
          ":" + std::to_string(server_->port());
    std::fprintf(stderr, "%s: serving %s\n", options_.name.c_str(), url.c_str());
  }
  std::string admin_url;
  if (admin_server_) {
    admin_url = "http://" + display_host(admin_settings_.host) + ":" + std::to_string(admin_server_->port());
    std::fprintf(stderr,
                 "%s: admin %s (console at /; /metrics /healthz /readyz /debug/config /debug/traces /debug/log-level "
                 "/debug/routes /debug/registry)\n",
                 options_.name.c_str(), admin_url.c_str());
  }
  logger_.info("service started", {{"service", options_.name},
                                   {"version", options_.version},
                                   {"env", config_->env()},
                                   {"workers", runtime_->size()},
                                   {"url", url},
                                   {"admin_url", admin_url}});
  return {};
}

void App::serve(ServedServer server) {
  if (!runtime_) throw std::logic_error("App::serve before a successful init()");
  if (started_) throw std::logic_error("App::serve after start()");
  served_.push_back(std::move(server));
}

Result<std::shared_ptr<db::Database>> App::database() {
  if (!runtime_) throw std::logic_error("App::database before a successful init()");
  if (database_) return database_;
  if (!config_->defines("db"))
    throw std::logic_error(
        "App::database needs the db section: app.define<svckit::db::DbSettings>(\"db\") before init()");
  auto settings = config_->get<db::DbSettings>("db");
  if (!settings) return std::unexpected(settings.error());  // validated by init(): not expected
  db::DbSettings s = *settings;
  if (s.sqlite.path != ":memory:" && !s.sqlite.path.starts_with("file:"))
    s.sqlite.path = config_->resolve(s.sqlite.path);
  auto opened = db::open_database(*runtime_, s);
  if (!opened) return std::unexpected(opened.error());
  std::shared_ptr<db::Database> database = *opened;
  // Pending migrations, shared with the readiness check: the service is not ready before they ran.
  auto pending = std::make_shared<std::vector<db::Migration>>();
  if (s.migrate_on_start) {
    const std::string dir = config_->resolve(s.migrations) + "/" + s.driver;
    auto migrations = db::load_migrations(dir);
    if (!migrations) {
      database->close();
      return std::unexpected(
          Status(migrations.error().code(), "db.migrations: " + std::string(migrations.error().message())));
    }
    auto applied = runtime_->block_on([&]() -> Task<Result<int>> {
      co_return co_await db::migrate_up(Context().with_timeout(std::chrono::seconds(60)), *database, *migrations,
                                        logger_);
    }());
    if (!applied) {
      // A PostgreSQL server that is not up yet is not fatal: readiness applies the migrations once it
      // answers, and reports unready until then. A broken or changed migration is fatal, and so is an
      // unusable SQLite file (no server will come up to fix it).
      if (applied.error().code() != Code::kUnavailable || s.driver == "sqlite") {
        database->close();
        return std::unexpected(applied.error());
      }
      logger_.warn("database unavailable at start; migrations wait for it", {{"error", applied.error()}});
      *pending = std::move(*migrations);
    }
  }
  auto mu = std::make_shared<std::mutex>();
  readiness_.add("db", [database, pending, mu, logger = logger_](const Context& ctx) -> Task<Status> {
    std::vector<db::Migration> left;  // copied: the lock is not held across the await
    {
      std::lock_guard lock(*mu);
      left = *pending;
    }
    if (!left.empty()) {
      auto applied = co_await db::migrate_up(ctx, *database, left, logger);
      if (!applied) co_return applied.error();
      std::lock_guard lock(*mu);
      pending->clear();
    }
    co_return co_await database->ping(ctx);
  });
  database_ = database;
  return database_;
}

void App::set_served_serving(bool serving) {
  // Under the lock: a readiness check that ends as the stop sequence starts never says SERVING after
  // the stop sequence said NOT_SERVING.
  std::lock_guard lock(served_mu_);
  if (!readiness_.serving()) serving = false;
  for (auto& served : served_) served.set_serving(serving);
}

// Servers that publish readiness themselves (gRPC health) learn it here: the readiness checks (as
// probes: untraced, uncounted) every admin.readiness_interval until the stop sequence starts.
void App::spawn_background(Task<void> task) {
  if (!background_) background_ = std::make_shared<Background>(runtime_->shutdown_context());
  background_->live.fetch_add(1);
  runtime_->spawn(run_background(std::move(task)));
}

Task<void> App::run_background(Task<void> task) {
  auto bg = background_;  // the frame's own reference: the notify below may be the App's last moment
  try {
    co_await std::move(task);
  } catch (const std::exception& e) {
    logger_.error("background task failed", {{"error", e.what()}});
  }
  bg->live.fetch_sub(1);
  bg->ended.notify();
}

Task<void> App::end_background() {
  if (!background_) co_return;
  background_->ctx.cancel(Status(Code::kCancelled, "stopping"));
  while (background_->live.load() > 0) co_await background_->ended.wait();
}

Task<void> App::publish_readiness() {
  auto bg = background_;
  const Context& ctx = bg->ctx;
  for (;;) {
    auto report = co_await readiness_.check(ctx, admin_settings_.check_timeout);
    if (ctx.done() || !readiness_.serving()) co_return;  // the stop sequence says NOT_SERVING for good
    set_served_serving(report.ready);
    Status slept = co_await sleep_for(ctx, admin_settings_.readiness_interval);
    // A timer that fired as the stop began still resumes us: the context, not the sleep, decides.
    if (!slept.ok() || bg->ctx.done()) co_return;
  }
}

Task<void> App::stop_sequence() {
  co_await deregister_self();  // first: no new call is routed here while readiness still says yes
  co_await end_background();   // the readiness and registration loops end before anything they use
  readiness_.mark_draining();
  set_served_serving(false);
  logger_.info("stopping", {{"shutdown_delay_ms", app_settings_.shutdown_delay.count()}});
  // A fresh Context: nothing should cut the delay short but the runtime's own shutdown timeout.
  // (Named, not a temporary inside co_await: see docs/architecture.md on GCC 12.)
  Context delay_ctx;
  if (app_settings_.shutdown_delay.count() > 0) (void)co_await sleep_for(delay_ctx, app_settings_.shutdown_delay);
  if (server_) co_await server_->drain();
  for (auto& hook : stop_hooks_) {
    try {
      co_await hook();
    } catch (const std::exception& e) {
      logger_.error("stop hook failed", {{"error", e.what()}});
    }
  }
  // Served servers last among the traffic: the hooks may have ended their long-lived calls. Their
  // shutdown blocks until calls end (bounded by their own grace): off the loops.
  for (auto& served : served_) {
    auto stop = [&served] { served.shutdown(); };
    Context stop_ctx = Context().with_timeout(std::chrono::seconds(60));
    (void)co_await run_blocking(stop_ctx, stop);
  }
  // The database last: the hooks and the served servers' last calls may still use it.
  if (database_) database_->close();
  // Last pushes of spans and metrics, off the loops (they block on the exporters' threads).
  Telemetry* t = telemetry_.get();
  auto flush = [t] {
    if (t->tracing.batch) t->tracing.batch->shutdown();
    if (t->metrics_push) t->metrics_push->shutdown();
    if (t->logs) t->logs->flush();
  };
  Context flush_ctx = Context().with_timeout(std::chrono::seconds(15));
  (void)co_await run_blocking(flush_ctx, flush);
  if (admin_server_) co_await admin_server_->drain();
}

int App::run() {
  if (auto st = start(); !st.ok()) {
    logger_.error("cannot start", {{"service", options_.name}, {"error", st}});
    logger_.flush();
    std::fprintf(stderr, "%s: cannot start: %s\n", options_.name.c_str(), std::string(st.message()).c_str());
    return 1;
  }
  wait();
  return 0;
}

void App::request_stop() {
  if (runtime_) runtime_->request_stop();
}

void App::wait() {
  runtime_->wait();
  // The loops that carried OTLP exports are gone: lines logged from now on stay local.
  if (telemetry_->logs) telemetry_->logs->shutdown(false);
  logger_.info("service stopped", {{"service", options_.name}});
  logger_.flush();
}

std::uint16_t App::http_port() const noexcept {
  return server_ ? server_->port() : 0;
}
std::uint16_t App::admin_port() const noexcept {
  return admin_server_ ? admin_server_->port() : 0;
}

}  // namespace svckit::app
