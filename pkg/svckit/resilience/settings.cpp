#include "svckit/resilience/settings.hpp"

#include "svckit/config/config.hpp"  // defines the list binders

namespace svckit::resilience {

void ResilienceSettings::describe(config::Binder<ResilienceSettings>& b) {
  b.field("shed", &ResilienceSettings::shed).doc("drop requests fast when CPU-bound and over the proven concurrency");
  b.field("shed_cpu_threshold", &ResilienceSettings::shed_cpu_threshold).range(0.1, 1.0);
  b.field("shed_queue_delay", &ResilienceSettings::shed_queue_delay)
      .range(std::chrono::nanoseconds(0), std::chrono::nanoseconds(std::chrono::seconds(10)))
      .check([](const std::chrono::nanoseconds& d) { return d.count() == 0 || d >= std::chrono::milliseconds(1); },
             "0 (off) or at least 1ms: an idle loop's timers run up to a few hundred microseconds late")
      .doc("refuse requests at random to hold each event loop's queueing delay here (PIE); 0: off");
  b.field("rate_limit", &ResilienceSettings::rate_limit).doc("a token bucket for the whole service");
  b.field("rate", &ResilienceSettings::rate).range(0.001, 1e9).doc("requests per second");
  b.field("burst", &ResilienceSettings::burst).range(1.0, 1e9);
  b.field("max_in_flight", &ResilienceSettings::max_in_flight).range(0, 10000000).doc("a bulkhead; 0: none");
  b.field("routes", &ResilienceSettings::routes).doc("limits per route: method, route, rate, burst, max_in_flight");
  b.field("upstreams", &ResilienceSettings::upstreams).doc("outgoing-call policies per upstream or method");
}

}  // namespace svckit::resilience
