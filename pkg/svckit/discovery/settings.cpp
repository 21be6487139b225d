#include "svckit/discovery/settings.hpp"

#include "svckit/config/config.hpp"  // the list codec's definitions
#include "svckit/discovery/registry.hpp"

namespace svckit::discovery {

void DiscoverySettings::describe(config::Binder<DiscoverySettings>& b) {
  b.field("backend", &DiscoverySettings::backend)
      .doc("the registry: static (a list in config) or file (a folder shared on one host)");
  b.section("file", &DiscoverySettings::file);
  b.field("register", &DiscoverySettings::register_self)
      .doc("register this instance when it is first ready, deregister first at stop");
  b.field("advertise_host", &DiscoverySettings::advertise_host)
      .check([](const std::string& h) { return h != "0.0.0.0" && h != "::" && h != "*"; },
             "a wildcard address is not reachable: name this host's address (POD_IP in Kubernetes)")
      .doc("the address other processes reach this one at; empty: the listen host, or 127.0.0.1 for a wildcard");
  b.field("instance_id", &DiscoverySettings::instance_id)
      .doc("unique within the service; empty: <service>-<host>-<pid>");
  b.field("zone", &DiscoverySettings::zone).doc("this instance's zone, for zone-aware balancing");
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
