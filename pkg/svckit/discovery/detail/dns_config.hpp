#pragma once
// Internal: how the dns backend is configured, parsed: /etc/resolv.conf as glibc reads its
// nameserver, search/domain and ndots lines; the names glibc's res_search would try for a name; the
// servers, ports and name template of discovery.dns.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "svckit/core/status.hpp"

namespace svckit::discovery::detail::dns {

struct Server {
  std::string address;  // an IP literal (an IPv6 one may carry a %scope)
  std::uint16_t port = 53;
  bool operator==(const Server&) const = default;
};
std::string to_string(const Server& s);  // 10.0.0.10:53, [fd00::10]:53

// "10.0.0.10", "10.0.0.10:5353", "[fd00::10]", "[fd00::10]:5353" (or a bare IPv6 address): port 53
// unless given. A host name is refused: the resolver's own servers cannot be looked up by name.
Result<Server> parse_server(std::string_view text);

struct ResolvConf {
  std::vector<Server> nameservers;  // at most three, as glibc uses
  std::vector<std::string> search;  // domains without trailing dots
  bool has_search = false;          // a search or domain line was there
  int ndots = 1;                    // 0..15
};

// As glibc reads it: '#' and ';' start comments; `nameserver` (the first three), `search` and
// `domain` (the last of them wins), `options ndots:N`; anything else is ignored.
ResolvConf parse_resolv_conf(std::string_view text);
// Reads and parses `path`. Without a search or domain line the search list is the domain part of
// the host name, as glibc's is. UNAVAILABLE when the file cannot be read.
Result<ResolvConf> read_resolv_conf(const std::string& path);

// The names glibc's res_search tries for `name`, in its order: a name with a trailing dot only as it
// is; a name with at least `ndots` dots as it is first, then with each search domain; one with fewer
// dots with each search domain first and as it is last. Returned without trailing dots.
std::vector<std::string> search_names(std::string_view name, const std::vector<std::string>& search, int ndots);

// True for a name the backend may send: labels of letters, digits, '-' and '_' of 1..63 octets,
// 253 in all, an optional trailing dot.
bool valid_name(std::string_view name);

// The name template with `{service}` replaced, or INVALID_ARGUMENT when the result is not a valid
// name (a service name with characters DNS names cannot hold).
Result<std::string> expand_name(std::string_view tmpl, std::string_view service);

// One scheme of the instances' endpoints and where its port comes from: a number (mode address:
// "http:8080") or the named port of SRV records (mode srv: "http", the port name being the scheme,
// or "grpc:grpc-api"; queried as _<port-name>._tcp.<name>).
struct PortSpec {
  std::string scheme;
  std::uint16_t port = 0;
  std::string port_name;
};
Result<std::vector<PortSpec>> parse_ports(const std::vector<std::string>& items);
Result<std::vector<PortSpec>> parse_srv_ports(const std::vector<std::string>& items);

}  // namespace svckit::discovery::detail::dns
