#include "svckit/grpc/settings.hpp"

#include "svckit/grpc/grpc.hpp"

namespace svckit::grpc {

using std::chrono::milliseconds;

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
      .doc("per method: \"/package.Service/Method rate=N burst=N max_in_flight=N\" (RESOURCE_EXHAUSTED)");
  b.field("shed", &ServerSettings::shed)
      .doc("refuse calls with UNAVAILABLE when CPU-bound and over the proven concurrency");
  b.field("shed_cpu_threshold", &ServerSettings::shed_cpu_threshold).range(0.1, 1.0);
  b.field("tls_cert_file", &ServerSettings::tls_cert_file);
  b.field("tls_key_file", &ServerSettings::tls_key_file);
  b.validate([](const ServerSettings& s) -> Status {
    if (s.tls_cert_file.empty() != s.tls_key_file.empty())
      return Status(Code::kInvalidArgument, "tls_cert_file and tls_key_file go together");
    for (const auto& rule : s.limits)
      if (auto r = parse_limit_rule(rule); !r) return r.error();
    return {};
  });
}

}  // namespace svckit::grpc
