#include "svckit/discovery/outlier.hpp"

#include <algorithm>

namespace svckit::discovery {

void OutlierOptions::describe(config::Binder<OutlierOptions>& b) {
  b.field("consecutive_failures", &OutlierOptions::consecutive_failures)
      .range(0, 1000)
      .doc("failures in a row (connection errors or 5xx) that eject an instance; 0: never");
  b.field("base_ejection", &OutlierOptions::base_ejection)
      .range(std::chrono::milliseconds(10), std::chrono::milliseconds(3600000))
      .doc("the first ejection's length; each later one lasts this × the times ejected");
  b.field("max_ejection", &OutlierOptions::max_ejection)
      .range(std::chrono::milliseconds(10), std::chrono::milliseconds(86400000))
      .doc("the longest ejection");
  b.field("max_ejection_percent", &OutlierOptions::max_ejection_percent)
      .range(0, 100)
      .doc("at most this share of a set ejected at once (one instance always may be)");
}

std::size_t OutlierDetector::ejected_count(Clock::time_point now) const {
  std::size_t n = 0;
  for (const auto& [id, s] : states_)
    if (now < s.until) ++n;
  return n;
}

bool OutlierDetector::report(std::string_view id, bool ok, std::size_t set_size, Clock::time_point now) {
  if (options_.consecutive_failures <= 0) return false;
  auto it = states_.find(id);
  if (it == states_.end()) it = states_.emplace(std::string(id), State{}).first;
  State& s = it->second;
  if (ok) {
    s.failures = 0;
    return false;
  }
  if (now < s.until) return false;  // already out (a call that was on its way)
  if (++s.failures < options_.consecutive_failures) return false;
  // Envoy's rule: one instance may always be ejected; beyond it, only under the percentage.
  std::size_t out = ejected_count(now);
  if (out > 0 && (out + 1) * 100 > static_cast<std::size_t>(options_.max_ejection_percent) * set_size) return false;
  ++s.times_ejected;
  auto length = std::min<std::chrono::milliseconds>(options_.base_ejection * s.times_ejected, options_.max_ejection);
  s.until = now + length;
  s.failures = 0;
  next_return_ = std::min(next_return_, s.until);
  ++epoch_;
  ++ejections_;
  return true;
}

bool OutlierDetector::ejected(std::string_view id, Clock::time_point now) const {
  auto it = states_.find(id);
  return it != states_.end() && now < it->second.until;
}

std::vector<Instance> OutlierDetector::filter(const std::vector<Instance>& set, Clock::time_point now) const {
  std::vector<Instance> kept;
  kept.reserve(set.size());
  for (const Instance& i : set)
    if (!ejected(i.id, now)) kept.push_back(i);
  if (kept.empty()) return set;  // all ejected: use all rather than none
  return kept;
}

std::uint64_t OutlierDetector::epoch(Clock::time_point now) {
  if (now >= next_return_) {
    // An ejection ended: the next filter differs.
    ++epoch_;
    next_return_ = Clock::time_point::max();
    for (const auto& [id, s] : states_)
      if (now < s.until) next_return_ = std::min(next_return_, s.until);
  }
  return epoch_;
}

void OutlierDetector::retain(const std::vector<Instance>& set) {
  for (auto it = states_.begin(); it != states_.end();) {
    bool present = std::any_of(set.begin(), set.end(), [&](const Instance& i) { return i.id == it->first; });
    it = present ? std::next(it) : states_.erase(it);
  }
}

}  // namespace svckit::discovery
