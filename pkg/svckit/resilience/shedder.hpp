#pragma once
// Adaptive load shedding, go-zero's CPU-based shedder: a request is dropped (UNAVAILABLE/OVERLOADED,
// HTTP 503 at once) only when the process is hot (CPU above `cpu_threshold`, or it dropped something
// within the last `cool_off`) AND more requests are in flight than the server has shown it can
// complete: max_flight = max passes per bucket × buckets per second × min response time (Little's law
// over the rolling window). Admitted requests therefore keep roughly the latency of an unloaded server.
//
// Why this rather than brpc's auto concurrency limiter: it needs no latency model or explore ratio to
// tune, it reacts to the resource actually exhausted (CPU) rather than to latency that may come from a
// slow dependency (which the breakers handle), and it never sheds while the machine has headroom.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "svckit/resilience/breaker.hpp"

namespace svckit::resilience {

struct ShedderSettings {
  double cpu_threshold = 0.9;  // fraction of all cores' time, smoothed (EMA β 0.95 over 250 ms samples)
  std::chrono::nanoseconds window{std::chrono::seconds(5)};
  std::uint32_t buckets = 50;
  std::chrono::nanoseconds cool_off{std::chrono::seconds(1)};
  NowFn now;
  std::function<double()> cpu;  // current smoothed usage in [0, 1]; default: this process from /proc
};

class Shedder {
 public:
  class Promise {
   public:
    Promise() = default;
    Promise(Shedder* s, TimePoint start) : s_(s), start_(start) {}
    Promise(Promise&& o) noexcept : s_(std::exchange(o.s_, nullptr)), start_(o.start_) {}
    Promise& operator=(Promise&&) = delete;
    ~Promise() { fail(); }
    // The request completed: its time feeds the model.
    void pass();
    // It failed or was abandoned: only the in-flight count goes down.
    void fail();

   private:
    Shedder* s_ = nullptr;
    TimePoint start_{};
  };

  explicit Shedder(ShedderSettings settings = {});
  Result<Promise> allow();
  std::uint64_t dropped() const noexcept { return dropped_.load(); }
  std::int64_t in_flight() const noexcept { return flying_.load(); }
  double cpu_usage() const { return settings_.cpu(); }

 private:
  friend class Promise;
  bool should_drop(TimePoint now);
  std::int64_t max_flight();
  ShedderSettings settings_;
  std::atomic<std::int64_t> flying_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::mutex mu_;
  struct Bucket {
    std::int64_t passes = 0;
    double min_rt_ms = 0;  // 0: none
  };
  std::unique_ptr<RollingWindow<Bucket>> window_;
  TimePoint last_drop_{};
};

// This process's CPU usage over all cores, smoothed; sampled at most every 250 ms when asked.
double process_cpu_usage();

}  // namespace svckit::resilience
