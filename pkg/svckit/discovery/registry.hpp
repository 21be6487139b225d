#pragma once
// The two sides of a service registry, in Kratos' shape. A Registrar announces this process's
// instances; a Discovery tells a client the current healthy set of a service and, through a watch,
// hands it the whole set again on every change (never deltas: a missed event cannot leave a stale
// view). Backends implement both (StaticRegistry here; file, etcd and Consul registries plug in
// behind the same interfaces), but for the read-only DNS one, a Discovery only.
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "svckit/core/context.hpp"
#include "svckit/core/status.hpp"
#include "svckit/core/task.hpp"
#include "svckit/discovery/instance.hpp"

namespace svckit::discovery {

class Registrar {
 public:
  virtual ~Registrar() = default;
  // Announces the instance (validated: an id, a name and reachable endpoints); registering the same
  // id again replaces it.
  virtual Task<Status> register_instance(const Context& ctx, const Instance& instance) = 0;
  // Withdraws it; an instance that is not registered is not an error.
  virtual Task<Status> deregister(const Context& ctx, const Instance& instance) = 0;
};

// Ends a watch when destroyed; the callback is not called after the destructor returns (so a
// callback must not destroy its own watch).
class Watch {
 public:
  virtual ~Watch() = default;
};

using WatchFn = std::function<void(const std::vector<Instance>& instances)>;

class Discovery {
 public:
  virtual ~Discovery() = default;
  // The current set of `service`, ordered by instance id.
  virtual Task<Result<std::vector<Instance>>> instances(const Context& ctx, std::string service) = 0;
  // Calls fn with the current set at once and with the whole new set after every change, from a
  // thread of the backend's choosing (never concurrently for one watch).
  virtual std::unique_ptr<Watch> watch(std::string service, WatchFn fn) = 0;
  // The services that have instances now, by name (for /debug/registry and tools).
  virtual Task<Result<std::vector<std::string>>> services(const Context& ctx) = 0;
};

// Validates what a Registrar is given: INVALID_ARGUMENT naming the first problem.
Status validate(const Instance& instance);

}  // namespace svckit::discovery
