#pragma once
// The `http:` configuration section of a service: the server's own options (ServerOptions, whose keys
// sit directly under http:) and what the app runtime adds in front of the router.
//   http: { host: 0.0.0.0, port: 8080, max_body: 4MiB, header_timeout: 10s, ..., access_log: true,
//           trusted_proxies: [10.0.0.1], tls: {cert_file: ..., key_file: ...} }
#include <string>
#include <vector>

#include "svckit/config/binder.hpp"
#include "svckit/http/server.hpp"

namespace svckit::http {

struct ServerSettings {
  ServerOptions server;
  bool access_log = true;
  std::vector<std::string> trusted_proxies;  // peers whose X-Forwarded-For / X-Real-IP is believed

  static void describe(config::Binder<ServerSettings>& b);
};

}  // namespace svckit::http
