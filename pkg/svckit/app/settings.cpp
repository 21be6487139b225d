#include "svckit/app/settings.hpp"

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
  b.field("token", &AdminSettings::token)
      .secret()
      .doc("bearer token for /debug/* and /debug/console; required when host is not loopback");
  b.field("console", &AdminSettings::console).doc("the admin console at / (docs/admin.md)");
  b.field("console_window", &AdminSettings::console_window)
      .range(milliseconds(1000), milliseconds(600000))
      .doc("the span of the console's rates and percentiles");
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

}  // namespace svckit::app
