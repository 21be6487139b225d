#pragma once
// Limits per route or method from configuration, as text rules: "METHOD /route/template key=value...".
// METHOD may be `*`; the template is the router's (`/v1/users/:id`) or a gRPC method's full name; keys:
// rate and burst (a token bucket), max_in_flight (a bulkhead). Example: "GET /v1/users rate=100
// burst=200", "* /v1/export max_in_flight=2". The HTTP middleware that applies them is in
// svckit/resilience_http/middleware.hpp; the gRPC server applies its own (grpc.limits).
#include <string>
#include <string_view>
#include <vector>

#include "svckit/core/status.hpp"

namespace svckit::resilience {

struct RouteRule {
  std::string method;  // upper case, or "*"
  std::string route;
  double rate = 0, burst = 0;
  std::size_t max_in_flight = 0;
};
Result<RouteRule> parse_route_rule(std::string_view text);

namespace detail {
// The words of a configuration rule ("GET /route rate=5", "billing timeout=1s"), split on blanks.
std::vector<std::string> split_words(std::string_view text);
}  // namespace detail

}  // namespace svckit::resilience
