// grpc.limits: the checks of one item, and the token buckets and bulkheads the server builds from them.
#include "svckit/grpc/detail/limits.hpp"

#include <algorithm>
#include <cctype>

namespace svckit::grpc::detail {

bool is_method_name(std::string_view name) {
  if (name.size() < 4 || name[0] != '/') return false;
  auto slash = name.find('/', 1);
  if (slash == std::string_view::npos || slash == 1 || slash + 1 == name.size()) return false;
  if (name.find('/', slash + 1) != std::string_view::npos) return false;
  return std::none_of(name.begin(), name.end(), [](unsigned char c) { return std::isspace(c) || std::iscntrl(c); });
}

Status check_limit(const MethodLimit& limit) {
  if (!is_method_name(limit.method))
    return Status(Code::kInvalidArgument, "method \"" + limit.method + "\" is not /package.Service/Method");
  if (limit.rate < 0 || limit.burst < 0) return Status(Code::kInvalidArgument, "rate and burst must not be negative");
  if (limit.rate == 0 && limit.max_in_flight == 0)
    return Status(Code::kInvalidArgument, "set rate, max_in_flight or both");
  return {};
}

Result<MethodGuards> make_guards(const std::vector<MethodLimit>& limits) {
  MethodGuards guards;
  for (std::size_t i = 0; i < limits.size(); ++i) {
    const MethodLimit& l = limits[i];
    if (Status st = check_limit(l); !st.ok())
      return make_error(Code::kInvalidArgument, "grpc.limits[" + std::to_string(i) + "]: " + std::string(st.message()));
    MethodGuard& g = guards[l.method];
    if (l.rate > 0)
      g.bucket = std::make_unique<resilience::TokenBucket>(l.rate, l.burst > 0 ? l.burst : std::max(1.0, l.rate));
    if (l.max_in_flight > 0) g.bulkhead = std::make_unique<resilience::Bulkhead>(l.max_in_flight);
  }
  return guards;
}

}  // namespace svckit::grpc::detail
