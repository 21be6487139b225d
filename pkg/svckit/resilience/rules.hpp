#pragma once
// Limits per route from configuration (resilience.routes), one item per route:
//   routes:
//     - {method: GET, route: /v1/users/:id, rate: 100, burst: 200}   # a token bucket
//     - {route: /v1/export, max_in_flight: 2}                         # a bulkhead; method * (any)
// The route is the router's template. The HTTP middleware that applies them is in
// svckit/resilience_http/middleware.hpp.
#include <string>

#include "svckit/config/binder.hpp"
#include "svckit/core/status.hpp"

namespace svckit::resilience {

struct RouteRule {
  std::string method = "*";  // upper case, or "*"
  std::string route;
  double rate = 0;   // requests per second; 0: no token bucket
  double burst = 0;  // 0: max(1, rate)
  std::size_t max_in_flight = 0;

  static void describe(config::Binder<RouteRule>& b);
};

}  // namespace svckit::resilience
