#pragma once
// svckit's HTTP/1.1 client, on the same runtime as the server: a pool of keep-alive connections per
// host and per loop (no locks on the hot path), limits per host, idle eviction, chunked and
// close-delimited responses, streaming bodies both ways, and timeouts taken from the Context: every
// call ends by the Context's deadline (or ClientOptions::timeout without one), is cancelled with it,
// and tells the next hop how long it has left (X-Request-Timeout-Ms) along with the Context's metadata.
//
// ```cpp
//   Task<Status> hello(Runtime& rt, const Context& ctx) {
//     static http::Client client(rt);                  // one per service: its pools are shared
//     auto res = co_await client.get(ctx, "http://127.0.0.1:8080/hello");
//     if (!res) co_return res.error();                 // UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED…
//     co_return res->status == 200 ? Status() : Status::from_http(res->status);   // res->body
//   }
// ```
//
// With a registry (ClientOptions::discovery), a URL may name a service instead of a host:
// `discovery:///user-svc/v1/users/42` goes to an instance of user-svc picked by the client's
// balancer from the registry's live set, and a call that could not reach its instance (or, with
// ClientOptions::try_timeout, got no answer from it in time) is tried on another one.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "svckit/core/runtime.hpp"
#include "svckit/discovery/balancer.hpp"
#include "svckit/discovery/outlier.hpp"
#include "svckit/discovery/registry.hpp"
#include "svckit/http/parser.hpp"
#include "svckit/http/tls.hpp"
#include "svckit/trace/otlp.hpp"

namespace svckit::http {

struct ClientOptions {
  std::size_t max_connections_per_host = 64;  // per loop; beyond it calls wait for a free connection
  std::size_t max_idle_per_host = 16;         // per loop
  std::chrono::nanoseconds idle_timeout = std::chrono::seconds(90);
  std::chrono::nanoseconds timeout = std::chrono::seconds(30);  // when the Context has no deadline
  std::uint64_t max_response_body = 64ull << 20;                // larger: RESOURCE_EXHAUSTED
  ParserLimits limits;                                          // for response heads
  std::string user_agent = "svckit";
  bool propagate_deadline = true;  // send X-Request-Timeout-Ms with the time left
  // Client spans (with the global tracer), trace-context propagation and svckit_http_client_* metrics.
  bool observe = true;
  // discovery:///service/path URLs: the instances of `service` in this registry, followed with a
  // watch and picked per call by `balancer` (one per loop). A try that reached no instance (refused,
  // reset or closed before any response; for idempotent methods also a response cut short) is made
  // again on another instance, up to `discovery_attempts` tries within the call's deadline.
  std::shared_ptr<discovery::Discovery> discovery;
  discovery::Policy balancer = discovery::Policy::kP2C;  // for services without an entry in `services`
  std::string zone;  // prefer instances in this zone (services without an entry in `services`)
  // Per service: its balancer, a version filter and a zone preference (discovery/balancer.hpp).
  std::map<std::string, discovery::ServicePolicy, std::less<>> services;
  int discovery_attempts = 3;
  // discovery:/// calls: each try gets min(time left, try_timeout); zero (the default) gives each
  // try all the time left. A try that runs out of its own time (an instance that accepts and never
  // answers, or a host cut off the network) counts as a failure of that instance for passive health
  // and the balancer, and an idempotent request is tried again on another instance within the call's
  // deadline. A non-idempotent one ends DEADLINE_EXCEEDED: it may have been processed.
  std::chrono::nanoseconds try_timeout{0};
  // Passive health per loop: instances whose calls fail in a row (connection errors or 5xx) are
  // left out for a while (discovery/outlier.hpp).
  discovery::OutlierOptions outlier;
  // https:// URLs (svckit/http/tls.hpp): the CA bundle, client certificate (mutual TLS) and name
  // checks for every TLS upstream, or for one "host:port" in tls_hosts. Connections are pooled per
  // scheme and host like plain ones: a TLS session is set up once and reused by later calls.
  ClientTlsOptions tls;
  std::map<std::string, ClientTlsOptions, std::less<>> tls_hosts;
};

struct ClientConn;  // detail/client_exchange.hpp

// The connection after a `101 Switching Protocols` answer (a request with Upgrade): raw bytes both
// ways, owned by the caller and closed when destroyed. Used on the loop that made the call.
class UpgradedConnection {
 public:
  explicit UpgradedConnection(std::shared_ptr<ClientConn> conn);
  ~UpgradedConnection();
  UpgradedConnection(const UpgradedConnection&) = delete;
  UpgradedConnection& operator=(const UpgradedConnection&) = delete;
  // Bytes from the server (those that came with the 101 first): how many were read into buf, 0 at
  // the server's end of stream; CANCELLED after cancel(), UNAVAILABLE when the connection failed.
  Task<Result<std::size_t>> read(std::span<char> buf);
  Task<Status> write(std::string_view bytes);
  // Ends a pending read or write (call on the connection's loop).
  void cancel();

 private:
  std::shared_ptr<ClientConn> conn_;
  bool cancelled_ = false;
};

struct ClientResponse;

struct ClientRequest {
  Method method = Method::kGet;
  std::string url;  // http[s]://host[:port]/path?query, or discovery:///service/path?query
  std::vector<std::pair<std::string, std::string>> headers;
  // More fields, already in wire form ("Name: value\r\n" each), sent as they are after `headers`:
  // how a proxy forwards the fields it received without a string pair per field. Not owned: they
  // must outlive the call. Host and User-Agent among them are seen (the client then adds none of its
  // own); they must not carry trace context, Content-Length or Transfer-Encoding.
  std::string_view wire_headers;
  std::string body;
  // Set instead of `body` to stream a request body of unknown length (sent chunked): return the next
  // piece, or nullopt at the end.
  std::function<std::optional<std::string>()> body_stream;
  // Or: an awaitable source of body pieces (an empty piece ends the body; an error aborts the call
  // with it), sent with Content-Length when body_length is set, else chunked. A proxy streams a
  // body it is still receiving this way. A call with a streamed body is never sent twice.
  std::function<Task<Result<std::string_view>>()> body_source;
  std::optional<std::uint64_t> body_length;
  // Set to receive the response body piece by piece instead of in ClientResponse::body. A non-OK
  // Status aborts the call with it.
  std::function<Status(std::string_view)> on_body;
  // Awaitable forms: on_head sees the response's status, headers and framing before any of its body
  // (a non-OK Status aborts the call with it and closes the connection); body_sink then receives the
  // body piece by piece, instead of ClientResponse::body, with backpressure (the next piece is read
  // when it returns).
  std::function<Task<Status>(const ClientResponse&)> on_head;
  std::function<Task<Status>(std::string_view)> body_sink;
  // discovery:/// calls: do not pick this instance id first (the one a previous try failed on).
  std::string avoid_instance;
  // The consistent-hash balancer's affinity key (a user or session id); other balancers ignore it.
  std::string balance_key;
};

struct ClientResponse {
  ClientResponse() = default;
  ClientResponse(const ClientResponse&) = default;
  ClientResponse(ClientResponse&&) noexcept = default;
  ClientResponse& operator=(const ClientResponse&) = default;
  ClientResponse& operator=(ClientResponse&&) noexcept = default;
  // Leaves `headers`' vector and strings to the thread's next response: a proxied call then costs no
  // allocation for the fields it receives.
  ~ClientResponse();

  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The response's framing: its Content-Length, or chunked, or neither (ends when the server closes).
  std::optional<std::uint64_t> content_length;
  bool chunked = false;
  std::string address;   // host:port that answered
  std::string instance;  // discovery:/// calls: the instance id that answered
  // Set for a 101 answer to a request with an Upgrade header: the connection, now the caller's.
  std::shared_ptr<UpgradedConnection> upgraded;
  std::string_view header(std::string_view name) const noexcept;
};

struct ClientStats {
  std::uint64_t requests = 0;
  std::uint64_t connections_opened = 0;
  std::uint64_t connections_reused = 0;
  std::uint64_t retries = 0;           // requests re-sent after a reused connection turned out closed
  std::uint64_t instance_retries = 0;  // discovery:/// tries made again on another instance
  std::uint64_t ejections = 0;         // instances left out by passive health checks
  std::uint64_t tls_handshakes = 0;    // TLS connections set up
  std::uint64_t tls_resumed = 0;       // of which resumed an earlier session (no certificate exchange)
};

// Splits "http://host:port/path?q" ("https://...", "discovery:///service/path?q") into its parts;
// INVALID_ARGUMENT for anything else.
struct Url {
  std::string host;
  std::uint16_t port = 80;   // 443 for https without a port
  bool tls = false;          // https
  std::string target = "/";  // path and query
  std::string service;       // discovery:/// URLs: the service; host and port come from an instance
};
Result<Url> parse_url(std::string_view url);

// What the client knows of a discovered service now (for /debug/registry and tools).
struct DiscoveredInstance {
  discovery::Instance instance;
  bool ejected = false;         // by passive health, on at least one loop
  double latency_ms = 0;        // P2C's learnt latency (peak EWMA), the largest across loops
  std::uint32_t in_flight = 0;  // calls out now, all loops
};
struct DiscoveredService {
  std::string name;
  discovery::ServicePolicy policy;
  std::vector<DiscoveredInstance> instances;  // the registry's set (after the version filter)
  std::uint64_t ejections = 0;                // since the client began following the service
};
// Cheap counts for metrics, from any thread.
struct DiscoveryCounts {
  std::string service;
  std::size_t instances = 0;  // in the registry's set
  std::size_t ejected = 0;    // ejected now (the most on any one loop)
  std::uint64_t ejections = 0;
};

struct LoopBalancer;  // detail/client_exchange.hpp

class Client {
 public:
  explicit Client(Runtime& rt, ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Task<Result<ClientResponse>> send(const Context& ctx, ClientRequest request);
  Task<Result<ClientResponse>> get(const Context& ctx, std::string url);
  Task<Result<ClientResponse>> post(const Context& ctx, std::string url, std::string body,
                                    std::string content_type = "application/json");

  ClientStats stats() const noexcept;
  // The services this client follows, with each instance's passive health and learnt load. Visits
  // every loop in turn (their balancers are loop-local) and resumes on the calling loop.
  Task<std::vector<DiscoveredService>> discovered();
  std::vector<DiscoveryCounts> discovery_counts() const;
  // The policy a discovery:/// call to `service` follows (ClientOptions::services, else the defaults).
  discovery::ServicePolicy policy(std::string_view service) const;
  // Idle connections across all loops (for tests and the admin page).
  std::size_t idle_connections() const noexcept;

 private:
  // `url` is request.url parsed (once per call).
  Task<Result<ClientResponse>> send_untraced(const Context& ctx, ClientRequest request, Result<Url> url);
  Task<Result<ClientResponse>> exchange(const Context& call, const ClientRequest& request, const Url& url,
                                        const Context& caller, bool& reached);
  Task<Result<ClientResponse>> send_discovered(const Context& call, const ClientRequest& request, const Url& url,
                                               const Context& caller);
  Task<Result<LoopBalancer*>> balancer_for(const Context& call, const std::string& service);
  struct Impl;
  struct Exchange;
  std::unique_ptr<Impl> impl_;
};

// The HTTP transport for the OTLP exporter (svckit::trace does not depend on http). It runs on rt's
// loops with its own unobserved client (exporting must not make spans of its own); called from the
// exporter's thread. When the runtime no longer runs, calls fail with UNAVAILABLE after the timeout.
trace::Transport otlp_transport(Runtime& rt);

}  // namespace svckit::http
