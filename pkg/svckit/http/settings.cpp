#include "svckit/http/settings.hpp"

namespace svckit::http {

using namespace std::chrono_literals;
using config::operator""_KiB;
using config::operator""_MiB;
using config::operator""_GiB;

void ServerSettings::describe(config::Binder<ServerSettings>& b) {
  b.field("host", &ServerSettings::host).non_empty();
  b.field("port", &ServerSettings::port).range(0, 65535);
  b.field("max_body", &ServerSettings::max_body).range(config::ByteSize(0), 16_GiB);
  b.field("max_header_bytes", &ServerSettings::max_header_bytes).range(1_KiB, 1_MiB);
  b.field("max_headers", &ServerSettings::max_headers).range(1, static_cast<int>(kMaxHeaderSlots));
  b.field("max_request_line", &ServerSettings::max_request_line).range(config::ByteSize(256), 1_MiB);
  b.field("header_timeout", &ServerSettings::header_timeout).range(10ms, 1h);
  b.field("body_timeout", &ServerSettings::body_timeout).range(10ms, 24h);
  b.field("idle_timeout", &ServerSettings::idle_timeout).range(10ms, 24h);
  b.field("write_timeout", &ServerSettings::write_timeout).range(10ms, 24h);
  b.field("drain_timeout", &ServerSettings::drain_timeout).range(0ms, 1h);
  b.field("max_connections", &ServerSettings::max_connections).range(1, 10000000);
  b.field("share_port", &ServerSettings::share_port)
      .doc("let other processes listen on the same port (SO_REUSEPORT); off: a port in use fails start-up");
  b.field("access_log", &ServerSettings::access_log);
  b.field("trusted_proxies", &ServerSettings::trusted_proxies);
}

ServerOptions ServerSettings::to_options() const {
  ServerOptions o;
  o.host = host;
  o.port = static_cast<std::uint16_t>(port);
  o.limits.max_body = max_body.bytes;
  o.limits.max_header_bytes = max_header_bytes.bytes;
  o.limits.max_headers = static_cast<std::size_t>(max_headers);
  o.limits.max_request_line = max_request_line.bytes;
  o.header_timeout = header_timeout;
  o.body_timeout = body_timeout;
  o.idle_timeout = idle_timeout;
  o.write_timeout = write_timeout;
  o.drain_timeout = drain_timeout;
  o.max_connections = static_cast<std::size_t>(max_connections);
  o.share_port = share_port;
  return o;
}

}  // namespace svckit::http
