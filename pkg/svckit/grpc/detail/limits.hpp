#pragma once
// Internal: grpc.limits as the server applies them, one token bucket and/or bulkhead per method.
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "svckit/core/status.hpp"
#include "svckit/grpc/settings.hpp"
#include "svckit/resilience/limiter.hpp"

namespace svckit::grpc::detail {

// "/package.Service/Method" (the package may be absent: "/Service/Method").
bool is_method_name(std::string_view name);

// The rules the config binder applies to an item of grpc.limits, for settings built in code too.
Status check_limit(const MethodLimit& limit);

struct MethodGuard {
  std::unique_ptr<resilience::TokenBucket> bucket;
  std::unique_ptr<resilience::Bulkhead> bulkhead;
};
using MethodGuards = std::unordered_map<std::string, MethodGuard>;  // by "/package.Service/Method"

// An error for the first limit check_limit rejects. Two items for one method combine: the later
// one's rate and max_in_flight replace the earlier's where set.
Result<MethodGuards> make_guards(const std::vector<MethodLimit>& limits);

}  // namespace svckit::grpc::detail
