// discovery:/// URLs: the service's live set from the client's registry (one watch per service,
// shared by the loops), a balancer per loop, and tries made again on another instance when a try
// reached none or (idempotent ones) ran out of its try timeout.
#include <algorithm>
#include <optional>

#include "svckit/http/detail/client_exchange.hpp"

namespace svckit::http {

namespace {

// Brings the balancer up to date: a new set from the registry, or an ejection that began or ended.
// The balancer gets the registry's set of the policy's version, without ejected instances, those in
// the preferred zone first.
void refresh(LoopBalancer& lb) {
  bool changed = false;
  if (lb.view->generation.load(std::memory_order_acquire) != lb.seen) {
    std::lock_guard lock(lb.view->mu);
    lb.raw =
        lb.view->policy.version.empty() ? lb.view->set : discovery::filter(lb.view->set, lb.view->policy.version, {});
    lb.seen = lb.view->generation.load(std::memory_order_relaxed);
    lb.outliers.retain(lb.raw);
    lb.endpoints.clear();
    changed = true;
  }
  std::uint64_t epoch = lb.outliers.epoch();
  if (epoch != lb.outlier_epoch) {
    lb.outlier_epoch = epoch;
    changed = true;
  }
  if (changed) {
    std::vector<discovery::Instance> healthy = lb.outliers.filter(lb.raw);
    lb.view->ejected_by_loop[Loop::current()->index()].store(
        static_cast<std::uint32_t>(lb.raw.size() - std::min(lb.raw.size(), healthy.size())), std::memory_order_relaxed);
    lb.balancer->update(discovery::prefer_zone(healthy, lb.view->policy.zone));
  }
}

}  // namespace

Task<Result<LoopBalancer*>> Client::balancer_for(const Context& call, const std::string& service) {
  Impl& impl = *impl_;
  auto& mine = impl.balancers[Loop::current()->index()];
  if (auto it = mine.find(service); it != mine.end()) {
    refresh(it->second);
    co_return &it->second;
  }
  std::shared_ptr<ServiceView> view;
  bool created = false;
  {
    std::lock_guard lock(impl.views_mu);
    auto& slot = impl.views[service];
    if (!slot) {
      slot = std::make_shared<ServiceView>(impl.rt.size());
      slot->policy = policy(service);
      created = true;
    }
    view = slot;
  }
  if (created) {
    // The watch delivers the first set before it returns, which may read files: off the loop.
    auto start = [&impl, view, service] {
      auto w = impl.options.discovery->watch(service, [v = view.get()](const std::vector<discovery::Instance>& set) {
        std::lock_guard lock(v->mu);
        v->set = set;
        v->generation.fetch_add(1, std::memory_order_release);
      });
      std::lock_guard lock(view->mu);
      view->watch = std::move(w);
    };
    // Off the caller's context: a call that is about to end must not leave the service unwatched.
    Context background;
    auto started = co_await run_blocking(background, start);
    if (!started) {
      std::lock_guard lock(impl.views_mu);
      impl.views.erase(service);  // the next call tries again
      co_return std::unexpected(started.error());
    }
  }
  // The watch's first set: at once from an in-memory or file registry, after its first answer from a
  // remote one (or another loop is starting the watch). Meanwhile this call waits, within its deadline.
  while (view->generation.load(std::memory_order_acquire) == 0) {
    if (!(co_await sleep_for(call, std::chrono::milliseconds(1))).ok())
      co_return std::unexpected(
          Status(Code::kUnavailable, "NO_INSTANCE", "the registry has not answered for " + service + " yet")
              .with_metadata("service", service)
              .with_metadata("cause", call.err().to_string()));
  }
  LoopBalancer lb{discovery::make_balancer(view->policy.balancer),
                  ~std::uint64_t{0},
                  view,
                  {},
                  discovery::OutlierDetector(impl.options.outlier)};
  refresh(lb);
  auto [it, _] = mine.emplace(service, std::move(lb));
  co_return &it->second;
}

Task<Result<ClientResponse>> Client::send_discovered(const Context& call, const ClientRequest& request, const Url& url,
                                                     const Context& caller) {
  Impl& impl = *impl_;
  if (!impl.options.discovery)
    co_return make_error(Code::kFailedPrecondition,
                         "discovery:///" + url.service + " needs a registry (http::ClientOptions::discovery)");
  const int tries = std::max(1, impl.options.discovery_attempts);
  std::string avoid = request.avoid_instance;
  Status last;
  for (int t = 0; t < tries; ++t) {
    auto lb = co_await balancer_for(call, url.service);
    if (!lb) co_return std::unexpected(lb.error());
    const discovery::Instance* picked = (*lb)->balancer->pick({.key = request.balance_key, .avoid = avoid});
    if (!picked) {
      if (!last.ok()) break;  // every instance went while we tried: the last error says more
      co_return std::unexpected(
          Status(Code::kUnavailable, "NO_INSTANCE", "no instance of " + url.service + " is registered")
              .with_metadata("service", url.service));
    }
    // Copied: the set may change while the call is out.
    std::string id = picked->id;
    // An https endpoint first: a service that offers TLS is called over it.
    auto secure = picked->endpoint("https");
    auto hostport = secure ? secure : picked->endpoint("http");
    // Copied: `picked` and its endpoints go with the next update of the set (an ejection after the
    // try refreshes it).
    const std::string address = hostport ? std::string(*hostport) : std::string();
    auto known = (*lb)->endpoints.find(id);
    const bool parsed = known != (*lb)->endpoints.end();
    Result<Url> target = parsed ? Result<Url>(known->second)
                         : hostport
                             ? parse_url((secure ? "https://" : "http://") + address)
                             : Result<Url>(make_error(Code::kUnavailable, "instance " + id + " of " + url.service +
                                                                              " has no http endpoint"));
    if (!parsed && target) (*lb)->endpoints.emplace(id, *target);
    if (!target) {
      (*lb)->balancer->report(id, Duration::zero(), false);  // the pick counted it in flight
      last = target.error();
      avoid = id;
      continue;
    }
    target->target = url.target;
    if (t > 0) impl.instance_retries.fetch_add(1, std::memory_order_relaxed);
    auto start = Clock::now();
    bool reached = false;
    // The try's own context: min(time left, try_timeout), or the call's when there is no try timeout.
    const bool own_deadline =
        impl.options.try_timeout > Duration::zero() && impl.options.try_timeout < call.remaining();
    Context attempt = own_deadline ? call.with_timeout(impl.options.try_timeout) : call;
    std::optional<svckit::detail::DeadlineGuard> try_guard;  // wakes the try's awaits at its deadline
    if (own_deadline) try_guard.emplace(attempt);
    Result<ClientResponse> res = co_await exchange(attempt, request, *target, caller, reached);
    try_guard.reset();
    // A try that ran out of its own time, not the caller's: the instance did not answer in time.
    const bool timed_out = own_deadline && !res && attempt.err().code() == Code::kDeadlineExceeded;
    if (timed_out)
      res = std::unexpected(Status(Code::kDeadlineExceeded,
                                   "no answer from instance " + id + " of " + url.service + " within the try timeout")
                                .with_metadata("instance", id)
                                .with_metadata("cause", res.error().to_string()));
    bool ok = res && res->status < 500;
    // Passive health counts what the instance did: a failed connection, a 5xx or a try timeout, not a
    // deadline or a cancellation of the caller's.
    bool instance_failed = res ? res->status >= 500 : (res.error().code() == Code::kUnavailable || timed_out);
    LoopBalancer& now = **lb;  // map nodes stay put: still valid after the call
    now.balancer->report(id, Clock::now() - start, ok);
    if (now.outliers.report(id, !instance_failed, now.raw.size())) {
      impl.ejections.fetch_add(1, std::memory_order_relaxed);
      now.view->ejections.fetch_add(1, std::memory_order_relaxed);
      refresh(now);
    }
    if (res) {
      res->instance = std::move(id);  // not needed past here
      co_return res;
    }
    last = res.error();
    if (last.metadata_value("instance").empty()) last.with_metadata("instance", id);
    if (!address.empty() && last.metadata_value("address").empty()) last.with_metadata("address", address);
    // Again elsewhere only when this try did not get through: nothing was sent, or an idempotent
    // request got no response (and the body can be sent again).
    // A try that timed out was sent, so only an idempotent request goes again.
    bool retryable = call.err().ok() && !request.body_stream && !request.body_source &&
                     ((last.code() == Code::kUnavailable && (!reached || idempotent(request.method))) ||
                      (timed_out && idempotent(request.method)));
    if (!retryable) break;
    avoid = id;
  }
  co_return std::unexpected(last);
}

discovery::ServicePolicy Client::policy(std::string_view service) const {
  const ClientOptions& o = impl_->options;
  if (auto it = o.services.find(service); it != o.services.end()) {
    discovery::ServicePolicy p = it->second;
    if (p.zone.empty()) p.zone = o.zone;
    return p;
  }
  return discovery::ServicePolicy{o.balancer, {}, o.zone};
}

std::vector<DiscoveryCounts> Client::discovery_counts() const {
  std::vector<std::pair<std::string, std::shared_ptr<ServiceView>>> views;
  {
    std::lock_guard lock(impl_->views_mu);
    for (auto& [name, v] : impl_->views) views.emplace_back(name, v);
  }
  std::vector<DiscoveryCounts> out;
  for (auto& [name, v] : views) {
    DiscoveryCounts c{name, 0, 0, v->ejections.load(std::memory_order_relaxed)};
    {
      std::lock_guard lock(v->mu);
      c.instances = v->policy.version.empty() ? v->set.size() : discovery::filter(v->set, v->policy.version, {}).size();
    }
    for (std::size_t k = 0; k < v->loops; ++k)
      c.ejected = std::max<std::size_t>(c.ejected, v->ejected_by_loop[k].load(std::memory_order_relaxed));
    out.push_back(std::move(c));
  }
  return out;
}

Task<std::vector<DiscoveredService>> Client::discovered() {
  Impl& impl = *impl_;
  std::vector<std::pair<std::string, std::shared_ptr<ServiceView>>> views;
  {
    std::lock_guard lock(impl.views_mu);
    for (auto& [name, v] : impl.views) views.emplace_back(name, v);
  }
  std::vector<DiscoveredService> out;
  std::map<std::string, std::map<std::string, DiscoveredInstance>> by_service;
  for (auto& [name, v] : views) {
    DiscoveredService d{name, v->policy, {}, v->ejections.load(std::memory_order_relaxed)};
    std::lock_guard lock(v->mu);
    auto& slot = by_service[name];
    for (const auto& i : v->set)
      if (v->policy.version.empty() || i.version == v->policy.version) slot.emplace(i.id, DiscoveredInstance{i});
    out.push_back(std::move(d));
  }
  // Each loop's balancers and outlier detectors are its own: read them there.
  Loop* home = Loop::current();
  for (std::size_t k = 0; k < impl.rt.size(); ++k) {
    co_await resume_on(impl.rt.loop(k));
    auto now = Clock::now();
    for (auto& [name, lb] : impl.balancers[k]) {
      auto& slot = by_service[name];
      for (auto& [id, d] : slot) d.ejected = d.ejected || lb.outliers.ejected(id, now);
      for (const auto& load : lb.balancer->loads()) {
        auto it = slot.find(load.id);
        if (it == slot.end()) continue;
        it->second.latency_ms = std::max(it->second.latency_ms, load.latency_ms);
        it->second.in_flight += load.in_flight;
      }
    }
  }
  if (home) co_await resume_on(*home);
  for (auto& d : out)
    for (auto& [id, i] : by_service[d.name]) d.instances.push_back(std::move(i));
  co_return out;
}

}  // namespace svckit::http
