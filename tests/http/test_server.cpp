// A small svckit HTTP server for the real-client tests (tests/http/clients_test.sh) and the RFC 9112/9110
// conformance scenario (tests/reliability/http_conformance.sh, which serves the same routes from nginx):
// prints its port, then serves until SIGTERM.
#include <cstdio>

#include "svckit/core/runtime.hpp"
#include "svckit/http/middleware.hpp"
#include "svckit/http/server.hpp"

using namespace svckit;

int main() {
  Runtime rt({.workers = 2, .handle_signals = true});
  log::Logger logger({.level = log::Level::kWarn, .sink = log::StreamSink::stderr_sink()});
  http::Router router;
  router.use(http::middleware::request_id());
  router.use(http::middleware::recovery(logger));
  router.get("/hello", [](http::Request&, http::Response& res) { res.json(200, R"({"msg":"Hello svckit"})"); });
  router.post("/echo", [](http::Request& req, http::Response& res) {
    res.set_header("X-Body-Length", std::to_string(req.body().size()));
    res.set_header("X-Request-Transfer-Encoding", req.header("Transfer-Encoding"));
    res.text(200, req.body());
  });
  router.post("/small", [](http::Request& req, http::Response& res) { res.text(200, req.body()); }).body_limit(16);
  router.get("/params/:a/*rest", [](http::Request& req, http::Response& res) {
    res.text(200, std::string(req.param("a")) + "|" + std::string(req.param("rest")));
  });
  // What the conformance cases look at: the method, the Host the server settled on and the path.
  auto describe = [](http::Request& req, http::Response& res) {
    res.set_header("X-Body-Length", std::to_string(req.body().size()));
    res.text(200, std::string(req.method_text()) + " " + std::string(req.header("Host")) + " " +
                      std::string(req.path()) + "\n");
  };
  router.get("/rfc", describe);
  router.post("/rfc", describe);
  router.put("/rfc", describe);
  router.del("/rfc", describe);
  router.handle(http::Method::kOptions, "/rfc", describe);
  // Conditional GET: a 304 and a 204 whose handlers set a body that the server must not send.
  router.get("/cache", [](http::Request& req, http::Response& res) {
    res.set_header("ETag", "\"v1\"");
    auto inm = req.header("If-None-Match");
    if (inm == "*" || inm == "\"v1\"")
      res.text(304, "a 304 has no content");
    else
      res.text(200, "cached\n");
  });
  router.get("/nocontent", [](http::Request&, http::Response& res) { res.text(204, "a 204 has no content"); });
  http::ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.limits.max_request_line = 8 * 1024;
  o.limits.max_header_bytes = 64 * 1024;
  o.limits.max_body = 4 << 20;
  o.header_timeout = std::chrono::seconds(1);
  o.idle_timeout = std::chrono::seconds(5);
  http::Server server(rt, router, o, logger);
  if (!server.start().ok()) return 1;
  std::printf("%u\n", server.port());
  std::fflush(stdout);
  rt.wait();
  return 0;
}
