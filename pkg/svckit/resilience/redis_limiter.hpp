#pragma once
// A cluster-wide token bucket on Redis: every instance of a service shares one bucket (rate and burst
// across all of them), kept in Redis and updated by an atomic Lua script. Requests never wait for
// Redis: a background thread leases tokens in small batches (every `lease_interval`, enough for about
// two intervals) and try_acquire() spends the lease. While Redis is unreachable, each instance falls
// back to a local bucket of `fallback_rate` (its share), and returns to the shared bucket as soon as
// Redis answers again. Leased tokens an instance does not use are lost to the others: the global rate
// is an upper bound, reached under steady load.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "svckit/resilience/limiter.hpp"

namespace svckit::resilience {

struct RedisLimiterOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string key = "svckit:ratelimit";
  double rate = 100;  // tokens per second, for the whole cluster
  double burst = 100;
  std::chrono::milliseconds lease_interval{50};
  std::chrono::milliseconds timeout{200};  // connect and each call
  double fallback_rate = 0;                // per instance while Redis is away; 0: rate
  double fallback_burst = 0;               // 0: burst
};

class RedisTokenBucket final : public Limiter {
 public:
  explicit RedisTokenBucket(RedisLimiterOptions options);
  ~RedisTokenBucket() override;
  Status try_acquire() override;
  bool degraded() const noexcept { return degraded_.load(); }  // on the local fallback now
  std::uint64_t redis_errors() const noexcept { return errors_.load(); }

 private:
  void run();
  Result<std::int64_t> lease(std::int64_t want);
  RedisLimiterOptions o_;
  TokenBucket fallback_;
  std::atomic<std::int64_t> tokens_{0};
  std::atomic<bool> degraded_{true};  // until the first lease succeeds
  std::atomic<std::uint64_t> errors_{0};
  int fd_ = -1;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace svckit::resilience
