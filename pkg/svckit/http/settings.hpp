#pragma once
// The `http:` configuration section of a service and the ServerOptions it produces.
#include "svckit/config/binder.hpp"
#include "svckit/http/server.hpp"

namespace svckit::http {

struct ServerSettings {
  std::string host = "0.0.0.0";
  int port = 8080;
  config::ByteSize max_body = config::ByteSize(4 << 20);
  config::ByteSize max_header_bytes = config::ByteSize(64 << 10);
  int max_headers = 100;
  config::ByteSize max_request_line = config::ByteSize(8 << 10);
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds write_timeout{30000};
  std::chrono::milliseconds drain_timeout{10000};
  int max_connections = 10000;
  bool share_port = false;
  bool access_log = true;
  std::vector<std::string> trusted_proxies;

  static void describe(config::Binder<ServerSettings>& b);
  ServerOptions to_options() const;
};

}  // namespace svckit::http
