#pragma once
// Passive health from real traffic, as Envoy's outlier detection defines it: an instance whose calls
// fail `consecutive_failures` times in a row (connection failures or 5xx) is ejected for
// base_ejection × the number of times it has been ejected (capped at max_ejection), then returns.
// Never more than max_ejection_percent of a set is ejected, but one instance always may be; if every
// instance were ejected, the whole set is used rather than none. One detector per event loop, beside
// its balancer (loop-thread only).
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "svckit/config/binder.hpp"
#include "svckit/core/runtime.hpp"
#include "svckit/discovery/instance.hpp"

namespace svckit::discovery {

struct OutlierOptions {
  int consecutive_failures = 5;  // 0: never eject
  std::chrono::milliseconds base_ejection{30000};
  std::chrono::milliseconds max_ejection{300000};
  int max_ejection_percent = 50;
  static void describe(config::Binder<OutlierOptions>& b);
};

class OutlierDetector {
 public:
  explicit OutlierDetector(OutlierOptions options = {}) : options_(options) {}

  // The outcome of one call to the instance; true when this one ejected it. `set_size` is the
  // size of the set the instance belongs to (for the ejection percentage).
  bool report(std::string_view id, bool ok, std::size_t set_size, Clock::time_point now = Clock::now());
  bool ejected(std::string_view id, Clock::time_point now = Clock::now()) const;
  // `set` without its ejected instances (all of it when every one is ejected).
  std::vector<Instance> filter(const std::vector<Instance>& set, Clock::time_point now = Clock::now()) const;
  // Changes whenever filter() may answer differently: an ejection, or the end of one.
  std::uint64_t epoch(Clock::time_point now = Clock::now());
  std::uint64_t ejections() const noexcept { return ejections_; }
  // Forgets the instances no longer in the set.
  void retain(const std::vector<Instance>& set);

 private:
  struct State {
    int failures = 0;
    int times_ejected = 0;
    Clock::time_point until{};  // ejected while now < until
  };
  std::size_t ejected_count(Clock::time_point now) const;
  OutlierOptions options_;
  std::map<std::string, State, std::less<>> states_;
  std::uint64_t epoch_ = 0;
  std::uint64_t ejections_ = 0;
  Clock::time_point next_return_ = Clock::time_point::max();
};

}  // namespace svckit::discovery
