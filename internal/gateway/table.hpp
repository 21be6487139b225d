#pragma once
// The route table: routes compiled from a routes file, in match order (priority, then file order),
// immutable once built. A reload builds a new table and swaps it in whole; a request keeps the table
// it started with. Per-route state that must outlive a reload (counters, limiters, breakers, retry
// budgets) lives in a RouteState kept by route name in a StateStore.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "routes.hpp"
#include "svckit/auth/key.hpp"
#include "svckit/discovery/instance.hpp"
#include "svckit/http/message.hpp"
#include "svckit/metrics/metrics.hpp"
#include "svckit/resilience/breaker.hpp"
#include "svckit/resilience/limiter.hpp"
#include "svckit/resilience/retry.hpp"

namespace svckit::gateway {

// A token bucket per key (client IP or a header's value), bounded in the keys it remembers.
class KeyedLimiter {
 public:
  KeyedLimiter(double rate, double burst, std::size_t max_keys = 100000);
  Status try_acquire(std::string_view key);

 private:
  struct Bucket {
    double tokens;
    std::int64_t last_ns;
  };
  double rate_, burst_;
  std::size_t max_keys_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

struct RouteCounters {
  std::atomic<std::uint64_t> requests{0}, errors_4xx{0}, errors_5xx{0}, retries{0}, rate_limited{0},
      upstream_failures{0}, in_flight{0}, auth_refused{0};
  // Mirroring: copies answered by the mirror (any status), failed (no answer in time), dropped (over
  // mirror_max_in_flight, or a body over mirror_max_body), and copies out now.
  std::atomic<std::uint64_t> mirrored{0}, mirror_failed{0}, mirror_dropped{0};
  std::atomic<std::int64_t> mirror_in_flight{0};
  // Canary split: requests sent to each side.
  std::atomic<std::uint64_t> stable{0}, canary{0};
};

class VersionSplit;  // canary.hpp

// What a route keeps across reloads. Policy objects are rebuilt when their keys change.
// Handles of a route's metric series (label route = its name), so that a request looks no labels up:
// set by the gateway before the first table with the route is installed, never changed after. By
// status (requests, tries) or outcome (auth): the last one's handle, (key + 1) << 32 | its cell.
struct RouteSeries {
  bool ready = false;  // the gateway's reload path only
  metrics::Histogram duration, upstream;
  std::atomic<std::uint64_t> requests{0}, tries{0}, auth{0};  // auth: by outcome
};

struct RouteState {
  RouteCounters counters;
  RouteSeries series;
  // Policy, swapped only while a table is being built (under StateStore's lock) and read through the
  // table's own shared_ptr copies, so a request never sees a half-built one.
  std::string policy_key;                        // the policy keys' values, to tell whether a reload changed them
  std::shared_ptr<resilience::Limiter> limiter;  // rate_limit_key: route
  std::shared_ptr<KeyedLimiter> keyed;           // client_ip / header:NAME / user
  std::shared_ptr<resilience::CircuitBreaker> breaker;
  std::shared_ptr<resilience::RetryBudget> budget;
  // canary_version routes: the upstream's instances split by version, set by the gateway while it
  // builds a table; one per route name for the gateway's life.
  std::shared_ptr<VersionSplit> split;
};

class StateStore {
 public:
  // The state for a route name, its policy objects made anew when the route's policy changed.
  std::shared_ptr<RouteState> state_for(const RouteConfig& r);
  std::shared_ptr<RouteState> find(std::string_view name) const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<RouteState>> states_;
};

struct CompiledRoute {
  RouteConfig cfg;
  std::size_t index = 0;                       // position in the file
  std::vector<std::string> exact_hosts;        // lower case
  std::vector<std::string> wildcard_suffixes;  // ".example.com" for "*.example.com"
  std::vector<std::string> segments;           // template paths: "users", ":id"
  std::uint32_t method_mask = 0;               // bit per http::Method; 0: any
  std::vector<std::pair<std::string, std::string>> headers;
  std::string service;                                // the discovery name calls go to
  std::string url_base;                               // "discovery:///" + service
  std::vector<discovery::Instance> static_instances;  // static upstreams, registered under `service`
  // Static mirror and canary_upstream lists, registered like static_instances under their own names.
  std::vector<std::pair<std::string, std::vector<discovery::Instance>>> role_statics;
  std::string mirror_base;              // "discovery:///..." of the mirror; empty: no mirroring
  std::string canary_base;              // canary_upstream: "discovery:///..." of the canary set; empty: none
  std::shared_ptr<VersionSplit> split;  // canary_version: the split (canary.hpp)
  std::vector<int> retry_statuses;
  bool retry_connect = false, retry_timeout = false, retry_reset = false;
  std::vector<auth::Algorithm> auth_algorithms;  // auth: jwt: what a token may be signed with here
  // Policy objects, as the state held them when this table was built.
  std::shared_ptr<RouteState> state;
  std::shared_ptr<resilience::Limiter> limiter;
  std::shared_ptr<KeyedLimiter> keyed;
  std::shared_ptr<resilience::CircuitBreaker> breaker;
  std::shared_ptr<resilience::RetryBudget> budget;
};

struct Param {
  std::string_view name, value;
};

struct RouteMatch {
  const CompiledRoute* route = nullptr;
  std::vector<Param> params;  // template parameters, views of the request path
  std::string_view rest;      // prefix routes: the path after the prefix
};

class RouteTable {
 public:
  // Compiles the routes in match order. The file was validated when bound; this adds what needs the
  // whole table and the gateway: routes with auth: jwt need a verifier, whose algorithms are given
  // (null: the gateway has none, and such a table is refused).
  static Result<std::shared_ptr<const RouteTable>> build(
      const RoutesFile& file, StateStore& states, std::uint64_t generation,
      const std::vector<auth::Algorithm>* verifier_algorithms = nullptr);

  // The first route, in priority order, whose host, path, method and headers all match.
  std::optional<RouteMatch> match(const http::Request& req) const;
  // The path (and query) to send upstream.
  static std::string upstream_target(const RouteMatch& m, const http::Request& req);

  const std::vector<CompiledRoute>& routes() const noexcept { return routes_; }
  std::uint64_t generation() const noexcept { return generation_; }

 private:
  std::vector<CompiledRoute> routes_;
  std::uint64_t generation_ = 0;
};

// A request path the gateway refuses to route: dot segments (raw or percent-encoded), which an
// upstream could resolve past the matched prefix.
bool unsafe_path(std::string_view path);

}  // namespace svckit::gateway
