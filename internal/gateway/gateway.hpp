#pragma once
// svckit's API gateway: routes from a YAML file (routes.hpp) matched per request (table.hpp), each
// request proxied to its route's upstream with svckit's HTTP client: bodies streamed both ways,
// hop-by-hop headers removed, forwarding headers appended, websocket upgrades tunnelled, retries,
// rate limits, breakers and timeouts per route, and the gateway's own errors in svckit's JSON error
// format; routes with `auth: jwt` verify bearer tokens at the edge and forward the identity
// (edge_auth.hpp); a share of a route's requests may be copied to a shadow upstream (mirror.hpp) and
// a share sent to a canary set (canary.hpp). The routes file is watched: a valid edit replaces the table atomically
// (requests in flight finish on the table they started with); an invalid one is refused, logged and counted, and the
// table in force stays.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "edge_auth.hpp"
#include "routes.hpp"
#include "svckit/auth/settings.hpp"
#include "svckit/core/runtime.hpp"
#include "svckit/discovery/registry.hpp"
#include "svckit/discovery/static_registry.hpp"
#include "svckit/http/client.hpp"
#include "svckit/http/router.hpp"
#include "svckit/log/logger.hpp"
#include "svckit/metrics/metrics.hpp"
#include "table.hpp"

namespace svckit::gateway {

namespace detail {
class TrustedProxies;
using Headers = std::vector<std::pair<std::string, std::string>>;
}  // namespace detail
class Mirrors;

struct GatewayOptions {
  GatewaySettings settings;
  std::string routes_path;  // the routes file (absolute, or relative to the working directory)
  // discovery:/// upstreams resolve here (the App's registry); null: only static upstreams.
  std::shared_ptr<discovery::Discovery> discovery;
  // The token verifier of auth: jwt routes (the gateway_auth section: bind_edge_auth); its jwks_url
  // resolves through `discovery` too. None: a routes file with auth: jwt is refused.
  std::optional<auth::VerifierSettings> auth;
  log::Logger logger = log::global();
  metrics::Registry* registry = nullptr;  // null: metrics::Registry::global()
};

struct GatewayStats {
  std::uint64_t reloads = 0;          // tables installed after the first
  std::uint64_t reload_failures = 0;  // edits refused
  std::uint64_t generation = 0;       // the table in force
};

class Gateway {
 public:
  Gateway(Runtime& rt, GatewayOptions options);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Reads the routes file and installs its table; an error leaves the table in force (none at first).
  // Also fails when options.auth makes no verifier (an unreadable JWKS file, an unknown algorithm).
  Status load();
  // Reads the file again if it changed since the last look (reload() when it did). For the watcher.
  Status reload_if_changed();
  Status reload();
  // Follows the routes file every settings.reload_interval until ctx ends (spawn it on a loop).
  Task<void> watch(Context ctx);

  // Catch-all routes on the traffic router, every method, bodies streamed.
  void mount(http::Router& router);
  // The live table with per-route counters, as JSON (/debug/routes).
  std::string describe() const;

  std::shared_ptr<const RouteTable> table() const;
  GatewayStats stats() const noexcept;
  http::Client& client() noexcept { return *client_; }
  // The edge verifier, null without options.auth.
  EdgeAuth* edge_auth() noexcept { return auth_.get(); }

  // The request handler (mount() registers it).
  Task<void> handle(http::Request& req, http::Response& res);

 private:
  struct Metrics;
  struct Call;
  Status install(const RoutesFile& file, bool first);
  std::shared_ptr<const RouteTable> retain_static_upstreams(std::shared_ptr<const RouteTable> table);
  Task<void> proxy(Call& call);
  Task<bool> authenticate(Call& call);  // false: answered (401, 403, 503)
  Task<void> tunnel(Call& call, const http::ClientResponse& answer);
  void respond_error(Call& call, const Status& st, int http_status);
  void finish(Call& call);
  // Mirroring (mirror.cpp): decides whether this request is copied and sends the copy, now (a body
  // read whole, or none) or when the body gathered with gather_mirror ends.
  void begin_mirror(Call& call, std::string_view wire_headers, const std::string& target);
  void gather_mirror(Call& call, std::string_view piece);  // an empty piece: the body's end
  // Canary (canary.cpp): the URL base this request's tries go to (and the side, counted at finish).
  std::string_view choose_side(Call& call);  // a view of the route's or the call's strings
  // The stable side, after the canary side had no instance: its base; empty when there is no fallback.
  std::string fall_back_to_stable(Call& call);
  // Routes with canary_version: their splits follow the table (before build: made; after: followed).
  void prepare_splits(const RoutesFile& file);
  void follow_splits(const RouteTable& table);

  Runtime& rt_;
  GatewayOptions options_;
  std::unique_ptr<detail::TrustedProxies> trusted_;
  std::shared_ptr<discovery::StaticRegistry> statics_;
  struct StaticRefs {  // how many installed tables (still held) name each static upstream service
    std::mutex mu;
    std::map<std::string, int, std::less<>> count;
  };
  std::shared_ptr<StaticRefs> static_refs_ = std::make_shared<StaticRefs>();
  std::shared_ptr<discovery::Discovery> upstreams_;  // statics_ + options_.discovery
  std::unique_ptr<http::Client> client_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<Mirrors> mirrors_;  // before client_ goes: it waits for the copies out
  std::unique_ptr<EdgeAuth> auth_;
  Status auth_error_;  // why options.auth made no verifier
  StateStore states_;

  mutable std::mutex table_mu_;  // guards table_ (a shared_ptr copy per request)
  std::shared_ptr<const RouteTable> table_;
  std::mutex reload_mu_;  // one reload at a time
  std::string last_text_;
  std::atomic<std::uint64_t> reloads_{0}, reload_failures_{0}, generation_{0};
};

}  // namespace svckit::gateway
