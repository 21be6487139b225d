#pragma once
// One instance of a service as registries store it and clients balance over it: an id unique within
// the service, the service's name, its version, the endpoints it serves by scheme
// ("http://10.0.0.7:8080", "grpc://10.0.0.7:9090"), free-form metadata, a weight for weighted
// balancers and a zone for zone-aware filtering. Encoded as JSON in the file and etcd registries.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "svckit/config/binder.hpp"
#include "svckit/core/status.hpp"
#include "svckit/json/json.hpp"

namespace svckit::discovery {

struct Instance {
  std::string id;
  std::string name;
  std::string version;
  std::vector<std::string> endpoints;  // scheme://host:port
  std::map<std::string, std::string> metadata;
  std::uint32_t weight = 100;  // relative; 0 takes no traffic from weighted balancers
  std::string zone;

  // The first endpoint of `scheme` as "host:port", or nullopt.
  std::optional<std::string_view> endpoint(std::string_view scheme) const noexcept;

  bool operator==(const Instance&) const = default;

  static void json_schema(json::Schema<Instance>& s);
  static void describe(config::Binder<Instance>& b);  // an item of a static list in config
};

// INVALID_ARGUMENT unless `endpoint` is scheme://host:port with a port in 1..65535 and a host that is
// not a wildcard (0.0.0.0, ::): what a registry stores must be an address a client can reach.
Status validate_endpoint(std::string_view endpoint);

// One or more endpoints, each http://host:port that validate_endpoint accepts (etcd and Consul
// clients' endpoint lists).
bool valid_http_endpoints(const std::vector<std::string>& endpoints);

// The instances of `set` whose metadata or fields match: an empty version or zone matches all.
std::vector<Instance> filter(const std::vector<Instance>& set, std::string_view version, std::string_view zone);
// Zone preference: the instances of `set` in `zone` when there is one, else all of `set` (an empty
// zone prefers nothing).
std::vector<Instance> prefer_zone(const std::vector<Instance>& set, std::string_view zone);

}  // namespace svckit::discovery
