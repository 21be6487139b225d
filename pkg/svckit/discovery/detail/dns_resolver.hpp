#pragma once
// Internal: the dns backend's lookups, on top of the transport: a name's addresses (A and AAAA
// together, through the search list as glibc's res_search walks it, following CNAME chains within an
// answer) and a service's SRV records at their lowest priority with their targets' addresses (from
// the additional section, or looked up). A name that does not exist or has no records is an answer
// (found nothing), with the negative TTL its SOA gives; a server that fails is an error, and so is
// any failure part-way through the search list: a search domain that could not be asked must not let
// a later domain's answer, or nothing, stand for the name.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "svckit/discovery/detail/dns_transport.hpp"

namespace svckit::discovery::detail::dns {

struct ResolverConfig {
  TransportOptions transport;
  std::vector<std::string> search;
  int ndots = 1;
  bool ipv4 = true;  // ask for A records
  bool ipv6 = true;  // ask for AAAA records
};

struct AddressLookup {
  std::string name;                    // the name that answered (after the search list)
  std::vector<std::string> addresses;  // "10.0.0.7", "fd00::7": sorted, each once; empty: none
  // With addresses, the smallest TTL of the records used (CNAMEs included); without, the negative
  // TTL of the answers' SOA records, or 0 when they had none.
  std::uint32_t ttl = 0;
};

struct SrvTarget {
  std::string host;  // the record's target
  std::uint16_t port = 0;
  std::uint16_t weight = 0;
  std::vector<std::string> addresses;  // as AddressLookup's
};

struct SrvLookup {
  std::string name;  // the name that answered
  // The records of the lowest priority whose target has an address, sorted by host and port. Records
  // with the target "." (the service is decidedly not available, RFC 2782) or port 0 are left out.
  std::vector<SrvTarget> targets;
  std::uint32_t ttl = 0;  // as AddressLookup's, over the SRV records and their targets' addresses
  bool found = false;     // some name had SRV records
};

Task<Result<AddressLookup>> lookup_addresses(const Context& ctx, const ResolverConfig& config, std::string name,
                                             TransportCounters& counters);
// `name` is the SRV owner name before the search list: _<port-name>._tcp.<service's name>.
Task<Result<SrvLookup>> lookup_srv(const Context& ctx, const ResolverConfig& config, std::string name,
                                   TransportCounters& counters);

// The records of `qtype` that answer `name` in `m`, following a chain of CNAMEs within the answer
// section (at most 8), and the smallest TTL of the chain and the records.
std::vector<const Record*> chase(const Message& m, const std::string& name, std::uint16_t qtype, std::uint32_t& ttl);
// An A or AAAA record's address in text form.
std::string address_text(const Record& r);

}  // namespace svckit::discovery::detail::dns
