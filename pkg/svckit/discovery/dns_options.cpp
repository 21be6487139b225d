#include "svckit/discovery/dns_options.hpp"

#include "svckit/discovery/detail/dns_config.hpp"

namespace svckit::discovery {

void DnsOptions::describe(config::Binder<DnsOptions>& b) {
  using ms = std::chrono::milliseconds;
  b.field("servers", &DnsOptions::servers)
      .check(
          [](const std::vector<std::string>& v) {
            for (const std::string& s : v)
              if (!detail::dns::parse_server(s)) return false;
            return true;
          },
          "IP addresses with an optional :port ([v6]:port), comma-separated in --set and environment variables")
      .doc("DNS servers asked in turn; empty: the nameserver lines of resolv_conf");
  b.field("resolv_conf", &DnsOptions::resolv_conf)
      .doc("read at start for its nameservers (when servers is empty), search list and ndots");
  b.field("name", &DnsOptions::name)
      .check(
          [](const std::string& n) {
            return n.find("{service}") != std::string::npos && detail::dns::expand_name(n, "svc").has_value();
          },
          "a DNS name holding {service}, e.g. {service} or {service}.prod.svc.cluster.local.")
      .doc("a service's DNS name; without a trailing dot the search list applies");
  b.field("mode", &DnsOptions::mode)
      .doc("address: A/AAAA records with the ports below; srv: SRV records _<port-name>._tcp.<name>");
  b.field("ports", &DnsOptions::ports)
      .check([](const std::vector<std::string>& v) { return detail::dns::parse_ports(v).has_value(); },
             "scheme:port items, each scheme once, e.g. [http:8080, grpc:9090]")
      .doc("mode address: one endpoint per item; the first one's port is in the instance id");
  b.field("srv_ports", &DnsOptions::srv_ports)
      .check([](const std::vector<std::string>& v) { return detail::dns::parse_srv_ports(v).has_value(); },
             "scheme or scheme:port-name items, each scheme once, e.g. [http, grpc:grpc-api]")
      .doc("mode srv: the named ports asked for, one SRV query each; the first one's port is in the instance id");
  b.field("family", &DnsOptions::family).doc("any, ipv4 (A only) or ipv6 (AAAA only)");
  b.field("timeout", &DnsOptions::timeout).range(ms(10), ms(60000)).doc("each try of a server");
  b.field("attempts", &DnsOptions::attempts).range(1, 10).doc("rounds over the servers before a lookup fails");
  b.field("min_refresh", &DnsOptions::min_refresh)
      .range(ms(100), ms(3600000))
      .doc("a set is asked for again at the TTL of its answer, but not sooner than this");
  b.field("max_refresh", &DnsOptions::max_refresh).range(ms(100), ms(86400000)).doc("nor later than this");
  b.field("backoff_min", &DnsOptions::backoff_min)
      .range(ms(1), ms(60000))
      .doc("the pause after a failed lookup, doubling with each failure in a row, with jitter");
  b.field("backoff_max", &DnsOptions::backoff_max).range(ms(1), ms(600000)).doc("the longest such pause");
  b.validate([](const DnsOptions& o) -> Status {
    if (o.min_refresh > o.max_refresh) return Status(Code::kInvalidArgument, "min_refresh is above max_refresh");
    if (o.backoff_min > o.backoff_max) return Status(Code::kInvalidArgument, "backoff_min is above backoff_max");
    if (o.mode == DnsMode::kAddress && o.ports.empty())
      return Status(Code::kInvalidArgument, "mode address needs ports (scheme:port)");
    if (o.mode == DnsMode::kSrv && o.srv_ports.empty())
      return Status(Code::kInvalidArgument, "mode srv needs srv_ports");
    return Status();
  });
}

}  // namespace svckit::discovery
