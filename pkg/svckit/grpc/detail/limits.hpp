#pragma once
// Internal: grpc.limits as the server applies them, one token bucket and/or bulkhead per method.
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "svckit/core/status.hpp"
#include "svckit/resilience/limiter.hpp"

namespace svckit::grpc::detail {

struct MethodGuard {
  std::unique_ptr<resilience::TokenBucket> bucket;
  std::unique_ptr<resilience::Bulkhead> bulkhead;
};
using MethodGuards = std::unordered_map<std::string, MethodGuard>;  // by "/package.Service/Method"

// An error for the first rule parse_limit_rule rejects. Two rules for one method combine: the later
// one's rate and max_in_flight replace the earlier's where set.
Result<MethodGuards> make_guards(const std::vector<std::string>& rules);

}  // namespace svckit::grpc::detail
