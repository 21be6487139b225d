#pragma once
// App: the runtime of a svckit service. It parses the command line, loads layered config, builds the
// logger, the tracer (with OTLP export), metrics (process, runtime, trace and log counters) and the
// event loops from it, installs the default middleware on the traffic router, serves the admin
// endpoints on their own port, and on SIGTERM runs the stop sequence: readiness down, shutdown_delay,
// drain the traffic server, stop hooks, flush spans, logs and metrics.
//
// ```cpp
//   struct UserSettings {                                     // your own config section
//     int page_size = 50;
//     static void describe(config::Binder<UserSettings>& b) { b.field("page_size", &UserSettings::page_size); }
//   };
//   Task<void> get_user(http::Request& req, http::Response& res);
//   Task<Status> billing_ping(const Context& ctx);
//
//   int main(int argc, char** argv) {
//     svckit::app::App app({.name = "user-svc", .version = "1.2.0"});
//     app.define<UserSettings>("user");
//     if (auto exit = app.init(argc, argv)) return *exit;     // --help, --print-config, bad config
//     auto s = app.settings<UserSettings>("user");
//     app.router().get("/v1/users/:id", get_user);
//     app.readiness().add("billing", billing_ping);
//     return app.run();                                       // until SIGTERM/SIGINT
//   }
// ```
//
// A gRPC server is the App's too: app.serve(server) starts it with the App, makes its health service
// follow readiness, sheds with the App's shedder and stops it in the stop sequence (see serve()).
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "svckit/app/health.hpp"
#include "svckit/app/settings.hpp"
#include "svckit/config/config.hpp"
#include "svckit/core/runtime.hpp"
#include "svckit/db/database.hpp"
#include "svckit/discovery/registry.hpp"
#include "svckit/http/router.hpp"
#include "svckit/log/logger.hpp"
#include "svckit/metrics/metrics.hpp"
#include "svckit/resilience/policy.hpp"
#include "svckit/trace/tracer.hpp"

namespace svckit::http {
class Server;
class Client;
}  // namespace svckit::http

namespace svckit::discovery {
class HealthChecker;
class EtcdConfigSource;
struct DiscoverySettings;
}  // namespace svckit::discovery

namespace svckit::resilience {
class Shedder;
class QueueShedder;
}  // namespace svckit::resilience

namespace svckit::app {

struct AppOptions {
  std::string name;               // service.name in telemetry, the program name in messages
  std::string version = "0.0.0";  // service.version
  // Where the app's metrics go; null: metrics::Registry::global() (what svckit's own clients use).
  // Tests that build several Apps in one process give each its own.
  metrics::Registry* registry = nullptr;
  // A traffic HTTP port (http:). Off for a service that serves only gRPC: the admin port stays.
  bool http = true;
};

// A server the App runs beside its HTTP ports (a gRPC server); see App::serve.
struct ServedServer {
  std::string name;  // "grpc": in messages and logs
  std::function<Status()> start;
  std::function<std::uint16_t()> port;
  std::function<void(bool serving)> set_serving;  // its own health reporting
  std::function<void()> shutdown;                 // blocks until its calls end; run off the loops
  std::string host = "127.0.0.1";                 // for the start line
};

class App {
 public:
  explicit App(AppOptions options);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // A config section of the service's own; call before init().
  template <class T>
  void define(std::string section) {
    pending_sections_.push_back([section = std::move(section)](config::Config& c) { c.define<T>(section); });
  }

  // Parses the command line, loads and validates the config, builds logger, runtime, tracer and
  // metrics. Returns the exit code when the process should end now: 0 after --help or
  // --print-config, 2 for bad flags or config (the message is on stderr).
  [[nodiscard]] std::optional<int> init(int argc, const char* const* argv);

  template <class T>
  T settings(std::string_view section) const {
    return *config_->get<T>(section);  // validated by init(): cannot fail
  }
  config::Config& config() { return *config_; }
  const log::Logger& logger() const { return logger_; }
  Runtime& runtime() { return *runtime_; }
  metrics::Registry& metrics() { return *registry_; }
  const std::shared_ptr<trace::Tracer>& tracer() const { return tracer_; }
  Readiness& readiness() { return readiness_; }
  // Outgoing-call guards per upstream and method from resilience.upstreams (timeouts, breakers,
  // retries, bulkheads): `co_await app.upstreams().get("billing", "POST /v1/charges").call(ctx, fn)`.
  resilience::Upstreams& upstreams() { return upstreams_; }
  // The traffic port's load shedder (resilience.shed), null when shedding is off. A gRPC server beside
  // the App takes it (svckit::grpc::Server::set_shedder) so that both ports judge the process's load
  // together.
  const std::shared_ptr<resilience::Shedder>& shedder() const noexcept { return shedder_; }
  // Traffic routes; the default middleware (app.middleware) is already in place.
  http::Router& router() { return *router_; }
  // Extra routes on the admin port (registered before run()).
  http::Router& admin_router() { return *admin_router_; }
  // /debug/routes on the admin port answers fn()'s JSON instead of the traffic router's route list:
  // for a service whose routing is its own (the gateway's route table). Set before run().
  void describe_routes(std::function<std::string()> fn) { *routes_json_ = std::move(fn); }
  // The service registry from the `discovery:` section (static by default, file for a platform on
  // one host), as a client finds other services (watch / instances) and as this App registers
  // itself: once its readiness first passes, with its HTTP, gRPC and admin endpoints at
  // discovery.advertise_host; deregistered as the first step of the stop sequence, before readiness
  // goes down and before the drain, so that no new call is routed to an instance that is leaving.
  const std::shared_ptr<discovery::Discovery>& discovery() const noexcept { return discovery_; }
  // Null with the read-only dns backend, where the App does not register itself.
  const std::shared_ptr<discovery::Registrar>& registrar() const noexcept { return registrar_; }
  // The App's HTTP client for calls to other services, after init(): `discovery:///user-svc/v1/users/42`
  // goes to a healthy instance of user-svc in the registry above, by the balancer, version and zone
  // of discovery.services (discovery.balancer otherwise), with passive health (discovery.outlier)
  // and the file and static registries' instances actively checked (discovery.health). Plain
  // http:// URLs work too. Its calls carry the Context's deadline and trace, as every svckit call.
  http::Client& client();
  // This instance as it registers (or would: discovery.register false), set by start().
  std::optional<discovery::Instance> self_instance() const;
  bool registered() const;
  // Runs during the stop sequence, after the traffic server drained, before telemetry is flushed.
  void on_stop(std::function<Task<void>()> hook) { stop_hooks_.push_back(std::move(hook)); }

  // After init(), before run(): the App owns `server` (a svckit::grpc::Server, or anything with
  // start(), port(), set_serving(bool) and shutdown()), which must outlive the App's run. It starts
  // after the HTTP ports (a failure fails start), sheds with the App's shedder (resilience.shed) when
  // it takes one, publishes readiness (re-checked every admin.readiness_interval; unready while
  // starting and from the first moment of the stop sequence), and is shut down after the on_stop
  // hooks ran, so a hook can end long-lived calls (streams) first.
  template <class S>
  S& serve(S& server, std::string name = "grpc") {
    if constexpr (requires { server.set_shedder(shedder_); }) {
      if (shedder_) server.set_shedder(shedder_);
    }
    ServedServer served{std::move(name), [&server] { return server.start(); }, [&server] { return server.port(); },
                        [&server](bool serving) { server.set_serving(serving); }, [&server] { server.shutdown(); }};
    if constexpr (requires { server.host(); }) served.host = server.host();
    serve(std::move(served));
    return server;
  }
  void serve(ServedServer server);

  // The service's database from the `db:` section (define it first: app.define<db::DbSettings>("db")),
  // opened on the first call after init() and shared by later calls: SQLite at db.sqlite.path (the
  // default) or PostgreSQL (db.driver: postgres, with svckit::db_postgres linked); relative paths
  // from the service's root. With db.migrate_on_start the migrations in db.migrations/<driver>/ are
  // applied first (a broken or changed migration is an error; a PostgreSQL that is not up yet is
  // not: the service starts unready and the readiness check applies them once it answers). Readiness
  // gets a "db" check (pending migrations, then a ping), and the database is closed in the stop
  // sequence after the served servers.
  // ```cpp
  //   int main(int argc, char** argv) {
  //     svckit::app::App app({.name = "books"});
  //     app.define<svckit::db::DbSettings>("db");
  //     if (auto exit = app.init(argc, argv)) return *exit;
  //     auto db = app.database();
  //     if (!db) { std::fprintf(stderr, "%s\n", db.error().to_string().c_str()); return 2; }
  //     return app.run();
  //   }
  // ```
  Result<std::shared_ptr<db::Database>> database();

  // Starts the servers and blocks until SIGTERM/SIGINT (or request_stop()) and the stop sequence end.
  // Returns the process exit code: 1 when a server cannot start.
  int run();
  // Starts the servers without blocking (tests); stop with request_stop() and wait().
  Status start();
  void request_stop();
  void wait();

  // Valid after start(): the bound ports (useful with port 0); 0 for a port the App does not open.
  std::uint16_t http_port() const noexcept;
  std::uint16_t admin_port() const noexcept;
  const std::string& name() const noexcept { return options_.name; }

 private:
  Task<void> stop_sequence();
  Task<void> publish_readiness();
  // The App's own loops (readiness publishing, registration) run as background tasks: the stop
  // sequence cancels them and waits for each to end, so none resumes after the App is gone.
  void spawn_background(Task<void> task);
  Task<void> run_background(Task<void> task);
  Task<void> end_background();
  // Discovery (registration.cpp).
  std::optional<std::string> open_registry();  // an error message, or nullopt
  std::optional<std::string> finish_registry(const discovery::DiscoverySettings& s);
  void describe_self();
  Task<void> register_when_ready();
  Task<void> deregister_self();
  void mount_registry_debug();
  void register_discovery_metrics();
  void set_served_serving(bool serving);
  void register_telemetry_metrics();

  AppOptions options_;
  std::vector<std::function<void(config::Config&)>> pending_sections_;
  std::unique_ptr<config::Config> config_;
  std::shared_ptr<discovery::EtcdConfigSource> remote_config_;  // config.remote, when enabled
  config::Config::Subscription log_subscription_;
  log::Logger logger_;
  std::unique_ptr<Runtime> runtime_;
  metrics::Registry* registry_ = &metrics::Registry::global();
  std::shared_ptr<trace::Tracer> tracer_;
  struct Telemetry;
  std::unique_ptr<Telemetry> telemetry_;
  Readiness readiness_;
  struct Background;
  std::shared_ptr<Background> background_;
  std::unique_ptr<http::Router> router_;
  std::unique_ptr<http::Router> admin_router_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<http::Server> admin_server_;
  std::vector<std::function<Task<void>()>> stop_hooks_;
  std::shared_ptr<std::function<std::string()>> routes_json_ = std::make_shared<std::function<std::string()>>();
  std::vector<ServedServer> served_;
  std::shared_ptr<db::Database> database_;
  std::mutex served_mu_;
  resilience::Upstreams upstreams_;
  std::shared_ptr<resilience::Shedder> shedder_;
  std::shared_ptr<resilience::QueueShedder> queue_shedder_;
  AppSettings app_settings_;
  AdminSettings admin_settings_;
  bool started_ = false;
  std::shared_ptr<discovery::Discovery> discovery_;
  std::shared_ptr<discovery::Registrar> registrar_;
  std::shared_ptr<discovery::HealthChecker> health_;  // null for registries with checks of their own
  std::shared_ptr<http::Client> probe_client_;        // the health checks' (unobserved)
  std::shared_ptr<http::Client> client_;
  std::string discovery_backend_;
  std::function<std::uint64_t()> backend_errors_;  // the backend's failed reads/watches, for metrics
  bool register_self_ = false;
  mutable std::mutex registration_mu_;
  std::optional<discovery::Instance> self_;
  bool registered_ = false;
  bool leaving_ = false;  // the stop sequence began: a registration that completes now is undone
  struct RegistrationCounters;
  std::shared_ptr<RegistrationCounters> registration_counters_;  // shared with the metrics collector
};

}  // namespace svckit::app
