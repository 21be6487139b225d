#include "svckit/app/settings.hpp"

#include "svckit/resilience/policy.hpp"
#include "svckit/resilience/rules.hpp"

namespace svckit::app {

using std::chrono::milliseconds;

void AppSettings::describe(config::Binder<AppSettings>& b) {
  b.field("workers", &AppSettings::workers).range(0, 256).doc("event loops; 0: one per core");
  b.field("middleware", &AppSettings::middleware).doc("metrics, tracing, request id, access log, recovery");
  b.field("shutdown_delay", &AppSettings::shutdown_delay)
      .range(milliseconds(0), milliseconds(600000))
      .doc("not ready before draining");
  b.field("shutdown_timeout", &AppSettings::shutdown_timeout).range(milliseconds(100), milliseconds(3600000));
}

void AdminSettings::describe(config::Binder<AdminSettings>& b) {
  b.field("enabled", &AdminSettings::enabled);
  b.field("host", &AdminSettings::host).non_empty();
  b.field("port", &AdminSettings::port).range(0, 65535);
  b.field("check_timeout", &AdminSettings::check_timeout).range(milliseconds(10), milliseconds(60000));
  b.field("readiness_interval", &AdminSettings::readiness_interval)
      .range(milliseconds(10), milliseconds(60000))
      .doc("how often readiness is re-checked for servers that publish it (gRPC health)");
}

void OtlpSettings::describe(config::Binder<OtlpSettings>& b) {
  b.field("logs", &OtlpSettings::logs).doc("export log lines to logs_endpoint (needs log.format json)");
  b.field("logs_endpoint", &OtlpSettings::logs_endpoint).non_empty();
  b.field("metrics", &OtlpSettings::metrics).doc("push metrics to metrics_endpoint");
  b.field("metrics_endpoint", &OtlpSettings::metrics_endpoint).non_empty();
  b.field("metrics_interval", &OtlpSettings::metrics_interval).range(milliseconds(100), milliseconds(3600000));
  b.field("gzip", &OtlpSettings::gzip);
  b.field("timeout", &OtlpSettings::timeout).range(milliseconds(100), milliseconds(120000));
}

void ResilienceSettings::describe(config::Binder<ResilienceSettings>& b) {
  b.field("shed", &ResilienceSettings::shed).doc("drop requests fast when CPU-bound and over the proven concurrency");
  b.field("shed_cpu_threshold", &ResilienceSettings::shed_cpu_threshold).range(0.1, 1.0);
  b.field("rate_limit", &ResilienceSettings::rate_limit);
  b.field("rate", &ResilienceSettings::rate).range(0.001, 1e9);
  b.field("burst", &ResilienceSettings::burst).range(1.0, 1e9);
  b.field("max_in_flight", &ResilienceSettings::max_in_flight).range(0, 10000000);
  b.field("routes", &ResilienceSettings::routes)
      .check(
          [](const std::vector<std::string>& rules) {
            for (auto& r : rules)
              if (!resilience::parse_route_rule(r)) return false;
            return true;
          },
          "each rule is \"METHOD /route key=value...\" with keys rate, burst, max_in_flight");
  b.field("upstreams", &ResilienceSettings::upstreams)
      .doc("per upstream or method: \"NAME [METHOD] timeout=.. breaker=gobreaker|adaptive retries=.. ...\"");
  b.validate([](const ResilienceSettings& s) -> Status {
    for (const auto& rule : s.upstreams)
      if (auto r = resilience::parse_call_rule(rule); !r) return r.error();
    return {};
  });
}

}  // namespace svckit::app
