#include "svckit/resilience/limiter.hpp"

#include <algorithm>
#include <cmath>

namespace svckit::resilience {

namespace {
NowFn or_steady(NowFn f) {
  return f ? std::move(f) : NowFn([] { return std::chrono::steady_clock::now(); });
}
using Seconds = std::chrono::duration<double>;
}  // namespace

Status rate_limited(std::string_view who, std::chrono::nanoseconds retry_after) {
  auto ms = std::max<std::int64_t>(1, std::chrono::ceil<std::chrono::milliseconds>(retry_after).count());
  return Status(Code::kResourceExhausted, "RATE_LIMITED", std::string(who) + ": rate limit reached")
      .with_metadata("retry_after_ms", std::to_string(ms));
}

TokenBucket::TokenBucket(double rate, double burst, NowFn now)
    : rate_(std::max(rate, 1e-9)), burst_(std::max(burst, 1.0)), tokens_(burst_), now_(or_steady(std::move(now))) {
  last_ = now_();
}

Status TokenBucket::try_acquire() {
  std::lock_guard lock(mu_);
  auto now = now_();
  tokens_ = std::min(burst_, tokens_ + Seconds(now - last_).count() * rate_);
  last_ = now;
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return {};
  }
  return rate_limited("token bucket",
                      std::chrono::duration_cast<std::chrono::nanoseconds>(Seconds((1.0 - tokens_) / rate_)));
}

double TokenBucket::available() {
  std::lock_guard lock(mu_);
  return std::min(burst_, tokens_ + Seconds(now_() - last_).count() * rate_);
}

SlidingWindow::SlidingWindow(std::uint64_t limit, std::chrono::nanoseconds window, std::uint32_t buckets, NowFn now)
    : limit_(limit), now_(or_steady(std::move(now))), window_(window, buckets, now_()) {}

Status SlidingWindow::try_acquire() {
  std::lock_guard lock(mu_);
  auto now = now_();
  auto& current = window_.current(now);
  std::uint64_t used = 0;
  for (auto b : window_.buckets()) used += b;
  if (used >= limit_) return rate_limited("sliding window", window_.until_next(now));  // the oldest leaves next
  ++current;
  return {};
}

// Sentinel's WarmUpController: tokens pile up while the service is idle (cold); above the warning
// line the allowed rate falls along `slope` down to count/cold_factor at max_tokens.
WarmUp::WarmUp(double rate, std::chrono::seconds warmup, double cold_factor, NowFn now)
    : count_(std::max(rate, 1.0)), cold_factor_(std::max(cold_factor, 1.01)), now_(or_steady(std::move(now))) {
  double period = static_cast<double>(std::max<std::int64_t>(warmup.count(), 1));
  warning_tokens_ = period * count_ / (cold_factor_ - 1);
  max_tokens_ = warning_tokens_ + 2 * period * count_ / (1 + cold_factor_);
  slope_ = (cold_factor_ - 1) / count_ / (max_tokens_ - warning_tokens_);
  origin_ = now_() - std::chrono::hours(1);  // as if idle for long: start cold
  stored_ = max_tokens_;
  last_filled_ = 0;
}

void WarmUp::sync(std::int64_t second) {
  if (second != second_) {
    previous_passed_ = second == second_ + 1 ? passed_ : 0;
    passed_ = 0;
    second_ = second;
  }
  if (second <= last_filled_) return;
  double old = stored_, next = old;
  if (old < warning_tokens_ || (old > warning_tokens_ && previous_passed_ < count_ / cold_factor_))
    next = std::min(old + static_cast<double>(second - last_filled_) * count_, max_tokens_);
  stored_ = std::max(next - previous_passed_, 0.0);
  last_filled_ = second;
}

double WarmUp::limit_locked() const {
  if (stored_ >= warning_tokens_) return 1.0 / ((stored_ - warning_tokens_) * slope_ + 1.0 / count_);
  return count_;
}

double WarmUp::current_limit() {
  std::lock_guard lock(mu_);
  sync(std::chrono::duration_cast<std::chrono::seconds>(now_() - origin_).count());
  return limit_locked();
}

Status WarmUp::try_acquire() {
  std::lock_guard lock(mu_);
  auto now = now_();
  sync(std::chrono::duration_cast<std::chrono::seconds>(now - origin_).count());
  if (passed_ + 1 <= limit_locked()) {
    passed_ += 1;
    return {};
  }
  auto into_second = (now - origin_) - std::chrono::duration_cast<std::chrono::seconds>(now - origin_);
  return rate_limited("warm-up limiter", std::chrono::seconds(1) - into_second);
}

Pacer::Pacer(double rate, std::chrono::nanoseconds max_queueing, NowFn now)
    : interval_(std::chrono::duration_cast<std::chrono::nanoseconds>(Seconds(1.0 / std::max(rate, 1e-9)))),
      max_queueing_(max_queueing),
      now_(or_steady(std::move(now))) {}

Result<std::chrono::nanoseconds> Pacer::reserve() {
  std::lock_guard lock(mu_);
  auto now = now_();
  if (next_ <= now) {
    next_ = now + interval_;
    return std::chrono::nanoseconds(0);
  }
  auto wait = next_ - now;
  if (wait > max_queueing_) return std::unexpected(rate_limited("pacer", wait - max_queueing_));
  next_ += interval_;
  return std::chrono::duration_cast<std::chrono::nanoseconds>(wait);
}

Result<Bulkhead::Permit> Bulkhead::try_acquire() {
  std::size_t cur = in_flight_.load(std::memory_order_relaxed);
  do {
    if (cur >= max_)
      return make_error(
          Status(Code::kResourceExhausted, "CONCURRENCY_LIMITED", std::to_string(max_) + " calls already in flight")
              .with_metadata("retry_after_ms", "100"));
  } while (!in_flight_.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel));
  return Permit(this);
}

}  // namespace svckit::resilience
