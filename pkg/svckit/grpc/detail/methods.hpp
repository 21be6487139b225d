#pragma once
// Internal: per-method tables shared by the server's and the client's observation, and the split of a
// method's full name.
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace svckit::grpc::detail {

// "/svckit.chat.v1.ChatService/BidirectionalChat" → service, method.
inline std::pair<std::string, std::string> split_method(std::string_view m) {
  if (!m.empty() && m[0] == '/') m.remove_prefix(1);
  auto slash = m.find('/');
  if (slash == std::string_view::npos) return {std::string(m), "unknown"};
  return {std::string(m.substr(0, slash)), std::string(m.substr(slash + 1))};
}

// Per-method data resolved once per method (names, metric handles) instead of per call: looking up six
// labelled series per call cost more than grpc++'s own interceptor machinery (bench/grpc). Method
// names come from the registered services, but calls to unknown methods carry whatever the peer sent:
// past kMaxMethods distinct names they share one "/unknown/unknown" entry.
template <class T>
class MethodTable {
 public:
  // make(full_name, service, method) builds a method's entry the first time it is seen.
  template <class Make>
  const T& get(const char* full, Make&& make) {
    std::string_view name = full ? full : "";
    {
      std::shared_lock lock(mu_);
      if (auto it = entries_.find(name); it != entries_.end()) return *it->second;
    }
    std::unique_lock lock(mu_);
    if (entries_.size() >= kMaxMethods && !entries_.contains(name)) name = "/unknown/unknown";
    if (auto it = entries_.find(name); it != entries_.end()) return *it->second;
    auto [service, method] = split_method(name);
    auto entry = std::make_unique<T>(make(name, std::move(service), std::move(method)));
    return *entries_.emplace(std::string(name), std::move(entry)).first->second;
  }

 private:
  static constexpr std::size_t kMaxMethods = 1000;
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::shared_mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<T>, Hash, std::equal_to<>> entries_;
};

}  // namespace svckit::grpc::detail
