#include "svckit/discovery/settings.hpp"

#include "svckit/config/config.hpp"  // the list codec's definitions
#include "svckit/discovery/registry.hpp"

namespace svckit::discovery {

void DiscoverySettings::describe(config::Binder<DiscoverySettings>& b) {
  b.field("backend", &DiscoverySettings::backend)
      .doc("the registry: static (a list in config) or file (a folder shared on one host)");
  b.section("file", &DiscoverySettings::file);
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
