#pragma once
// The `discovery.dns` options: which DNS servers the dns backend asks (resolv.conf's by default),
// how a service's name becomes a DNS name, whether its instances come from A/AAAA records with
// configured ports or from SRV records, and how often and how patiently it asks again. The backend
// itself is DnsRegistry (dns_registry.hpp).
#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "svckit/config/binder.hpp"

namespace svckit::discovery {

// kAddress: A and AAAA records give the instances' addresses, `ports` their ports by scheme.
// kSrv: SRV records _<port-name>._tcp.<name> give addresses, ports and weights (`srv_ports`).
enum class DnsMode : std::uint8_t { kAddress, kSrv };
constexpr auto config_names(DnsMode) {
  return std::array{std::pair{DnsMode::kAddress, "address"}, std::pair{DnsMode::kSrv, "srv"}};
}

enum class DnsFamily : std::uint8_t { kAny, kIPv4, kIPv6 };
constexpr auto config_names(DnsFamily) {
  return std::array{std::pair{DnsFamily::kAny, "any"}, std::pair{DnsFamily::kIPv4, "ipv4"},
                    std::pair{DnsFamily::kIPv6, "ipv6"}};
}

struct DnsOptions {
  // host:port of the servers to ask, in turn; empty: the nameserver lines of resolv_conf, port 53.
  std::vector<std::string> servers;
  // Its nameservers (when `servers` is empty), search list and ndots option, read once at start.
  std::string resolv_conf = "/etc/resolv.conf";
  // The DNS name of a service: {service} is replaced by its name. Without a trailing dot the search
  // list applies, as glibc applies it (in Kubernetes, "user-svc" finds user-svc.<ns>.svc.cluster.local).
  std::string name = "{service}";
  DnsMode mode = DnsMode::kAddress;
  std::vector<std::string> ports = {"http:8080"};  // kAddress: scheme:port, one endpoint each
  std::vector<std::string> srv_ports = {"http"};   // kSrv: scheme, or scheme:port-name
  DnsFamily family = DnsFamily::kAny;              // which address records are asked for
  std::chrono::milliseconds timeout{2000};         // each try of a server
  int attempts = 2;                                // rounds over the servers
  // A set is asked for again when the smallest TTL of its answer runs out, but never sooner than
  // min_refresh nor later than max_refresh.
  std::chrono::milliseconds min_refresh{1000};
  std::chrono::milliseconds max_refresh{30000};
  std::chrono::milliseconds backoff_min{200};  // retry pauses after failures, with jitter
  std::chrono::milliseconds backoff_max{10000};
  static void describe(config::Binder<DnsOptions>& b);
};

}  // namespace svckit::discovery
