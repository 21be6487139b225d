// Runtime metrics: how late each event loop runs its timers (the symptom of blocking calls on a loop
// thread) and how full the blocking pool is.
#include <chrono>
#include <memory>
#include <string>

#include "svckit/core/runtime.hpp"
#include "svckit/metrics/metrics.hpp"

namespace svckit::metrics {

namespace {

struct LagProbe {
  Gauge lag;
  Histogram lag_hist;
  std::chrono::milliseconds interval;
};

// Sleeps `interval` and records how much later than asked it woke, until the runtime stops.
Task<void> probe_loop(Runtime* rt, std::shared_ptr<LagProbe> probe) {
  const Context& ctx = rt->shutdown_context();
  while (!ctx.done()) {
    auto asked = std::chrono::steady_clock::now();
    Status st = co_await sleep_for(ctx, probe->interval);
    if (!st.ok()) break;
    double late = std::chrono::duration<double>(std::chrono::steady_clock::now() - asked - probe->interval).count();
    if (late < 0) late = 0;
    probe->lag.set(late);
    probe->lag_hist.observe(late);
  }
}

}  // namespace

void register_runtime_metrics(Registry& registry, Runtime& rt, std::chrono::milliseconds interval) {
  auto& lag = registry.gauge_vec(
      {.name = "svckit_runtime_loop_lag_seconds", .help = "How late the loop ran its last lag probe timer."}, {"loop"});
  auto& lag_hist = registry.histogram_vec({.name = "svckit_runtime_loop_lag_distribution_seconds",
                                           .help = "How late each lag probe timer ran.",
                                           .buckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}},
                                          {"loop"});
  for (std::size_t i = 0; i < rt.size(); ++i) {
    std::string loop = std::to_string(i);
    auto probe = std::make_shared<LagProbe>(LagProbe{lag.with({loop}), lag_hist.with({loop}), interval});
    rt.loop(i).spawn(probe_loop(&rt, std::move(probe)));
  }
  BlockingPool* pool = &rt.blocking_pool();
  registry.add_collector([pool](Emitter& e) {
    e.gauge("svckit_runtime_blocking_queue", "Jobs waiting for a blocking-pool thread.",
            static_cast<double>(pool->queued()));
    e.gauge("svckit_runtime_blocking_queue_capacity", "Jobs the blocking pool queues before refusing.",
            static_cast<double>(pool->capacity()));
    e.gauge("svckit_runtime_blocking_threads", "Threads of the blocking pool.", static_cast<double>(pool->threads()));
  });
}

}  // namespace svckit::metrics
