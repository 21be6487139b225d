#include "svckit/discovery/detail/dns_instances.hpp"

#include <algorithm>
#include <map>

namespace svckit::discovery::detail::dns {

namespace {

void sort_by_id(std::vector<Instance>& set) {
  std::sort(set.begin(), set.end(), [](const Instance& a, const Instance& b) { return a.id < b.id; });
}

std::string endpoint(const std::string& scheme, std::string_view address, std::uint16_t port) {
  return scheme + "://" + host_port(address, port);
}

}  // namespace

std::string host_port(std::string_view address, std::uint16_t port) {
  bool v6 = address.find(':') != std::string_view::npos;
  std::string out;
  if (v6) out += '[';
  out += address;
  if (v6) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

std::vector<Instance> address_instances(const std::string& service, const AddressLookup& found,
                                        const std::vector<PortSpec>& ports) {
  std::vector<Instance> set;
  if (ports.empty()) return set;
  for (const std::string& address : found.addresses) {
    Instance i;
    i.id = host_port(address, ports.front().port);
    i.name = service;
    for (const PortSpec& p : ports) i.endpoints.push_back(endpoint(p.scheme, address, p.port));
    i.metadata["dns_name"] = found.name;
    set.push_back(std::move(i));
  }
  sort_by_id(set);
  return set;
}

std::vector<Instance> srv_instances(const std::string& service,
                                    const std::vector<std::pair<PortSpec, SrvLookup>>& lookups) {
  std::map<std::string, Instance> by_id;
  std::multimap<std::string, std::string> ids_at;  // address → ids of the instances there
  for (std::size_t k = 0; k < lookups.size(); ++k) {
    const auto& [spec, found] = lookups[k];
    const bool no_preference =
        std::all_of(found.targets.begin(), found.targets.end(), [](const SrvTarget& t) { return t.weight == 0; });
    // Targets come sorted by host and port, and their addresses sorted: the result does not depend
    // on the order of the records in the answer.
    for (const SrvTarget& t : found.targets) {
      for (const std::string& address : t.addresses) {
        std::string ep = endpoint(spec.scheme, address, t.port);
        bool attached = false;
        if (k > 0) {
          auto [lo, hi] = ids_at.equal_range(address);
          for (auto it = lo; it != hi; ++it) {
            Instance& i = by_id[it->second];
            if (i.endpoint(spec.scheme)) continue;
            i.endpoints.push_back(ep);
            attached = true;
          }
        }
        if (attached) continue;
        std::string id = host_port(address, t.port);
        if (by_id.count(id)) continue;  // the same address and port from two records or schemes
        Instance i;
        i.id = id;
        i.name = service;
        i.endpoints.push_back(std::move(ep));
        i.weight = no_preference ? 100 : t.weight;
        i.metadata["dns_name"] = t.host;
        by_id.emplace(id, std::move(i));
        ids_at.emplace(address, id);
      }
    }
  }
  std::vector<Instance> set;
  for (auto& [id, i] : by_id) set.push_back(std::move(i));
  sort_by_id(set);
  return set;
}

}  // namespace svckit::discovery::detail::dns
