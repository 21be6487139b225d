#pragma once
// The admin endpoints, served on their own port so that probes and scrapes never queue behind
// traffic and /debug/* can stay on loopback:
//   GET /metrics           Prometheus text or OpenMetrics (negotiated)
//   GET /healthz           liveness: 200 while the loops answer
//   GET /readyz            readiness: 200 or 503 with every check's result as JSON
//   GET /debug/config      the effective configuration with its sources, secrets redacted
//   GET /debug/traces      recent spans as OTLP/JSON (?trace_id= filters)
//   GET /debug/log-level   {"level":"info"}
//   PUT|POST /debug/log-level  {"level":"debug"}, with X-CSRF-Token (below)
//   GET /debug/csrf        {"token":"..."}: the per-process token that state-changing calls carry
//   GET /debug/routes      the traffic router's routes: [{"method":"GET","path":"/v1/users/:id"}]
//   GET /debug/registry    this instance's registration and the registry's services (App, registration.cpp)
//   GET /debug/console     the console's live state; GET / and /console/* the console (docs/admin.md)
#include <functional>
#include <memory>

#include "svckit/app/health.hpp"
#include "svckit/config/config.hpp"
#include "svckit/http/router.hpp"
#include "svckit/log/logger.hpp"
#include "svckit/metrics/metrics.hpp"
#include "svckit/trace/tracer.hpp"

namespace svckit::app {

struct AdminParts {
  metrics::Registry* registry = nullptr;
  const config::Config* config = nullptr;
  log::Logger logger;
  std::shared_ptr<trace::RingBufferProcessor> recent;  // may be null
  std::shared_ptr<trace::Tracer> tracer;               // for the resource in /debug/traces
  const Readiness* readiness = nullptr;
  std::chrono::milliseconds check_timeout{2000};
  const http::Router* traffic = nullptr;  // for /debug/routes
  // When it holds a function, /debug/routes answers its JSON instead (App::describe_routes).
  std::shared_ptr<std::function<std::string()>> routes_json;
  // What state-changing calls must send as X-CSRF-Token; empty: a fresh random one.
  std::string csrf_token;
};

void mount_admin(http::Router& router, AdminParts parts);

}  // namespace svckit::app
