#include "svckit/grpc/settings.hpp"

#include "svckit/config/config.hpp"  // the list binder's templates (grpc.limits)
#include "svckit/grpc/detail/limits.hpp"

namespace svckit::grpc {

using std::chrono::milliseconds;

void MethodLimit::describe(config::Binder<MethodLimit>& b) {
  b.field("method", &MethodLimit::method)
      .required()
      .check(detail::is_method_name, "expected the method's full name, /package.Service/Method")
      .doc("the method's full name, /package.Service/Method");
  b.field("rate", &MethodLimit::rate).range(0.0, 1e6).doc("calls admitted per second (token bucket); 0: none");
  b.field("burst", &MethodLimit::burst).range(0.0, 1e6).doc("the bucket's size; 0: the rate (at least 1)");
  b.field("max_in_flight", &MethodLimit::max_in_flight)
      .range(0, 1000000)
      .doc("calls served at once (bulkhead); 0: none");
  // The field checks above have run by now: only the rule across fields can fail here.
  b.validate(detail::check_limit);
}

void ServerSettings::describe(config::Binder<ServerSettings>& b) {
  b.field("host", &ServerSettings::host).non_empty();
  b.field("port", &ServerSettings::port).range(0, 65535);
  b.field("max_concurrent_streams", &ServerSettings::max_concurrent_streams).range(1, 100000);
  b.field("initial_stream_window", &ServerSettings::initial_stream_window)
      .range(config::ByteSize(1 << 10), config::ByteSize(1 << 30));
  b.field("initial_connection_window", &ServerSettings::initial_connection_window)
      .range(config::ByteSize(64 << 10), config::ByteSize(1 << 30));
  b.field("max_receive_message", &ServerSettings::max_receive_message)
      .range(config::ByteSize(1 << 10), config::ByteSize(1 << 30));
  b.field("max_send_message", &ServerSettings::max_send_message)
      .range(config::ByteSize(1 << 10), config::ByteSize(1 << 30));
  b.field("keepalive_time", &ServerSettings::keepalive_time).range(milliseconds(1000), milliseconds(86400000));
  b.field("keepalive_timeout", &ServerSettings::keepalive_timeout).range(milliseconds(100), milliseconds(3600000));
  b.field("shutdown_grace", &ServerSettings::shutdown_grace).range(milliseconds(0), milliseconds(600000));
  b.field("share_port", &ServerSettings::share_port)
      .doc("let other processes listen on the same port (SO_REUSEPORT); off: a port in use fails start-up");
  b.field("reflection", &ServerSettings::reflection);
  b.field("limits", &ServerSettings::limits)
      .doc("per method: [{method: /package.Service/Method, rate, burst, max_in_flight}] (RESOURCE_EXHAUSTED)");
  b.field("shed", &ServerSettings::shed)
      .doc("refuse calls with UNAVAILABLE when CPU-bound and over the proven concurrency");
  b.field("shed_cpu_threshold", &ServerSettings::shed_cpu_threshold).range(0.1, 1.0);
  b.field("tls_cert_file", &ServerSettings::tls_cert_file);
  b.field("tls_key_file", &ServerSettings::tls_key_file);
  b.validate([](const ServerSettings& s) -> Status {
    if (s.tls_cert_file.empty() != s.tls_key_file.empty())
      return Status(Code::kInvalidArgument, "tls_cert_file and tls_key_file go together");
    return {};
  });
}

}  // namespace svckit::grpc
