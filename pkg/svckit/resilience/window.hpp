#pragma once
// A rolling window of buckets over time, the counting structure every breaker, limiter, budget and
// shedder here uses: `window` split into `buckets` periods; the bucket of the current period is
// current(now); buckets older than the window are cleared as time moves on (also after a long idle).
#include <chrono>
#include <cstddef>
#include <vector>

namespace svckit::resilience {

template <class Bucket>
class RollingWindow {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  RollingWindow(std::chrono::nanoseconds window, std::size_t buckets, TimePoint now)
      : buckets_(buckets == 0 ? 1 : buckets), start_(now) {
    period_ = window / static_cast<std::int64_t>(buckets_.size());
    if (period_.count() <= 0) period_ = std::chrono::nanoseconds(1);
  }

  // The bucket now falls in, after clearing the ones that left the window.
  Bucket& current(TimePoint now) {
    rotate(now);
    return buckets_[head_];
  }
  // Every bucket still inside the window (call current() or rotate() first for an up-to-date view).
  const std::vector<Bucket>& buckets() const noexcept { return buckets_; }
  void rotate(TimePoint now) {
    std::size_t steps = 0;
    while (now - start_ >= period_ && steps <= buckets_.size()) {
      head_ = (head_ + 1) % buckets_.size();
      buckets_[head_] = Bucket{};
      start_ += period_;
      ++steps;
    }
    if (now - start_ >= period_) start_ = now;  // idle for longer than the window: all cleared above
  }
  std::chrono::nanoseconds period() const noexcept { return period_; }
  // Time until the current bucket ends.
  std::chrono::nanoseconds until_next(TimePoint now) const noexcept { return period_ - (now - start_); }

 private:
  std::vector<Bucket> buckets_;
  std::size_t head_ = 0;
  std::chrono::nanoseconds period_;
  TimePoint start_;
};

}  // namespace svckit::resilience
