#pragma once
// The configuration sections the app runtime reads besides log:, http: and trace:
//   app:   { workers: 0, middleware: true, shutdown_delay: 0s, shutdown_timeout: 30s }
//   admin: { enabled: true, host: 127.0.0.1, port: 8081, check_timeout: 2s }
//   resilience: { shed: false, shed_cpu_threshold: 0.9, rate_limit: false, rate: 1000, burst: 2000, max_in_flight: 0 }
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

// Inbound protection for the traffic port (resilience:), off by default, and the policies of outgoing
// calls per upstream and method (App::upstreams()).
struct ResilienceSettings {
  bool shed = false;  // go-zero's CPU-based load shedder
  double shed_cpu_threshold = 0.9;
  bool rate_limit = false;  // a token bucket for the whole service
  double rate = 1000;       // requests per second
  double burst = 2000;
  int max_in_flight = 0;  // a bulkhead; 0: none
  // Per route: "METHOD /route/template rate=N burst=N max_in_flight=N" (METHOD may be *).
  std::vector<std::string> routes;
  // Outgoing calls per upstream or method: "NAME [METHOD] key=value..." (svckit/resilience/policy.hpp).
  std::vector<std::string> upstreams;
  static void describe(config::Binder<ResilienceSettings>& b);
};

}  // namespace svckit::app
