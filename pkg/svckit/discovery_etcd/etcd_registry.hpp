#pragma once
// The `etcd` backend: a registry in etcd v3 (3.4 and later), spoken through etcd's JSON gateway
// (/v3/...) with svckit's own HTTP client, on the App's loops.
//
// - Registering grants a lease of `lease_ttl` and puts <prefix>/<service>/<instance-id> (the instance
//   as JSON) on it; one keep-alive loop renews every lease at a third of the TTL. A lease etcd no
//   longer knows (expired during an outage, or revoked) is granted again and the key put again.
// - Discovering lists the service's prefix ("<prefix>/<service>/": /svc/user never matches
//   /svc/user-admin) and watches from the revision after the listing; each event batch hands the
//   watcher the whole new set. A compacted revision or a broken stream is answered by listing again.
// - Every failure (etcd down, slow, restarting) is retried with exponential backoff and jitter;
//   meanwhile watchers keep the last set they were given, and registrations come back by themselves.
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "svckit/core/runtime.hpp"
#include "svckit/discovery/etcd_options.hpp"
#include "svckit/discovery/registry.hpp"

namespace svckit::http {
class Client;
}

namespace svckit::discovery {

struct EtcdStats {
  std::uint64_t registrations = 0;  // lease grants with their put, first ones and renewals after a loss
  std::uint64_t keepalive_errors = 0;
  std::uint64_t lists = 0;  // full listings by watchers (the first, then after a broken stream)
  std::uint64_t watch_errors = 0;
  std::uint64_t compactions = 0;  // watches cancelled because their revision was compacted
};

class EtcdRegistry final : public Registrar, public Discovery, public std::enable_shared_from_this<EtcdRegistry> {
 public:
  // Nothing is called yet: an etcd that is down at start is retried by the calls that need it.
  static std::shared_ptr<EtcdRegistry> create(Runtime& rt, EtcdOptions options);
  ~EtcdRegistry() override;
  // Ends the keep-alive and watch loops (the runtime's shutdown ends them too). Registered keys are
  // left to their leases: deregister first for a clean goodbye.
  void close();

  Task<Status> register_instance(const Context& ctx, const Instance& instance) override;
  Task<Status> deregister(const Context& ctx, const Instance& instance) override;
  Task<Result<std::vector<Instance>>> instances(const Context& ctx, std::string service) override;
  std::unique_ptr<Watch> watch(std::string service, WatchFn fn) override;
  Task<Result<std::vector<std::string>>> services(const Context& ctx) override;

  EtcdStats stats() const;
  const EtcdOptions& options() const noexcept { return options_; }

  struct Watcher;

 private:
  EtcdRegistry(Runtime& rt, EtcdOptions options);
  struct Registration {
    Instance instance;
    std::int64_t lease = 0;
  };
  Task<Result<std::string>> call(const Context& ctx, const char* path, std::string body);
  Task<Status> grant_and_put(const Context& ctx, Registration& reg);
  struct Listing {
    std::map<std::string, Instance> by_key;  // etcd key → instance
    std::int64_t revision = 0;
    std::vector<Instance> set() const;  // ordered by id
  };
  Task<void> keepalive_loop(std::shared_ptr<EtcdRegistry> self);
  Task<void> watch_loop(std::shared_ptr<EtcdRegistry> self, std::shared_ptr<Watcher> w);
  Task<Result<Listing>> list(const Context& ctx, const std::string& service);
  std::string key_of(const Instance& i) const;

  Runtime& rt_;
  EtcdOptions options_;
  std::unique_ptr<http::Client> client_;
  Context stop_;  // cancelled by the destructor: ends the loops
  mutable std::mutex mu_;
  std::map<std::string, Registration> registered_;  // by key
  bool keepalive_running_ = false;
  std::size_t next_endpoint_ = 0;
  struct Counters;
  std::unique_ptr<Counters> counters_;
};

}  // namespace svckit::discovery
