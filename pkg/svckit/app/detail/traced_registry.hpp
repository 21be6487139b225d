#pragma once
// Internal (app): the App's registry calls as client spans ("discovery register", "discovery
// instances"...) with the backend, the service and the instance, whatever the backend. Watches are
// not calls and make no span; a backend's own background calls (keep-alives, relists) make none
// either, or every lease renewal would be a trace.
#include <memory>
#include <string>

#include "svckit/discovery/registry.hpp"

namespace svckit::app::detail {

class TracedRegistry final : public discovery::Registrar, public discovery::Discovery {
 public:
  TracedRegistry(std::shared_ptr<discovery::Registrar> registrar, std::shared_ptr<discovery::Discovery> discovery,
                 std::string backend)
      : registrar_(std::move(registrar)), discovery_(std::move(discovery)), backend_(std::move(backend)) {}

  Task<Status> register_instance(const Context& ctx, const discovery::Instance& instance) override;
  Task<Status> deregister(const Context& ctx, const discovery::Instance& instance) override;
  Task<Result<std::vector<discovery::Instance>>> instances(const Context& ctx, std::string service) override;
  std::unique_ptr<discovery::Watch> watch(std::string service, discovery::WatchFn fn) override {
    return discovery_->watch(std::move(service), std::move(fn));
  }
  Task<Result<std::vector<std::string>>> services(const Context& ctx) override;

 private:
  std::shared_ptr<discovery::Registrar> registrar_;
  std::shared_ptr<discovery::Discovery> discovery_;
  std::string backend_;
};

}  // namespace svckit::app::detail
