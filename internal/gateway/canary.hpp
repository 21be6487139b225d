#pragma once
// Canary routing (docs/gateway.md, "Canary"): each request of a route with a canary goes to the
// stable or the canary set. The side is a hash of a key (the verified user, the client address or a
// header's value) against canary_weight, so one key stays on one side and raising the weight only
// moves keys from stable to canary; a header (canary_header) may force either side. The canary set is
// either its own upstream (canary_upstream) or, for a discovery:/// upstream, its instances of
// canary_version: a VersionSplit follows the service and keeps two gateway-owned sets,
// gateway-canary.<route> and gateway-stable.<route> (every other version), in the gateway's registry.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "svckit/discovery/registry.hpp"
#include "svckit/discovery/static_registry.hpp"

namespace svckit::gateway {

struct RouteConfig;

// A 64-bit hash of `key` salted with `salt`, mapped onto [0, 10000): a point to compare with a
// percentage (x100). Stable across processes and builds.
std::uint32_t hash_bucket(std::string_view salt, std::string_view key) noexcept;
// True when `bucket` falls within `percent` (0..100) of the range.
inline bool within_percent(std::uint32_t bucket, double percent) noexcept {
  return static_cast<double>(bucket) < percent * 100.0;
}

enum class CanaryOverride { kNone, kAlways, kNever };
// The canary_header's value: `always` / `never` (any case); anything else: no override.
CanaryOverride parse_override(std::string_view value) noexcept;

// The instances of one discovery:/// service split by version into gateway-owned sets.
class VersionSplit {
 public:
  VersionSplit(std::shared_ptr<discovery::Discovery> source, std::shared_ptr<discovery::StaticRegistry> sets,
               const std::string& route);
  ~VersionSplit();
  VersionSplit(const VersionSplit&) = delete;
  VersionSplit& operator=(const VersionSplit&) = delete;

  // Follows `service`, `version` being the canary's (a changed version re-splits what is known).
  void follow(const std::string& service, const std::string& version);
  // Stops following; both sets are emptied.
  void stop();

  // Instances in each set now (0 until the service's first set arrives).
  std::size_t canary_instances() const noexcept { return canary_count_.load(std::memory_order_relaxed); }
  std::size_t stable_instances() const noexcept { return stable_count_.load(std::memory_order_relaxed); }
  const std::string& canary_service() const noexcept { return canary_service_; }
  const std::string& stable_service() const noexcept { return stable_service_; }

 private:
  void apply(const std::string& service, const std::vector<discovery::Instance>& set);
  void sync(const std::string& name, std::vector<discovery::Instance> want);

  std::shared_ptr<discovery::Discovery> source_;
  std::shared_ptr<discovery::StaticRegistry> sets_;
  const std::string canary_service_, stable_service_;
  std::mutex mu_;  // guards the fields below; the watch's callback takes it
  std::string service_, version_;
  std::vector<discovery::Instance> last_;
  std::unique_ptr<discovery::Watch> watch_;
  std::atomic<std::size_t> canary_count_{0}, stable_count_{0};
};

}  // namespace svckit::gateway
