#pragma once
// The `resilience:` section: inbound protection of the traffic port (off by default) and the
// policies of outgoing calls per upstream and method (App::upstreams()):
//   resilience:
//     shed: false                # go-zero's CPU-based load shedder
//     shed_cpu_threshold: 0.9
//     shed_queue_delay: 0        # PIE on each event loop's queueing delay (queue_shedder.hpp); 0: off
//     rate_limit: false          # a token bucket for the whole service
//     rate: 1000
//     burst: 2000
//     max_in_flight: 0           # a bulkhead; 0: none
//     routes:    [{method: GET, route: /v1/users/:id, rate: 100}]           (rules.hpp)
//     upstreams: [{name: billing, timeout: 2s, breaker: gobreaker}]         (policy.hpp)
#include <chrono>
#include <string>
#include <vector>

#include "svckit/config/binder.hpp"
#include "svckit/resilience/policy.hpp"
#include "svckit/resilience/rules.hpp"

namespace svckit::resilience {

struct ResilienceSettings {
  bool shed = false;
  double shed_cpu_threshold = 0.9;
  std::chrono::nanoseconds shed_queue_delay{0};  // the loop queueing delay held; 0: no queue shedding
  bool rate_limit = false;
  double rate = 1000;  // requests per second
  double burst = 2000;
  int max_in_flight = 0;
  std::vector<RouteRule> routes;
  std::vector<CallRule> upstreams;

  static void describe(config::Binder<ResilienceSettings>& b);
};

}  // namespace svckit::resilience
