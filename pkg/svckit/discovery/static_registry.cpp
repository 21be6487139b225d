#include "svckit/discovery/static_registry.hpp"

#include <algorithm>

namespace svckit::discovery {

Status validate(const Instance& instance) {
  if (instance.id.empty()) return Status(Code::kInvalidArgument, "an instance needs an id");
  if (instance.name.empty()) return Status(Code::kInvalidArgument, "instance " + instance.id + " needs a service name");
  if (instance.endpoints.empty()) return Status(Code::kInvalidArgument, "instance " + instance.id + " has no endpoint");
  for (const std::string& e : instance.endpoints)
    if (Status st = validate_endpoint(e); !st.ok()) return st;
  return Status();
}

struct StaticRegistry::Watcher {
  std::string service;
  WatchFn fn;
  std::mutex mu;  // held while fn runs: the handle's destructor waits for a call in progress
  bool active = true;
};

class StaticRegistry::WatchHandle final : public Watch {
 public:
  WatchHandle(StaticRegistry& r, std::shared_ptr<Watcher> w) : registry_(r), watcher_(std::move(w)) {}
  ~WatchHandle() override {
    {
      std::lock_guard lock(watcher_->mu);
      watcher_->active = false;
    }
    std::lock_guard lock(registry_.mu_);
    auto& ws = registry_.watchers_;
    ws.erase(std::remove(ws.begin(), ws.end(), watcher_), ws.end());
  }

 private:
  StaticRegistry& registry_;
  std::shared_ptr<Watcher> watcher_;
};

Result<std::shared_ptr<StaticRegistry>> StaticRegistry::from(const std::vector<Instance>& instances) {
  auto r = std::make_shared<StaticRegistry>();
  for (std::size_t i = 0; i < instances.size(); ++i) {
    if (Status st = r->add(instances[i]); !st.ok())
      return make_error(Code::kInvalidArgument,
                        "discovery.static[" + std::to_string(i) + "]: " + std::string(st.message()));
  }
  return r;
}

Status StaticRegistry::add(const Instance& instance) {
  if (Status st = validate(instance); !st.ok()) return st;
  {
    std::lock_guard lock(mu_);
    services_[instance.name][instance.id] = instance;
  }
  notify(instance.name);
  return Status();
}

void StaticRegistry::remove(std::string_view service, std::string_view id) {
  bool changed = false;
  {
    std::lock_guard lock(mu_);
    if (auto it = services_.find(service); it != services_.end()) {
      if (auto at = it->second.find(std::string(id)); at != it->second.end()) {
        it->second.erase(at);
        changed = true;
      }
    }
  }
  if (changed) notify(std::string(service));
}

std::vector<Instance> StaticRegistry::snapshot(std::string_view service) const {
  std::lock_guard lock(mu_);
  std::vector<Instance> out;
  if (auto it = services_.find(service); it != services_.end())
    for (const auto& [id, i] : it->second) out.push_back(i);
  return out;
}

void StaticRegistry::notify(const std::string& service) {
  std::lock_guard order(notify_mu_);
  std::vector<std::shared_ptr<Watcher>> targets;
  {
    std::lock_guard lock(mu_);
    for (const auto& w : watchers_)
      if (w->service == service) targets.push_back(w);
  }
  if (targets.empty()) return;
  std::vector<Instance> set = snapshot(service);
  for (const auto& w : targets) {
    std::lock_guard lock(w->mu);
    if (w->active) w->fn(set);
  }
}

Task<Status> StaticRegistry::register_instance(const Context& ctx, const Instance& instance) {
  if (Status st = ctx.err(); !st.ok()) co_return st;
  co_return add(instance);
}

Task<Status> StaticRegistry::deregister(const Context& ctx, const Instance& instance) {
  if (Status st = ctx.err(); !st.ok()) co_return st;
  remove(instance.name, instance.id);
  co_return Status();
}

Task<Result<std::vector<Instance>>> StaticRegistry::instances(const Context& ctx, std::string service) {
  if (Status st = ctx.err(); !st.ok()) co_return std::unexpected(st);
  co_return snapshot(service);
}

std::vector<std::string> StaticRegistry::service_names() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, set] : services_)
    if (!set.empty()) out.push_back(name);
  return out;
}

Task<Result<std::vector<std::string>>> StaticRegistry::services(const Context& ctx) {
  if (Status st = ctx.err(); !st.ok()) co_return std::unexpected(st);
  co_return service_names();
}

std::unique_ptr<Watch> StaticRegistry::watch(std::string service, WatchFn fn) {
  auto w = std::make_shared<Watcher>();
  w->service = service;
  w->fn = std::move(fn);
  std::lock_guard order(notify_mu_);  // no change is delivered before the first set
  {
    std::lock_guard lock(mu_);
    watchers_.push_back(w);
  }
  {
    std::vector<Instance> set = snapshot(service);
    std::lock_guard lock(w->mu);
    w->fn(set);
  }
  return std::make_unique<WatchHandle>(*this, w);
}

}  // namespace svckit::discovery
