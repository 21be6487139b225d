#pragma once
// Active health checks for the registries that have none of their own (file, static, dns). A
// HealthChecker wraps any Discovery and is one itself: every instance of a watched service is probed
// each `interval` (by the App, an HTTP GET of the instance's admin /readyz), `unhealthy_threshold`
// failures in a row take it out of the sets watchers are given, and `healthy_threshold` passes in a
// row put it back. Watchers still get whole sets, now of the healthy instances; when none is healthy
// they get every instance (as Envoy's panic mode does) rather than none.
//
// ```cpp
//   std::shared_ptr<discovery::Discovery> checked(Runtime& rt, std::shared_ptr<discovery::Discovery> registry,
//                                                discovery::Probe probe) {
//     return discovery::HealthChecker::wrap(rt, std::move(registry), {.interval = std::chrono::seconds(2)},
//                                           std::move(probe));
//   }
// ```
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "svckit/config/binder.hpp"
#include "svckit/core/runtime.hpp"
#include "svckit/discovery/registry.hpp"

namespace svckit::discovery {

struct HealthCheckOptions {
  bool enabled = true;  // the App wraps file, static and dns registries when true
  std::chrono::milliseconds interval{2000};
  std::chrono::milliseconds timeout{1000};  // one probe
  int unhealthy_threshold = 3;              // failures in a row that take an instance out
  int healthy_threshold = 2;                // passes in a row that bring it back
  std::string path = "/readyz";             // on the instance's admin URL (metadata.admin)
  static void describe(config::Binder<HealthCheckOptions>& b);
};

// One probe of one instance: OK when it is healthy, else why not. Runs on an event loop and must
// end by ctx's deadline.
using Probe = std::function<Task<Status>(const Context& ctx, const Instance& instance)>;

struct InstanceHealth {
  std::string id;
  bool healthy = true;
  int failures = 0;  // in a row
  int passes = 0;    // in a row
  std::uint64_t checks = 0;
  std::string last_error;  // of the last failed probe
};

struct HealthStats {
  std::uint64_t probes = 0;
  std::uint64_t probe_failures = 0;
  std::uint64_t marked_unhealthy = 0;  // healthy → unhealthy transitions
  std::uint64_t marked_healthy = 0;    // unhealthy → healthy
};

class HealthChecker final : public Discovery, public std::enable_shared_from_this<HealthChecker> {
 public:
  static std::shared_ptr<HealthChecker> wrap(Runtime& rt, std::shared_ptr<Discovery> inner, HealthCheckOptions options,
                                             Probe probe);
  ~HealthChecker() override;

  // The inner registry's set, without the instances this checker has found unhealthy (a service
  // nobody watches is not checked: its set is the inner one).
  Task<Result<std::vector<Instance>>> instances(const Context& ctx, std::string service) override;
  // The healthy part of the inner watch's sets. One inner watch and one probing loop per service,
  // shared by its watchers. A new instance counts as healthy until its probes say otherwise (the
  // App registers only once ready).
  std::unique_ptr<Watch> watch(std::string service, WatchFn fn) override;
  Task<Result<std::vector<std::string>>> services(const Context& ctx) override;

  // Every checked instance of `service` (empty when the service is not watched), ordered by id.
  std::vector<InstanceHealth> health(const std::string& service) const;
  HealthStats stats() const;
  const std::shared_ptr<Discovery>& inner() const noexcept { return inner_; }
  const HealthCheckOptions& options() const noexcept { return options_; }

  struct Service;  // one watched service

 private:
  HealthChecker(Runtime& rt, std::shared_ptr<Discovery> inner, HealthCheckOptions options, Probe probe);
  std::shared_ptr<Service> service(const std::string& name);
  void release(const std::shared_ptr<Service>& s);
  Task<void> probe_loop(std::shared_ptr<HealthChecker> self, std::shared_ptr<Service> s);

  Runtime& rt_;
  std::shared_ptr<Discovery> inner_;
  HealthCheckOptions options_;
  Probe probe_;
  Context stop_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Service>, std::less<>> services_;
  struct Counters;
  std::unique_ptr<Counters> counters_;
};

}  // namespace svckit::discovery
