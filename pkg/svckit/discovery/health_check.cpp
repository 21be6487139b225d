#include "svckit/discovery/health_check.hpp"

#include <algorithm>
#include <atomic>
#include <random>

#include "svckit/core/notifier.hpp"
#include "svckit/discovery/detail/watch_state.hpp"

namespace svckit::discovery {

void HealthCheckOptions::describe(config::Binder<HealthCheckOptions>& b) {
  using ms = std::chrono::milliseconds;
  b.field("enabled", &HealthCheckOptions::enabled)
      .doc("probe the instances of the registries without checks of their own (file, static, dns)");
  b.field("interval", &HealthCheckOptions::interval)
      .range(ms(50), ms(3600000))
      .doc("between two probes of an instance");
  b.field("timeout", &HealthCheckOptions::timeout).range(ms(10), ms(600000)).doc("one probe");
  b.field("unhealthy_threshold", &HealthCheckOptions::unhealthy_threshold)
      .range(1, 100)
      .doc("failed probes in a row that take an instance out of rotation");
  b.field("healthy_threshold", &HealthCheckOptions::healthy_threshold)
      .range(1, 100)
      .doc("passed probes in a row that bring it back");
  b.field("path", &HealthCheckOptions::path)
      .check([](const std::string& p) { return !p.empty() && p.front() == '/'; }, "a path such as /readyz")
      .doc("probed on the instance's admin URL (metadata.admin)");
  b.validate([](const HealthCheckOptions& o) -> Status {
    if (o.timeout > o.interval)
      return Status(Code::kInvalidArgument, "timeout: must not exceed interval (a probe would overlap the next)");
    return Status();
  });
}

struct HealthChecker::Counters {
  std::atomic<std::uint64_t> probes{0}, probe_failures{0}, marked_unhealthy{0}, marked_healthy{0};
};

struct HealthChecker::Service {
  std::string name;
  Context ctx;  // cancelled when its last watcher goes: ends the probing loop

  std::mutex mu;  // raw, health, watchers, refs, has_set
  std::vector<Instance> raw;
  std::map<std::string, InstanceHealth, std::less<>> health;
  std::vector<std::shared_ptr<detail::WatchState>> watchers;
  std::size_t refs = 0;
  bool has_set = false;

  // Held from computing a set to delivering it, so that two publishers (the inner watch, the
  // probing loop) cannot deliver an older set after a newer one.
  std::mutex publish_mu;
  std::unique_ptr<Watch> inner_watch;  // under publish_mu

  // The healthy instances; all of them when none is (a panic: traffic everywhere beats none).
  std::vector<Instance> visible_locked() const {
    std::vector<Instance> out;
    for (const Instance& i : raw) {
      auto it = health.find(i.id);
      if (it == health.end() || it->second.healthy) out.push_back(i);
    }
    return out.empty() ? raw : out;
  }

  void publish() {
    std::lock_guard p(publish_mu);
    std::vector<Instance> set;
    std::vector<std::shared_ptr<detail::WatchState>> to;
    {
      std::lock_guard lock(mu);
      if (!has_set) return;
      set = visible_locked();
      to = watchers;
    }
    for (auto& w : to) w->deliver(set);
  }

  void on_set(const std::vector<Instance>& set) {
    {
      std::lock_guard lock(mu);
      raw = set;
      has_set = true;
      std::map<std::string, InstanceHealth, std::less<>> next;
      for (const Instance& i : raw) {
        auto it = health.find(i.id);
        next.emplace(i.id, it != health.end() ? it->second : InstanceHealth{.id = i.id});
      }
      health = std::move(next);
    }
    publish();
  }
};

namespace {

class CheckedWatch final : public Watch {
 public:
  CheckedWatch(std::weak_ptr<HealthChecker> checker, std::shared_ptr<HealthChecker::Service> service,
               std::shared_ptr<detail::WatchState> state, std::function<void()> release)
      : checker_(std::move(checker)),
        service_(std::move(service)),
        state_(std::move(state)),
        release_(std::move(release)) {}
  ~CheckedWatch() override {
    {
      std::lock_guard lock(state_->mu);  // waits for a delivery in progress
      state_->active = false;
    }
    release_();
  }

 private:
  std::weak_ptr<HealthChecker> checker_;
  std::shared_ptr<HealthChecker::Service> service_;
  std::shared_ptr<detail::WatchState> state_;
  std::function<void()> release_;
};

// One probing round's shared state: the probes run side by side on the loop, the last one wakes it.
struct Round {
  std::vector<Status> results;
  std::size_t remaining = 0;
  Notifier done;
};

Task<void> probe_one(Probe probe, Context ctx, Instance instance, std::shared_ptr<Round> round, std::size_t k) {
  Status st = co_await probe(ctx, instance);
  if (st.ok() && ctx.done()) st = ctx.err();  // a probe that ignored its deadline still failed it
  round->results[k] = std::move(st);
  if (--round->remaining == 0) round->done.notify();
}

std::chrono::milliseconds jittered(std::chrono::milliseconds interval) {
  thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<long long> d(interval.count() * 9 / 10, interval.count() * 11 / 10);
  return std::chrono::milliseconds(d(rng));
}

}  // namespace

HealthChecker::HealthChecker(Runtime& rt, std::shared_ptr<Discovery> inner, HealthCheckOptions options, Probe probe)
    : rt_(rt),
      inner_(std::move(inner)),
      options_(std::move(options)),
      probe_(std::move(probe)),
      stop_(rt.shutdown_context().with_cancel()),
      counters_(std::make_unique<Counters>()) {}

std::shared_ptr<HealthChecker> HealthChecker::wrap(Runtime& rt, std::shared_ptr<Discovery> inner,
                                                   HealthCheckOptions options, Probe probe) {
  return std::shared_ptr<HealthChecker>(new HealthChecker(rt, std::move(inner), std::move(options), std::move(probe)));
}

HealthChecker::~HealthChecker() {
  stop_.cancel(Status(Code::kCancelled, "health checker closed"));
}

std::unique_ptr<Watch> HealthChecker::watch(std::string service, WatchFn fn) {
  auto state = std::make_shared<detail::WatchState>();
  state->service = service;
  state->fn = std::move(fn);
  std::shared_ptr<Service> s;
  bool created = false;
  {
    std::lock_guard lock(mu_);
    auto& slot = services_[service];
    if (!slot) {
      slot = std::make_shared<Service>();
      slot->name = service;
      slot->ctx = stop_.with_cancel();
      created = true;
    }
    s = slot;
    std::lock_guard slock(s->mu);
    ++s->refs;
    s->watchers.push_back(state);
  }
  if (created) {
    // The inner watch may deliver before it returns (file, static): on_set publishes to `state`.
    std::weak_ptr<Service> weak = s;
    auto inner = inner_->watch(service, [weak](const std::vector<Instance>& set) {
      if (auto live = weak.lock()) live->on_set(set);
    });
    {
      std::lock_guard p(s->publish_mu);
      s->inner_watch = std::move(inner);
    }
    rt_.spawn(probe_loop(shared_from_this(), s));
  } else {
    s->publish();  // the current set at once (if the inner watch has delivered one yet)
  }
  std::weak_ptr<HealthChecker> self = weak_from_this();
  return std::make_unique<CheckedWatch>(self, s, state, [self, s, state] {
    if (auto checker = self.lock()) {
      {
        std::lock_guard lock(s->mu);
        std::erase(s->watchers, state);
      }
      checker->release(s);
    }
  });
}

void HealthChecker::release(const std::shared_ptr<Service>& s) {
  std::unique_ptr<Watch> inner;
  {
    std::lock_guard lock(mu_);
    std::lock_guard slock(s->mu);
    if (--s->refs > 0) return;
    if (auto it = services_.find(s->name); it != services_.end() && it->second == s) services_.erase(it);
  }
  s->ctx.cancel(Status(Code::kCancelled, "no watcher left"));
  {
    std::lock_guard p(s->publish_mu);
    inner = std::move(s->inner_watch);
  }
  inner.reset();  // outside publish_mu: its destructor waits for a callback that may be publishing
}

// Probes every instance of the service each interval (side by side), and publishes when one crossed
// a threshold. `self` keeps the checker alive while the loop runs.
Task<void> HealthChecker::probe_loop(std::shared_ptr<HealthChecker> self, std::shared_ptr<Service> s) {
  (void)self;
  while (!s->ctx.done()) {
    std::vector<Instance> set;
    {
      std::lock_guard lock(s->mu);
      set = s->raw;
    }
    if (!set.empty()) {
      auto round = std::make_shared<Round>();
      round->results.resize(set.size());
      round->remaining = set.size();
      for (std::size_t k = 0; k < set.size(); ++k) {
        Context probe_ctx = s->ctx.with_timeout(options_.timeout);
        Loop::current()->spawn(probe_one(probe_, std::move(probe_ctx), set[k], round, k));
      }
      co_await round->done.wait();
      if (s->ctx.done()) co_return;
      bool changed = false;
      {
        std::lock_guard lock(s->mu);
        for (std::size_t k = 0; k < set.size(); ++k) {
          auto it = s->health.find(set[k].id);
          if (it == s->health.end()) continue;  // left the set meanwhile
          InstanceHealth& h = it->second;
          const Status& st = round->results[k];
          ++h.checks;
          counters_->probes.fetch_add(1, std::memory_order_relaxed);
          if (st.ok()) {
            h.failures = 0;
            ++h.passes;
            if (!h.healthy && h.passes >= options_.healthy_threshold) {
              h.healthy = true;
              changed = true;
              counters_->marked_healthy.fetch_add(1, std::memory_order_relaxed);
            }
          } else {
            counters_->probe_failures.fetch_add(1, std::memory_order_relaxed);
            h.passes = 0;
            ++h.failures;
            h.last_error = st.to_string();
            if (h.healthy && h.failures >= options_.unhealthy_threshold) {
              h.healthy = false;
              changed = true;
              counters_->marked_unhealthy.fetch_add(1, std::memory_order_relaxed);
            }
          }
        }
      }
      if (changed) s->publish();
    }
    if (!(co_await sleep_for(s->ctx, jittered(options_.interval))).ok()) co_return;
  }
}

Task<Result<std::vector<Instance>>> HealthChecker::instances(const Context& ctx, std::string service) {
  auto set = co_await inner_->instances(ctx, service);
  if (!set) co_return set;
  std::shared_ptr<Service> s;
  {
    std::lock_guard lock(mu_);
    if (auto it = services_.find(service); it != services_.end()) s = it->second;
  }
  if (!s) co_return set;
  std::vector<Instance> out;
  {
    std::lock_guard lock(s->mu);
    for (const Instance& i : *set) {
      auto it = s->health.find(i.id);
      if (it == s->health.end() || it->second.healthy) out.push_back(i);
    }
  }
  if (out.empty()) co_return set;  // none healthy: all, as watchers get them
  co_return out;
}

Task<Result<std::vector<std::string>>> HealthChecker::services(const Context& ctx) {
  co_return co_await inner_->services(ctx);
}

std::vector<InstanceHealth> HealthChecker::health(const std::string& service) const {
  std::shared_ptr<Service> s;
  {
    std::lock_guard lock(mu_);
    if (auto it = services_.find(service); it != services_.end()) s = it->second;
  }
  std::vector<InstanceHealth> out;
  if (!s) return out;
  std::lock_guard lock(s->mu);
  for (const auto& [id, h] : s->health) out.push_back(h);
  return out;
}

HealthStats HealthChecker::stats() const {
  return HealthStats{counters_->probes.load(), counters_->probe_failures.load(), counters_->marked_unhealthy.load(),
                     counters_->marked_healthy.load()};
}

}  // namespace svckit::discovery
