#pragma once
// The `discovery:` config section: which registry backs the process (static: a list in config;
// file: a folder shared by the processes of one host; etcd, consul; dns: read-only, from DNS records
// such as a Kubernetes headless Service's), and the names balancing policies are bound from.
//
//   discovery:
//     backend: file
//     file: {dir: data/registry, ttl: 10s, heartbeat: 3s}
//     # or backend: static, or backend: etcd with etcd: {endpoints: [http://127.0.0.1:2379]},
//     # or backend: dns with dns: {name: "{service}", mode: address, ports: [http:8080]}
//     static:
//       - {id: user-1, name: user-svc, endpoints: [http://127.0.0.1:8090], weight: 100}
//       - {id: user-2, name: user-svc, endpoints: [http://127.0.0.1:8091], zone: b}
//     health: {interval: 2s, unhealthy_threshold: 3}     # active checks (file, static)
//     outlier: {consecutive_failures: 5}                  # passive health in the App's client
//     balancer: p2c                                       # for services without an entry below
//     services:
//       user-svc: {balancer: round_robin, version: v2}
//       session-svc: {balancer: consistent_hash}
#include <array>
#include <map>
#include <utility>
#include <vector>

#include "svckit/config/binder.hpp"
#include "svckit/discovery/balancer.hpp"
#include "svckit/discovery/consul_options.hpp"
#include "svckit/discovery/dns_options.hpp"
#include "svckit/discovery/etcd_options.hpp"
#include "svckit/discovery/file_registry.hpp"
#include "svckit/discovery/health_check.hpp"
#include "svckit/discovery/instance.hpp"
#include "svckit/discovery/outlier.hpp"

namespace svckit::discovery {

enum class Backend : std::uint8_t { kStatic, kFile, kEtcd, kConsul, kDns };
constexpr auto config_names(Backend) {
  return std::array{std::pair{Backend::kStatic, "static"}, std::pair{Backend::kFile, "file"},
                    std::pair{Backend::kEtcd, "etcd"}, std::pair{Backend::kConsul, "consul"},
                    std::pair{Backend::kDns, "dns"}};
}

struct DiscoverySettings {
  Backend backend = Backend::kStatic;
  std::vector<Instance> instances;  // discovery.static
  FileRegistryOptions file;         // discovery.file
  EtcdOptions etcd;                 // discovery.etcd
  ConsulOptions consul;             // discovery.consul
  DnsOptions dns;                   // discovery.dns
  // The App's own registration: when ready for the first time it registers itself (its HTTP, gRPC
  // and admin endpoints at advertise_host) and it deregisters as the first step of its stop. The dns
  // backend has nothing to register in: there the platform publishes the records.
  bool register_self = true;   // discovery.register
  std::string advertise_host;  // empty: the listen host, or 127.0.0.1 when that is a wildcard
  std::string instance_id;     // empty: <service>-<hostname>-<pid>
  std::string zone;
  bool zone_aware = false;         // the App's client prefers instances in `zone`
  HealthCheckOptions health;       // discovery.health: active checks for file and static
  OutlierOptions outlier;          // discovery.outlier: passive health in the App's client
  Policy balancer = Policy::kP2C;  // for services without an entry in `services`
  std::map<std::string, ServicePolicy> services;
  // The policy of `service`: its entry, or the defaults above.
  ServicePolicy policy(const std::string& service) const;
  static void describe(config::Binder<DiscoverySettings>& b);
};

}  // namespace svckit::discovery
