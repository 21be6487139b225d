// grpc.limits: the rule parser, and the token buckets and bulkheads the server builds from the rules.
#include "svckit/grpc/detail/limits.hpp"

#include <algorithm>

#include "svckit/grpc/grpc.hpp"
#include "svckit/resilience/rules.hpp"

namespace svckit::grpc {

Result<LimitRule> parse_limit_rule(std::string_view text) {
  // A gRPC call is an HTTP/2 POST to /package.Service/Method: the HTTP route rule's grammar fits.
  auto r = resilience::parse_route_rule("POST " + std::string(text));
  if (!r)
    return make_error(Code::kInvalidArgument, "grpc limit '" + std::string(text) +
                                                  "': expected \"/package.Service/Method key=value...\" "
                                                  "with keys rate, burst, max_in_flight");
  if (std::count(r->route.begin(), r->route.end(), '/') != 2)
    return make_error(Code::kInvalidArgument,
                      "grpc limit '" + std::string(text) + "': the method is /package.Service/Method");
  return LimitRule{r->route, r->rate, r->burst, r->max_in_flight};
}

Result<detail::MethodGuards> detail::make_guards(const std::vector<std::string>& rules) {
  MethodGuards guards;
  for (const auto& text : rules) {
    auto rule = parse_limit_rule(text);
    if (!rule) return std::unexpected(rule.error());
    MethodGuard& g = guards[rule->method];
    if (rule->rate > 0) g.bucket = std::make_unique<resilience::TokenBucket>(rule->rate, rule->burst);
    if (rule->max_in_flight > 0) g.bulkhead = std::make_unique<resilience::Bulkhead>(rule->max_in_flight);
  }
  return guards;
}

}  // namespace svckit::grpc
