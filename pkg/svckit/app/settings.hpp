#pragma once
// The configuration sections of the app runtime itself (the modules declare their own: log:, http:,
// trace:, db:, grpc:, resilience:):
//   app:   { workers: 0, middleware: true, shutdown_delay: 0s, shutdown_timeout: 30s }
//   admin: { enabled: true, host: 127.0.0.1, port: 8081, check_timeout: 2s, token: "", console: true,
//            console_window: 10s }
//   otlp:  { logs: false, logs_endpoint: ..., metrics: false, metrics_endpoint: ..., metrics_interval: 30s,
//            gzip: false, timeout: 10s }
#include <chrono>
#include <string>
#include <vector>

#include "svckit/config/binder.hpp"

namespace svckit::app {

struct AppSettings {
  int workers = 0;         // event loops; 0: one per core
  bool middleware = true;  // the default middleware set on the traffic router
  // After SIGTERM: /readyz answers 503 for this long before the servers stop accepting, so load
  // balancers (Kubernetes endpoints) take the instance out first.
  std::chrono::milliseconds shutdown_delay{0};
  std::chrono::milliseconds shutdown_timeout{30000};  // the whole stop sequence
  static void describe(config::Binder<AppSettings>& b);
};

struct AdminSettings {
  bool enabled = true;
  std::string host = "127.0.0.1";                 // loopback by default: /debug/* is for operators
  int port = 8081;                                // 0: a free port (printed at start)
  std::chrono::milliseconds check_timeout{2000};  // per readiness check
  // How often readiness is checked for servers that report it themselves (gRPC health).
  std::chrono::milliseconds readiness_interval{1000};
  // Bearer token for /debug/* and the console's JSON when `host` is not loopback (then required:
  // start-up refuses without it). Set it from a file: admin.token_file.
  std::string token;
  bool console = true;                              // the console at `/` and GET /debug/console
  std::chrono::milliseconds console_window{10000};  // what the console's RED figures cover
  static void describe(config::Binder<AdminSettings>& b);
};

struct OtlpSettings {
  bool logs = false;
  std::string logs_endpoint = "http://127.0.0.1:4318/v1/logs";
  bool metrics = false;
  std::string metrics_endpoint = "http://127.0.0.1:4318/v1/metrics";
  std::chrono::milliseconds metrics_interval{30000};
  bool gzip = false;
  std::chrono::milliseconds timeout{10000};
  static void describe(config::Binder<OtlpSettings>& b);
};

}  // namespace svckit::app
