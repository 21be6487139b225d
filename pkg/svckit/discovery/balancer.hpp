#pragma once
// Client-side load balancers over a service's current instance set. A balancer is given the whole
// set on every change (update) and picks an instance per call; latency-aware balancers learn from
// report(). One balancer per event loop, used from that loop only (as the HTTP client's pools are):
// picks take no lock.
//
// ```cpp
//   void call_one(discovery::Balancer& b, const std::vector<discovery::Instance>& set) {
//     b.update(set);                                    // as a Discovery watch delivers it
//     if (const discovery::Instance* i = b.pick({})) {  // nullptr: no instance
//       auto start = Clock::now();
//       bool ok = true;                                 // ... call i->endpoint("http") ...
//       b.report(i->id, Clock::now() - start, ok);
//     }
//   }
// ```
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "svckit/config/binder.hpp"
#include "svckit/core/runtime.hpp"
#include "svckit/discovery/instance.hpp"

namespace svckit::discovery {

enum class Policy : std::uint8_t {
  kRoundRobin,      // each instance in turn
  kWeighted,        // smooth weighted round robin (nginx's): spread, not bursts, by weight
  kP2C,             // power of two choices by peak-EWMA latency x in-flight calls (go-zero's formula)
  kConsistentHash,  // a ring of virtual nodes by the pick's key: the same key, the same instance
};

constexpr auto config_names(Policy) {
  return std::array{std::pair{Policy::kRoundRobin, "round_robin"}, std::pair{Policy::kWeighted, "weighted"},
                    std::pair{Policy::kP2C, "p2c"}, std::pair{Policy::kConsistentHash, "consistent_hash"}};
}

// How a client calls one discovered service (discovery.services.<name>).
struct ServicePolicy {
  Policy balancer = Policy::kP2C;
  // Only instances of this version (a canary pinned, a migration); empty: any. None of that version:
  // calls are UNAVAILABLE (NO_INSTANCE), never sent to another version.
  std::string version;
  // Instances in this zone first; the others only while none in it is left (all ejected or gone).
  // Empty: discovery.zone when discovery.zone_aware, else no preference.
  std::string zone;
  static void describe(config::Binder<ServicePolicy>& b);
};

struct PickInfo {
  std::string_view key;  // consistent hashing's affinity key (user id, session); others ignore it
  // The id of an instance to avoid (the one a retry's previous try failed on); honoured when another
  // exists.
  std::string_view avoid;
};

class Balancer {
 public:
  virtual ~Balancer() = default;
  // Replaces the set. Instances keep their learnt state across updates when their id stays.
  virtual void update(std::vector<Instance> set) = 0;
  // An instance of the current set, valid until the next update; nullptr when the set is empty.
  virtual const Instance* pick(const PickInfo& info) = 0;
  // The outcome of a call to the instance with this id that pick() returned (latency-aware balancers
  // learn from it; P2C also counts it out of flight). By id: the set may have changed meanwhile.
  virtual void report(std::string_view instance_id, Duration latency, bool ok) {
    (void)instance_id, (void)latency, (void)ok;
  }
  void report(const Instance& instance, Duration latency, bool ok) { report(instance.id, latency, ok); }
  // What a latency-aware balancer has learnt of each instance, for /debug/registry: P2C's latency
  // (peak EWMA) and calls in flight. Other policies learn nothing and report nothing.
  struct Load {
    std::string id;
    double latency_ms = 0;
    std::uint32_t in_flight = 0;
  };
  virtual std::vector<Load> loads() const { return {}; }
  virtual const std::vector<Instance>& instances() const noexcept = 0;
};

std::unique_ptr<Balancer> make_balancer(Policy policy);

}  // namespace svckit::discovery
