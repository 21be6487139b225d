#pragma once
// Rate and concurrency limits. Every limiter answers at once (no lock is held while waiting):
//   TokenBucket    rate per second with a burst: the classic.
//   SlidingWindow  at most `limit` in any `window` (counted in sub-buckets).
//   WarmUp         Sentinel's warm-up: a cold service starts at rate/cold_factor (3) and ramps up to
//                  `rate` over `warmup` of sustained traffic; idling cools it down again.
//   Pacer          Sentinel's pacing (leaky bucket): requests leave evenly 1/rate apart; one that would
//                  wait longer than max_queueing is refused; reserve() says how long to wait.
//   Bulkhead       at most `max` in flight (a Permit releases on destruction).
// Refusals are RESOURCE_EXHAUSTED with reason RATE_LIMITED (or CONCURRENCY_LIMITED) and a
// `retry_after_ms` metadata entry: HTTP answers 429 with Retry-After, gRPC RESOURCE_EXHAUSTED.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "svckit/resilience/breaker.hpp"

namespace svckit::resilience {

Status rate_limited(std::string_view who, std::chrono::nanoseconds retry_after);

class Limiter {
 public:
  virtual ~Limiter() = default;
  // OK to go ahead, or RATE_LIMITED.
  virtual Status try_acquire() = 0;
};

class TokenBucket final : public Limiter {
 public:
  TokenBucket(double rate_per_second, double burst, NowFn now = {});
  Status try_acquire() override;
  // Tokens in the bucket now (what a burst could take at once), for dashboards.
  double available();
  double rate() const noexcept { return rate_; }
  double burst() const noexcept { return burst_; }

 private:
  double rate_, burst_, tokens_;
  NowFn now_;
  TimePoint last_;
  std::mutex mu_;
};

class SlidingWindow final : public Limiter {
 public:
  SlidingWindow(std::uint64_t limit, std::chrono::nanoseconds window, std::uint32_t buckets = 10, NowFn now = {});
  Status try_acquire() override;

 private:
  std::uint64_t limit_;
  NowFn now_;
  RollingWindow<std::uint64_t> window_;
  std::mutex mu_;
};

class WarmUp final : public Limiter {
 public:
  WarmUp(double rate_per_second, std::chrono::seconds warmup, double cold_factor = 3.0, NowFn now = {});
  Status try_acquire() override;
  // The rate allowed right now (rate/cold_factor when cold, rate when warm).
  double current_limit();

 private:
  void sync(std::int64_t second);
  double limit_locked() const;
  double count_, cold_factor_, warning_tokens_, max_tokens_, slope_;
  double stored_ = 0;
  std::int64_t last_filled_ = 0;
  std::int64_t second_ = 0;
  double passed_ = 0, previous_passed_ = 0;
  NowFn now_;
  TimePoint origin_;
  std::mutex mu_;
};

class Pacer {
 public:
  Pacer(double rate_per_second, std::chrono::nanoseconds max_queueing, NowFn now = {});
  // How long this request must wait before going (0: now), or RATE_LIMITED when over max_queueing.
  Result<std::chrono::nanoseconds> reserve();

 private:
  std::chrono::nanoseconds interval_, max_queueing_;
  NowFn now_;
  TimePoint next_{};
  std::mutex mu_;
};

class Bulkhead {
 public:
  class Permit {
   public:
    Permit() = default;
    explicit Permit(Bulkhead* b) : b_(b) {}
    Permit(Permit&& o) noexcept : b_(std::exchange(o.b_, nullptr)) {}
    Permit& operator=(Permit&& o) noexcept {
      release();
      b_ = std::exchange(o.b_, nullptr);
      return *this;
    }
    ~Permit() { release(); }
    void release() {
      if (b_) b_->in_flight_.fetch_sub(1, std::memory_order_acq_rel);
      b_ = nullptr;
    }

   private:
    Bulkhead* b_ = nullptr;
  };
  explicit Bulkhead(std::size_t max) : max_(max) {}
  Result<Permit> try_acquire();
  std::size_t in_flight() const noexcept { return in_flight_.load(); }
  std::size_t max() const noexcept { return max_; }

 private:
  std::size_t max_;
  std::atomic<std::size_t> in_flight_{0};
};

}  // namespace svckit::resilience
