#pragma once
// The `dns` backend: a service's instances read from DNS, as a Kubernetes headless Service publishes
// its ready pods. Read-only: it is a Discovery and no Registrar (what DNS lists is the platform's
// business: a pod's readiness puts it in its Service's records).
//
// - svckit's own stub resolver asks the servers over UDP (TCP for a truncated answer) on the
//   runtime's loops; no lookup ever blocks a loop thread.
// - discovery.dns.name maps a service to a DNS name ("{service}" by default: through the search
//   list, user-svc.<namespace>.svc.cluster.local in a pod). Mode address asks for A and AAAA
//   records and gives each address the configured ports; mode srv asks for _<port-name>._tcp.<name>
//   per scheme and takes ports and weights from the records of the lowest priority.
// - A watched set is asked for again when the smallest TTL of its answer runs out (clamped to
//   min_refresh..max_refresh), and watchers get the whole set when it changed. A server that fails
//   is retried with backoff and jitter while watchers keep the last set; a set that becomes empty is
//   believed once a second answer, min_refresh later, says so too.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "svckit/core/runtime.hpp"
#include "svckit/discovery/dns_options.hpp"
#include "svckit/discovery/registry.hpp"

namespace svckit::discovery {

struct DnsStats {
  std::uint64_t lookups = 0;          // resolutions of a service's set
  std::uint64_t lookup_failures = 0;  // those that ended without an answer (the last set was kept)
  std::uint64_t queries = 0;          // UDP queries sent
  std::uint64_t tcp_queries = 0;      // queries asked again over TCP after a truncated answer
  std::uint64_t timeouts = 0;         // tries of a server that ended without every answer
  std::uint64_t server_errors = 0;    // SERVFAIL, REFUSED, NOTIMP and FORMERR answers
  std::uint64_t dropped = 0;          // datagrams that were malformed or answered nothing asked
  std::uint64_t empty_held = 0;       // empty answers held back until a second one confirmed them
};

class DnsRegistry final : public Discovery, public std::enable_shared_from_this<DnsRegistry> {
 public:
  // Reads resolv_conf (once, at start). INVALID_ARGUMENT for options that do not parse;
  // UNAVAILABLE when no server is configured and resolv_conf cannot be read. No query is sent yet.
  static Result<std::shared_ptr<DnsRegistry>> create(Runtime& rt, DnsOptions options);
  ~DnsRegistry() override;
  // Ends the watch loops (the runtime's shutdown ends them too).
  void close();

  // The set from the cache while its TTL lasts, else asked for now. When the servers fail, the last
  // set known (however old), or UNAVAILABLE if there is none; INVALID_ARGUMENT for a service name
  // that cannot be part of a DNS name.
  Task<Result<std::vector<Instance>>> instances(const Context& ctx, std::string service) override;
  // One refresh loop per watched service, shared by its watchers.
  std::unique_ptr<Watch> watch(std::string service, WatchFn fn) override;
  // DNS cannot list services: the services asked for so far that have instances now.
  Task<Result<std::vector<std::string>>> services(const Context& ctx) override;

  DnsStats stats() const;
  const DnsOptions& options() const noexcept { return options_; }
  // What the resolver uses: the servers (host:port), the search list and ndots.
  std::vector<std::string> servers() const;
  const std::vector<std::string>& search() const noexcept;
  int ndots() const noexcept;

  struct Entry;

 private:
  struct Config;
  struct Counters;
  struct Outcome;
  DnsRegistry(Runtime& rt, DnsOptions options, std::unique_ptr<Config> config);
  std::shared_ptr<Entry> entry(const std::string& service);
  Task<Result<std::pair<std::vector<Instance>, std::uint32_t>>> resolve(const Context& ctx, const std::string& service,
                                                                        const std::string& name);
  Task<Outcome> refresh(std::shared_ptr<Entry> e, const Context& ctx);
  void publish(Entry& e);
  Task<void> watch_loop(std::shared_ptr<DnsRegistry> self, std::shared_ptr<Entry> e, Context ctx);

  Runtime& rt_;
  DnsOptions options_;
  std::unique_ptr<Config> config_;
  std::unique_ptr<Counters> counters_;
  Context stop_;  // cancelled by close() and the destructor: ends the loops
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
};

}  // namespace svckit::discovery
