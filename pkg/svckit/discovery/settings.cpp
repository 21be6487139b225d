#include "svckit/discovery/settings.hpp"

#include "svckit/config/config.hpp"  // the list codec's definitions
#include "svckit/discovery/registry.hpp"

namespace svckit::discovery {

void EtcdOptions::describe(config::Binder<EtcdOptions>& b) {
  b.field("endpoints", &EtcdOptions::endpoints)
      .check(valid_http_endpoints, "one or more http://host:port (comma-separated in --set and environment variables)")
      .doc("etcd's client URLs, tried in turn");
  b.field("prefix", &EtcdOptions::prefix)
      .check([](const std::string& p) { return p.size() > 1 && p.front() == '/' && p.back() != '/'; },
             "a key prefix such as /svc (a leading slash, no trailing one)")
      .doc("keys are <prefix>/<service>/<instance-id>");
  b.field("lease_ttl", &EtcdOptions::lease_ttl)
      .range(std::chrono::seconds(2), std::chrono::seconds(3600))
      .doc("a registration outlives its process by at most this long");
  b.field("timeout", &EtcdOptions::timeout)
      .range(std::chrono::milliseconds(50), std::chrono::milliseconds(60000))
      .doc("each call to etcd");
  b.field("backoff_min", &EtcdOptions::backoff_min)
      .range(std::chrono::milliseconds(1), std::chrono::milliseconds(60000));
  b.field("backoff_max", &EtcdOptions::backoff_max)
      .range(std::chrono::milliseconds(1), std::chrono::milliseconds(600000));
}

void ConsulOptions::describe(config::Binder<ConsulOptions>& b) {
  using ms = std::chrono::milliseconds;
  b.field("address", &ConsulOptions::address)
      .check([](const std::string& a) { return validate_endpoint(a).ok() && a.rfind("http://", 0) == 0; },
             "the agent's http://host:port")
      .doc("the local Consul agent");
  b.field("check_interval", &ConsulOptions::check_interval)
      .range(ms(100), ms(3600000))
      .doc("how often the agent checks /readyz");
  b.field("check_timeout", &ConsulOptions::check_timeout).range(ms(10), ms(600000));
  b.field("deregister_critical_after", &ConsulOptions::deregister_critical_after)
      .range(ms(100), ms(86400000))
      .doc("the agent removes an instance critical for longer than this");
  b.field("wait", &ConsulOptions::wait).range(ms(100), ms(600000)).doc("a blocking query's wait");
  b.field("min_query_interval", &ConsulOptions::min_query_interval).range(ms(0), ms(60000));
  b.field("timeout", &ConsulOptions::timeout).range(ms(50), ms(60000));
  b.field("backoff_min", &ConsulOptions::backoff_min).range(ms(1), ms(60000));
  b.field("backoff_max", &ConsulOptions::backoff_max).range(ms(1), ms(600000));
}

ServicePolicy DiscoverySettings::policy(const std::string& service) const {
  if (auto it = services.find(service); it != services.end()) {
    ServicePolicy p = it->second;
    if (p.zone.empty() && zone_aware) p.zone = zone;
    return p;
  }
  return ServicePolicy{balancer, "", zone_aware ? zone : std::string()};
}

void DiscoverySettings::describe(config::Binder<DiscoverySettings>& b) {
  b.field("backend", &DiscoverySettings::backend)
      .doc(
          "the registry: static (a list in config), file (a folder shared on one host), etcd, consul, or dns "
          "(read-only: A/AAAA or SRV records, e.g. a Kubernetes headless Service)");
  b.section("file", &DiscoverySettings::file);
  b.section("etcd", &DiscoverySettings::etcd);
  b.section("consul", &DiscoverySettings::consul);
  b.section("dns", &DiscoverySettings::dns);
  b.field("register", &DiscoverySettings::register_self)
      .doc("register this instance when it is first ready, deregister first at stop (not with dns: read-only)");
  b.field("advertise_host", &DiscoverySettings::advertise_host)
      .check([](const std::string& h) { return h != "0.0.0.0" && h != "::" && h != "*"; },
             "a wildcard address is not reachable: name this host's address (POD_IP in Kubernetes)")
      .doc("the address other processes reach this one at; empty: the listen host, or 127.0.0.1 for a wildcard");
  b.field("instance_id", &DiscoverySettings::instance_id)
      .doc("unique within the service; empty: <service>-<host>-<pid>");
  b.field("zone", &DiscoverySettings::zone).doc("this instance's zone, for zone-aware balancing");
  b.field("zone_aware", &DiscoverySettings::zone_aware)
      .doc("the App's client sends to instances in this zone first, to others only when none is left there");
  b.section("health", &DiscoverySettings::health);
  b.section("outlier", &DiscoverySettings::outlier);
  b.field("balancer", &DiscoverySettings::balancer)
      .doc(
          "the App's client's balancer for services without their own entry: round_robin, weighted, p2c, "
          "consistent_hash");
  b.field("services", &DiscoverySettings::services).doc("per service: balancer, version, zone");
  b.field("static", &DiscoverySettings::instances).doc("the static backend's instances: id, name, endpoints...");
  b.validate([](const DiscoverySettings& s) -> Status {
    for (std::size_t i = 0; i < s.instances.size(); ++i)
      if (s.instances[i].name.empty())
        return Status(Code::kInvalidArgument,
                      "static[" + std::to_string(i) + "]: an instance needs its service's name");
    return Status();
  });
}

}  // namespace svckit::discovery
