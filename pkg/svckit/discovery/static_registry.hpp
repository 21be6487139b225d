#pragma once
// A registry held in memory: the `static` backend (fixed upstreams listed in config, bound as
// discovery.static) and a Registrar for tests and single-process set-ups. Registering or
// deregistering notifies every watcher of that service with its whole new set, synchronously, on
// the caller's thread. Thread-safe.
#include <map>
#include <mutex>

#include "svckit/discovery/registry.hpp"

namespace svckit::discovery {

class StaticRegistry final : public Registrar, public Discovery {
 public:
  StaticRegistry() = default;
  // Every instance must validate (as a Registrar's would); the first that does not is the error.
  static Result<std::shared_ptr<StaticRegistry>> from(const std::vector<Instance>& instances);

  Task<Status> register_instance(const Context& ctx, const Instance& instance) override;
  Task<Status> deregister(const Context& ctx, const Instance& instance) override;
  Task<Result<std::vector<Instance>>> instances(const Context& ctx, std::string service) override;
  std::unique_ptr<Watch> watch(std::string service, WatchFn fn) override;
  Task<Result<std::vector<std::string>>> services(const Context& ctx) override;

  // The synchronous forms the coroutines above wrap.
  Status add(const Instance& instance);
  void remove(std::string_view service, std::string_view id);
  std::vector<Instance> snapshot(std::string_view service) const;
  std::vector<std::string> service_names() const;

 private:
  struct Watcher;
  class WatchHandle;
  void notify(const std::string& service);
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, Instance>, std::less<>> services_;  // service → id → instance
  std::vector<std::shared_ptr<Watcher>> watchers_;
  std::recursive_mutex notify_mu_;  // one notification at a time, in order of changes
};

}  // namespace svckit::discovery
