#include "svckit/http/settings.hpp"

namespace svckit::http {

using namespace std::chrono_literals;

void ParserLimits::describe(config::Binder<ParserLimits>& b) {
  b.bytes("max_body", &ParserLimits::max_body)
      .range(0, std::uint64_t(16) << 30)
      .doc("largest request body (413 beyond); routes may set their own");
  b.bytes("max_header_bytes", &ParserLimits::max_header_bytes).range(1 << 10, 1 << 20).doc("the whole head (431)");
  b.field("max_headers", &ParserLimits::max_headers).range(1, kMaxHeaderSlots).doc("header fields (431)");
  b.bytes("max_request_line", &ParserLimits::max_request_line).range(256, 1 << 20).doc("414 beyond");
}

void ServerOptions::describe(config::Binder<ServerOptions>& b) {
  b.field("host", &ServerOptions::host).non_empty();
  b.field("port", &ServerOptions::port).doc("0: a free port");
  b.section("", &ServerOptions::limits);
  b.field("header_timeout", &ServerOptions::header_timeout).range(10ms, 1h).doc("the whole head, from its first byte");
  b.field("body_timeout", &ServerOptions::body_timeout).range(10ms, 24h);
  b.field("idle_timeout", &ServerOptions::idle_timeout).range(10ms, 24h).doc("keep-alive wait between requests");
  b.field("write_timeout", &ServerOptions::write_timeout).range(10ms, 24h);
  b.field("drain_timeout", &ServerOptions::drain_timeout).range(0ms, 1h).doc("in-flight requests finish on stop");
  b.field("drain_idle_grace", &ServerOptions::drain_idle_grace)
      .range(0ms, 1min)
      .doc("on stop, an idle keep-alive connection waits this long for a request already on its way");
  b.field("max_connections", &ServerOptions::max_connections).range(1, 10000000).doc("beyond: 503 and close");
  b.field("backlog", &ServerOptions::backlog).range(1, 65535).doc("the kernel's accept queue per loop");
  b.field("share_port", &ServerOptions::share_port)
      .doc("let other processes listen on the same port (SO_REUSEPORT); off: a port in use fails start-up");
  b.section("tls", &ServerOptions::tls);
}

void ServerSettings::describe(config::Binder<ServerSettings>& b) {
  b.section("", &ServerSettings::server);
  b.field("access_log", &ServerSettings::access_log).doc("one line per request (the default middleware set)");
  b.field("trusted_proxies", &ServerSettings::trusted_proxies);
}

}  // namespace svckit::http
