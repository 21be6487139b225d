// A svckit HTTP server with TLS for the real-client TLS tests (tests/http/tls_test.sh): prints its
// port, then serves until SIGTERM.
//   tls_server CERT KEY [CLIENT_CA none|optional|require]
// GET /whoami answers what the handler sees of the connection (TLS, the verified client certificate);
// GET /stats the server's TLS counters.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "svckit/core/runtime.hpp"
#include "svckit/http/server.hpp"

using namespace svckit;

namespace {
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  Runtime rt({.workers = 2, .handle_signals = true});
  log::Logger logger({.level = log::Level::kInfo, .sink = log::StreamSink::stderr_sink()});
  http::Router router;
  http::Server* srv = nullptr;
  router.get("/hello", [](http::Request&, http::Response& res) { res.json(200, R"({"msg":"Hello svckit"})"); });
  router.get("/whoami", [](http::Request& req, http::Response& res) {
    std::string body = std::string("{\"tls\":") + (req.tls() ? "true" : "false");
    if (const http::PeerCertificate* p = req.peer_certificate()) {
      body += ",\"subject\":" + quoted(p->subject) + ",\"serial\":" + quoted(p->serial) + ",\"uris\":[";
      for (std::size_t i = 0; i < p->uris.size(); ++i) body += (i ? "," : "") + quoted(p->uris[i]);
      body += "]";
    }
    res.json(200, body + "}");
  });
  router.get("/stats", [&srv](http::Request&, http::Response& res) {
    http::ServerStats s = srv->stats();
    res.json(200, "{\"handshake_failures\":" + std::to_string(s.tls_handshake_failures) + ",\"reloads\":" +
                      std::to_string(s.tls_reloads) + ",\"reload_failures\":" + std::to_string(s.tls_reload_failures) +
                      ",\"bad_requests\":" + std::to_string(s.bad_requests) + "}");
  });
  http::ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.tls.cert_file = argv[1];
  o.tls.key_file = argv[2];
  if (argc >= 5) {
    o.tls.client_ca_file = argv[3];
    o.tls.client_auth = argv[4];
  }
  o.tls.handshake_timeout = std::chrono::milliseconds(1000);
  o.tls.reload_interval = std::chrono::milliseconds(200);
  http::Server server(rt, router, o, logger);
  srv = &server;
  if (auto st = server.start(); !st.ok()) {
    std::fprintf(stderr, "%s\n", st.to_string().c_str());
    return 1;
  }
  std::printf("%u\n", server.port());
  std::fflush(stdout);
  rt.wait();
  return 0;
}
