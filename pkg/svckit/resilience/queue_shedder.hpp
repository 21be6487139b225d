#pragma once
// Load shedding on the event loops' queueing delay, with PIE (RFC 8033's Proportional Integral
// controller Enhanced). A probe on each loop measures how late a timer runs: the time a ready event
// waits in that loop's queue before the loop gets to it. Every `interval` the loop's drop probability
// moves by alpha × (delay − target) + beta × (delay − previous delay), and each new request on the loop
// is refused (UNAVAILABLE/OVERLOADED: HTTP 503 with Retry-After) with that probability.
//
// Why it exists beside the bulkhead and the CPU shedder: both decide inside the handler chain, so when
// the event loop is itself the bottleneck, refused and admitted requests wait behind each other in
// the loop's queue and the kernel's socket buffers before either decision is made. Holding that wait
// at `target` is what keeps the latency of admitted requests near that of an unloaded service; a
// refusal costs a read, a parse and a small write, a few percent of a real request.
//
//   resilience.shed_queue_delay: 5ms   (0, the default: off)
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "svckit/core/status.hpp"

namespace svckit {
class Runtime;
}

namespace svckit::resilience {

struct QueueShedderSettings {
  std::chrono::nanoseconds target{std::chrono::milliseconds(5)};    // the queueing delay held
  std::chrono::nanoseconds interval{std::chrono::milliseconds(5)};  // between probes (RFC 8033's T_UPDATE)
  // Gains per second of delay, per update: forty times RFC 8033's (0.125 and 1.25), which are tuned
  // for packets every 15 ms. A request queue at twice its capacity grows by a second per second; with
  // these (queue_shedder_test's simulated 2x load) the admitted requests' wait has a p90 of about the
  // target while 42 % are admitted, against 50 % ideally.
  double alpha = 5;  // for the delay above target (the integral action)
  double beta = 50;  // for the delay's growth since the last update (the proportional action)
};

class QueueShedder {
 public:
  QueueShedder(QueueShedderSettings settings, std::size_t loops);

  // Starts a probe on each of rt's loops (rt.size() must equal `loops`); they end with rt's shutdown.
  void start(Runtime& rt);

  // On loop `loop`'s thread, for a request that just arrived: OK to serve it, or OVERLOADED.
  Status admit(std::size_t loop);
  // The same for the loop running on the calling thread; always OK off the loops of start()'s runtime.
  Status admit();

  // One delay sample for `loop`: the controller's update (the probe calls it every interval).
  void update(std::size_t loop, std::chrono::nanoseconds delay);

  double probability(std::size_t loop) const;
  std::chrono::nanoseconds delay(std::size_t loop) const;
  std::uint64_t dropped() const;
  std::size_t loops() const noexcept { return loops_; }
  const QueueShedderSettings& settings() const noexcept;

 private:
  struct Shared;  // shared with the probes, which may outlive a stop that forgets to wait for them
  std::shared_ptr<Shared> shared_;
  std::size_t loops_;
};

}  // namespace svckit::resilience
