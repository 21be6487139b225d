#pragma once
// The `consul` backend: a registry in the local Consul agent's HTTP API.
// - Registering sends the instance to /v1/agent/service/register (its http endpoint as Address and
//   Port; every endpoint, the version, zone and admin URL in Meta) with an HTTP check the agent runs
//   against the instance's admin /readyz (check_interval, check_timeout), and
//   DeregisterCriticalServiceAfter, so that an instance that died is removed by the agent.
//   Deregistering is /v1/agent/service/deregister/<id>.
// - Discovering asks /v1/health/service/<name>?passing, as blocking queries: the X-Consul-Index of
//   each answer is the next query's index (with `wait`); an index that goes backwards (an agent
//   restart) starts again from 0; the loop queries at most every min_query_interval and backs off
//   with jitter after errors, the watcher keeping its last set meanwhile.
// Tested against a fake agent (tests/discovery/consul_fake.py): there is no Consul in Debian.
#include <memory>
#include <mutex>

#include "svckit/core/runtime.hpp"
#include "svckit/discovery/consul_options.hpp"
#include "svckit/discovery/registry.hpp"

namespace svckit::http {
class Client;
}

namespace svckit::discovery {

class ConsulRegistry final : public Registrar, public Discovery, public std::enable_shared_from_this<ConsulRegistry> {
 public:
  static std::shared_ptr<ConsulRegistry> create(Runtime& rt, ConsulOptions options);
  ~ConsulRegistry() override;
  void close();  // ends the watch loops (the runtime's shutdown ends them too)

  Task<Status> register_instance(const Context& ctx, const Instance& instance) override;
  Task<Status> deregister(const Context& ctx, const Instance& instance) override;
  Task<Result<std::vector<Instance>>> instances(const Context& ctx, std::string service) override;
  std::unique_ptr<Watch> watch(std::string service, WatchFn fn) override;
  Task<Result<std::vector<std::string>>> services(const Context& ctx) override;

  std::uint64_t index_resets() const noexcept { return index_resets_.load(); }
  std::uint64_t watch_errors() const noexcept { return watch_errors_.load(); }  // failed queries (retried)
  struct Watcher;

 private:
  ConsulRegistry(Runtime& rt, ConsulOptions options);
  struct Answer {
    std::vector<Instance> set;
    std::uint64_t index = 0;
  };
  Task<Result<Answer>> health(const Context& ctx, const std::string& service, std::uint64_t index);
  Task<void> watch_loop(std::shared_ptr<ConsulRegistry> self, std::shared_ptr<Watcher> w);

  Runtime& rt_;
  ConsulOptions options_;
  std::unique_ptr<http::Client> client_;
  Context stop_;
  std::atomic<std::uint64_t> index_resets_{0};
  std::atomic<std::uint64_t> watch_errors_{0};
};

}  // namespace svckit::discovery
