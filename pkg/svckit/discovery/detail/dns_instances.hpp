#pragma once
// Internal: how the dns backend turns what DNS answered into a service's instances. An instance is
// one address (with, in SRV mode, the port of the first scheme); its id is "address:port", stable
// for as long as the record is, and its endpoints are one per scheme. The set is ordered by id.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "svckit/discovery/detail/dns_config.hpp"
#include "svckit/discovery/detail/dns_resolver.hpp"
#include "svckit/discovery/instance.hpp"

namespace svckit::discovery::detail::dns {

// "10.0.0.7:8080", "[fd00::7]:8080".
std::string host_port(std::string_view address, std::uint16_t port);

// Mode address: one instance per address, an endpoint per port spec; id: the address and the first
// spec's port; metadata dns_name: the name that answered.
std::vector<Instance> address_instances(const std::string& service, const AddressLookup& found,
                                        const std::vector<PortSpec>& ports);

// Mode srv, from one lookup per scheme (the first is the primary one). Each (address, port) of the
// primary scheme is an instance with that id, weighted by its SRV weight; the other schemes' records
// add their endpoint to the instances at the same address, or are instances of their own where the
// primary scheme has none. When every record of a scheme has weight 0 (no preference, RFC 2782), its
// instances get the default weight 100. Metadata dns_name: the SRV target.
std::vector<Instance> srv_instances(const std::string& service,
                                    const std::vector<std::pair<PortSpec, SrvLookup>>& lookups);

}  // namespace svckit::discovery::detail::dns
