#include "svckit/resilience/rules.hpp"

#include <algorithm>

namespace svckit::resilience {

void RouteRule::describe(config::Binder<RouteRule>& b) {
  b.field("method", &RouteRule::method)
      .check(
          [](const std::string& m) {
            return m == "*" ||
                   (!m.empty() && std::all_of(m.begin(), m.end(), [](char c) { return c >= 'A' && c <= 'Z'; }));
          },
          "an upper-case HTTP method or *");
  b.field("route", &RouteRule::route)
      .required()
      .check([](const std::string& r) { return !r.empty() && r[0] == '/'; }, "must start with /");
  b.field("rate", &RouteRule::rate).range(0.0, 1e9).doc("requests per second (a token bucket); 0: none");
  b.field("burst", &RouteRule::burst).range(0.0, 1e9).doc("the bucket's size; 0: max(1, rate)");
  b.field("max_in_flight", &RouteRule::max_in_flight).range(0, 10000000).doc("a bulkhead; 0: none");
  b.validate([](const RouteRule& r) {
    return r.rate > 0 || r.max_in_flight > 0 ? Status() : Status(Code::kInvalidArgument, "set rate or max_in_flight");
  });
}

}  // namespace svckit::resilience
