#pragma once
// Circuit breakers.
//
// CircuitBreaker has gobreaker's semantics (settings, states, counts and generations), so Go teams
// find what they know: Closed counts results (reset every `interval`, or over a rolling window of
// `bucket_period` buckets); when ready_to_trip(counts) (default: more than 5 consecutive failures)
// it opens; after `timeout` it goes half-open and lets `max_requests` probes through; that many
// consecutive successes close it, any failure reopens it. A result that comes back after the state
// changed (an older generation) is ignored. Rejections are Status UNAVAILABLE with reason
// CIRCUIT_OPEN or TOO_MANY_REQUESTS (half-open and out of probes).
//
// AdaptiveBreaker is Google SRE's client-side throttling (as go-zero's breaker): over a rolling window
// it rejects with probability max(0, (requests - k·accepts) / (requests + 1)). Unlike go-zero, its own
// rejections are not counted as requests (go-zero issue #5551: counting them keeps it stuck open).
//
// ```cpp
//   resilience::CircuitBreaker users_db({.name = "users-db", .timeout = 30s});
//   Task<Status> call_users_db(const Context& ctx);
//   Task<Status> guarded_call(resilience::CircuitBreaker& cb, const Context& ctx) {
//     auto ticket = cb.allow();                       // two steps, for async code
//     if (!ticket) co_return ticket.error();          // UNAVAILABLE CIRCUIT_OPEN: answer without calling
//     Status st = co_await call_users_db(ctx);
//     cb.done(*ticket, st);
//     co_return st;
//   }
// ```
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "svckit/core/status.hpp"
#include "svckit/resilience/window.hpp"

namespace svckit::resilience {

using TimePoint = std::chrono::steady_clock::time_point;
using NowFn = std::function<TimePoint()>;  // injectable clock (tests use a manual one)

enum class State { kClosed, kHalfOpen, kOpen };
std::string_view state_name(State s) noexcept;

struct Counts {
  std::uint32_t requests = 0;
  std::uint32_t total_successes = 0;
  std::uint32_t total_failures = 0;
  std::uint32_t consecutive_successes = 0;
  std::uint32_t consecutive_failures = 0;
};

struct BreakerSettings {
  std::string name = "breaker";
  std::uint32_t max_requests = 1;             // probes allowed half-open (0 means 1)
  std::chrono::nanoseconds interval{0};       // closed: counts reset this often (0: never)
  std::chrono::nanoseconds bucket_period{0};  // > 0 with interval: a rolling window of interval/bucket_period
  std::chrono::nanoseconds timeout{std::chrono::seconds(60)};  // open → half-open
  std::function<bool(const Counts&)> ready_to_trip;            // default: consecutive_failures > 5
  std::function<bool(const Status&)> is_successful;            // default: ok()
  std::function<bool(const Status&)> is_excluded;              // results that count as nothing
  std::function<void(const std::string& name, State from, State to)> on_state_change;
  NowFn now;  // default: steady_clock
};

class CircuitBreaker {
 public:
  struct Ticket {
    std::uint64_t generation = 0;
  };
  explicit CircuitBreaker(BreakerSettings settings);

  // Step one: may this call go ahead? CIRCUIT_OPEN / TOO_MANY_REQUESTS when not.
  Result<Ticket> allow();
  // Step two: the call's result.
  void done(Ticket ticket, const Status& result);

  // One step around a synchronous function returning Status or Result<T>.
  template <class F>
  auto execute(F&& fn) -> decltype(fn()) {
    auto t = allow();
    using R = decltype(fn());
    if (!t) {
      if constexpr (std::is_same_v<R, Status>)
        return t.error();
      else
        return std::unexpected(t.error());
    }
    R r = fn();
    if constexpr (std::is_same_v<R, Status>)
      done(*t, r);
    else
      done(*t, r ? Status() : r.error());
    return r;
  }

  State state();
  Counts counts();
  const std::string& name() const noexcept { return s_.name; }

 private:
  State current(TimePoint now);  // under mu_
  void set_state(State to, TimePoint now);
  void new_generation(TimePoint now);
  Counts windowed() const;

  BreakerSettings s_;
  std::mutex mu_;
  State state_ = State::kClosed;
  std::uint64_t generation_ = 0;
  Counts counts_;  // consecutive counts and, without a rolling window, the totals
  TimePoint expiry_{};
  struct Bucket {
    std::uint32_t requests = 0, successes = 0, failures = 0;
  };
  bool rolling_ = false;
  std::unique_ptr<RollingWindow<Bucket>> window_;  // with bucket_period: the closed state's counts
};

struct AdaptiveSettings {
  std::string name = "adaptive";
  double k = 1.5;  // accepts are multiplied by k: 1.5 tolerates up to a third of requests failing
  std::chrono::nanoseconds window{std::chrono::seconds(10)};
  std::uint32_t buckets = 40;
  std::uint32_t min_requests = 10;  // below this in the window, never reject
  NowFn now;
  std::function<double()> random;  // [0, 1); default: a thread-local generator
};

class AdaptiveBreaker {
 public:
  struct Ticket {};
  explicit AdaptiveBreaker(AdaptiveSettings settings);
  Result<Ticket> allow();  // UNAVAILABLE / THROTTLED when dropped
  void done(Ticket, bool success);
  double reject_probability();
  std::uint64_t dropped() const noexcept { return dropped_; }

 private:
  AdaptiveSettings s_;
  std::mutex mu_;
  struct Bucket {
    double requests = 0, accepts = 0;
  };
  std::unique_ptr<RollingWindow<Bucket>> window_;
  std::uint64_t dropped_ = 0;
};

}  // namespace svckit::resilience
