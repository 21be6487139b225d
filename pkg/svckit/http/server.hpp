#pragma once
// svckit's HTTP/1.1 server: one acceptor per worker loop on the same port (SO_REUSEPORT, so the kernel
// spreads connections and nothing is shared on the hot path), one coroutine per connection, keep-alive,
// pipelining (responses to pipelined requests go out in one write), chunked request bodies,
// Expect: 100-continue, per-route body limits, header/body/idle timeouts (408 for a slow head), a
// connection cap, and a graceful drain that finishes in-flight requests and closes idle connections.
// With ServerOptions::tls the listener speaks TLS (svckit/http/tls.hpp): same cycle, its reads and
// writes through OpenSSL, the certificate reloaded for new connections.
//
// ```cpp
//   http::Router router;
//   router.get("/hello", [](http::Request&, http::Response& res) { res.json(200, R"({"msg":"hello"})"); });
//   http::Server server(rt, router, {.port = 8080});
//   if (auto st = server.start(); !st.ok()) return;   // also registers the drain as a runtime stop hook
// ```
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "svckit/core/runtime.hpp"
#include "svckit/http/parser.hpp"
#include "svckit/http/router.hpp"
#include "svckit/http/tls.hpp"
#include "svckit/log/logger.hpp"

namespace svckit::config {
template <class T>
class Binder;
}

namespace svckit::http {

namespace detail {
class ServerTlsContext;
}

struct ServerOptions {
  std::string host = "0.0.0.0";
  std::uint16_t port = 8080;  // 0: pick a free port (see Server::port())
  ParserLimits limits;
  std::chrono::nanoseconds header_timeout = std::chrono::seconds(10);  // whole head, from its first byte
  std::chrono::nanoseconds body_timeout = std::chrono::seconds(30);    // whole body
  std::chrono::nanoseconds idle_timeout = std::chrono::seconds(60);    // keep-alive wait between requests
  std::chrono::nanoseconds write_timeout = std::chrono::seconds(30);
  std::chrono::nanoseconds drain_timeout = std::chrono::seconds(10);
  // During a drain an idle keep-alive connection is kept this long for a request already on its way
  // (a client that sent it as the drain began), which is then answered with Connection: close;
  // closing it at once would drop that request unanswered. 0: close idle connections at once.
  std::chrono::nanoseconds drain_idle_grace = std::chrono::milliseconds(500);
  // Drain as a runtime stop hook of its own. The app runtime turns this off to sequence the drain
  // after readiness has gone down.
  bool drain_on_stop = true;
  // Beyond: 503 and close. start() raises the process's soft limit on open files to cover it (plus
  // 256 for everything else), up to the hard limit; a connection beyond that limit gets the same 503.
  std::size_t max_connections = 10000;
  std::string server_name = "svckit";  // the Server header; empty: none
  int backlog = 1024;
  // Each loop listens on its own SO_REUSEPORT socket. Another process may join the port only when
  // this is set (and the kernel's rules allow it: same user): otherwise a port another process holds
  // fails start() with "address already in use", and a second copy cannot take half the traffic.
  bool share_port = false;
  // TLS on the listener (svckit/http/tls.hpp): on when tls.cert_file is set.
  ServerTlsOptions tls;

  // Its keys in configuration (the `http:` section, svckit/http/settings.hpp).
  static void describe(config::Binder<ServerOptions>& b);
};

struct ServerStats {
  std::uint64_t connections_accepted;
  std::uint64_t connections_rejected;
  std::uint64_t requests;
  std::uint64_t bad_requests;  // refused by the parser or a limit
  std::uint64_t timeouts;
  std::uint64_t handler_exceptions;
  std::uint64_t tls_handshake_failures;  // refused, failed or timed out before the first request
  std::uint64_t tls_reloads;             // certificate files loaded after the first
  std::uint64_t tls_reload_failures;     // replacements refused (the certificate in force stayed)
};

class Server {
 public:
  Server(Runtime& rt, Router& router, ServerOptions options = {}, log::Logger logger = log::global());
  ~Server();  // drains if still running (blocking; call drain() from a coroutine to avoid that)
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds on every loop and starts accepting. Errors (address in use...) are returned, not thrown.
  Status start();
  std::uint16_t port() const noexcept { return port_; }
  // Stops accepting, closes idle keep-alive connections once no request came on them for
  // drain_idle_grace, lets in-flight requests finish (their responses carry Connection: close) up to
  // drain_timeout, then closes what is left. A second call waits for the first to finish.
  Task<void> drain();
  std::size_t connections() const noexcept { return active_.load(); }
  ServerStats stats() const noexcept;
  // Loads the TLS certificate files again now (SIGHUP): new connections get them, open ones keep
  // theirs; an error leaves the certificate in force. Blocking (file reads): call it off the loops.
  Status reload_tls();

 private:
  struct LoopState;
  struct Conn;
  Task<void> accept_loop(LoopState& ls);
  Task<void> sweep_loop(LoopState& ls);
  Task<void> tls_watch_loop();
  Task<void> serve(std::unique_ptr<Conn> conn);
  void close_idle(LoopState& ls, bool all);
  void take_backlog(LoopState& ls);
  bool refuse_without_fd(LoopState& ls);
  static void cancel_io(Conn& c);

  Runtime& rt_;
  Router& router_;
  ServerOptions options_;
  log::Logger logger_;
  std::vector<std::unique_ptr<LoopState>> loops_;
  std::uint16_t port_ = 0;
  Context stop_ctx_;
  std::atomic<std::size_t> active_{0};
  std::atomic<std::size_t> loops_running_{0};  // accept + sweep coroutines still alive
  std::atomic<bool> started_{false};
  std::atomic<bool> draining_{false};
  std::atomic<std::int64_t> idle_grace_end_{0};  // steady ns: idle connections close from then on
  std::atomic<bool> drained_{false};
  struct Counters;
  std::unique_ptr<Counters> counters_;
  std::unique_ptr<detail::ServerTlsContext> tls_;  // null: plain HTTP
};

}  // namespace svckit::http
