#pragma once
// The gateway's configuration: the `gateway:` section of the service's configuration (where the
// routes file is, whom to trust, upstream pools) and the routes file itself, a YAML list of routes
// bound through svckit's config binder (each key declared once here, with its default and rule).
// docs/gateway.md describes every key.
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "svckit/config/binder.hpp"
#include "svckit/config/units.hpp"
#include "svckit/core/status.hpp"
#include "svckit/http/tls.hpp"

namespace svckit::gateway {

enum class PathType { kExact, kPrefix, kTemplate };
constexpr auto config_names(PathType) {
  return std::array{std::pair{PathType::kExact, "exact"}, std::pair{PathType::kPrefix, "prefix"},
                    std::pair{PathType::kTemplate, "template"}};
}

// One route: what it matches, where it sends what matched, and the policies on the way.
struct RouteConfig {
  // ---- identity and order ----
  std::string name;  // metrics, logs and /debug/routes label requests with it
  int priority = 0;  // higher first; equal priorities keep the file's order

  // ---- match ----
  std::vector<std::string> hosts;  // exact ("api.example.com") or "*.example.com"; empty: any host
  std::string path = "/";
  PathType path_type = PathType::kPrefix;
  std::vector<std::string> methods;            // empty: any method
  std::map<std::string, std::string> headers;  // name: value ("*": present with any value)

  // ---- action ----
  std::vector<std::string> upstream;  // one discovery:///service, or http://host:port URLs
  bool strip_prefix = false;          // prefix routes: the matched prefix is removed from the path
  std::string rewrite;                // the upstream path; `:name` takes a template parameter
  bool preserve_host = false;         // send the client's Host instead of the upstream's
  bool websocket = true;              // tunnel `Upgrade: websocket` requests

  // ---- limits and timeouts ----
  std::chrono::milliseconds timeout{30000};  // the whole request, tries included
  std::chrono::milliseconds try_timeout{0};  // each try; 0: what remains of timeout
  std::uint64_t max_body = 16ull << 20;      // request body

  // ---- retries ----
  int retries = 2;  // tries after the first, for idempotent methods
  std::vector<std::string> retry_on = {"connect-failure", "502", "503", "504"};
  std::chrono::milliseconds retry_backoff{25};
  std::chrono::milliseconds retry_max_backoff{1000};
  double retry_budget = 0.2;          // retries ≤ this share of calls over 10 s (+1/s)
  bool retry_non_idempotent = false;  // also retry POST and PATCH (only when nothing of the body was sent)

  // ---- rate limit ----
  double rate_limit = 0;                 // requests per second; 0: none
  double rate_burst = 0;                 // 0: rate_limit
  std::string rate_limit_key = "route";  // route, client_ip, header:NAME, or user (auth: jwt routes)
  std::string rate_limit_redis;          // host:port: one bucket for every gateway instance (key route only)

  // ---- breaker per upstream ----
  int breaker_failures = 0;  // open after more than N consecutive failed tries; 0: no breaker
  std::chrono::milliseconds breaker_open_for{10000};

  // ---- CORS ----
  std::vector<std::string> cors_origins;  // empty: no CORS handling
  std::vector<std::string> cors_methods = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
  std::vector<std::string> cors_headers = {"Content-Type", "Authorization", "X-Request-Id"};
  std::vector<std::string> cors_expose = {"X-Request-Id"};
  bool cors_credentials = false;
  std::chrono::seconds cors_max_age{600};

  // ---- identity (auth: jwt needs the gateway_auth section: edge_auth.hpp) ----
  std::string auth = "none";                 // none | jwt: a valid bearer token is required
  std::vector<std::string> auth_roles;       // any of these roles (403 otherwise); empty: any
  std::vector<std::string> auth_scopes;      // all of these scopes (403 otherwise)
  std::vector<std::string> auth_algorithms;  // a subset of gateway_auth.algorithms; empty: all of them
  bool auth_optional = false;                // no token passes (no identity); a token sent must be valid
  bool auth_forward_token = true;            // the Authorization header goes upstream too

  // ---- mirroring (mirror.hpp): a sampled copy of each request, its answer discarded ----
  std::vector<std::string> mirror;              // the shadow upstream: same syntax as upstream; empty: none
  double mirror_percent = 0;                    // share of requests copied, by request id (0..100)
  std::uint64_t mirror_max_body = 1ull << 20;   // larger bodies are not copied (they are buffered for it)
  std::chrono::milliseconds mirror_timeout{0};  // 0: try_timeout, else timeout
  int mirror_max_in_flight = 64;                // per route and gateway; over it copies are dropped

  // ---- canary split (canary.hpp) ----
  std::vector<std::string> canary_upstream;  // the canary set as its own upstream (same syntax as upstream)
  std::string canary_version;                // or: the instances of a discovery:/// upstream of this version
  double canary_weight = 0;                  // share of keys sent to the canary (0..100)
  std::string canary_header;                 // a header whose value `always` / `never` overrides the split
  std::string canary_key = "user";           // user (verified subject, else client IP), client_ip, header:NAME, random

  static void describe(config::Binder<RouteConfig>& b);
};

struct RoutesFile {
  std::vector<RouteConfig> routes;
  static void describe(config::Binder<RoutesFile>& b);
};

// Reads and binds a routes file; every problem at once, each naming the key and file:line.
Result<RoutesFile> load_routes(const std::string& path);
Result<RoutesFile> parse_routes(std::string_view yaml, const std::string& source_name);

// TLS to one upstream address (an https:// upstream's host:port, or an instance's https endpoint):
// its CA, the gateway's client certificate for mutual TLS, the name checked.
struct UpstreamTls {
  std::string address;  // host:port, as in the upstream URL
  http::ClientTlsOptions tls;
  static void describe(config::Binder<UpstreamTls>& b);
};

// The `gateway:` section of the service's configuration.
struct GatewaySettings {
  std::string routes_file = "configs/routes.yaml";  // relative: from the service's root
  std::chrono::milliseconds reload_interval{1000};  // how often the routes file is checked for edits
  std::vector<std::string> trusted_proxies;         // peers whose X-Forwarded-*/Forwarded are kept
  std::size_t upstream_max_connections = 512;       // per upstream address and event loop
  std::size_t upstream_max_idle = 64;
  std::chrono::milliseconds upstream_idle_timeout{60000};
  // https:// upstreams: the CA (the system's by default) and client certificate for all of them, and
  // per address in upstream_tls_hosts.
  http::ClientTlsOptions upstream_tls;
  std::vector<UpstreamTls> upstream_tls_hosts;
  // The verified-token cache of auth: jwt routes (edge_auth.hpp); the verifier itself is gateway_auth.
  std::size_t auth_cache_size = 10000;  // tokens remembered; 0: every request is verified
  std::chrono::seconds auth_cache_ttl{300};
  std::chrono::seconds auth_retry_after{5};  // Retry-After of 503 KEYS_UNAVAILABLE

  static void describe(config::Binder<GatewaySettings>& b);
};

}  // namespace svckit::gateway
