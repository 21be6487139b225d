#include "svckit/resilience/retry.hpp"

namespace svckit::resilience {

RetryBudget::RetryBudget(double ratio, double min_per_second, std::chrono::seconds window, NowFn now)
    : ratio_(ratio),
      floor_(min_per_second * static_cast<double>(window.count())),
      period_(std::chrono::duration_cast<std::chrono::nanoseconds>(window) / 10),
      buckets_(10),
      now_(now ? std::move(now) : NowFn([] { return std::chrono::steady_clock::now(); })) {
  if (period_.count() <= 0) period_ = std::chrono::nanoseconds(1);
  bucket_start_ = now_();
}

void RetryBudget::rotate(TimePoint now) {
  std::size_t steps = 0;
  while (now - bucket_start_ >= period_ && steps <= buckets_.size()) {
    head_ = (head_ + 1) % buckets_.size();
    buckets_[head_] = Bucket{};
    bucket_start_ += period_;
    ++steps;
  }
  if (now - bucket_start_ >= period_) bucket_start_ = now;
}

void RetryBudget::on_call() {
  std::lock_guard lock(mu_);
  rotate(now_());
  buckets_[head_].calls += 1;
}

bool RetryBudget::try_spend() {
  std::lock_guard lock(mu_);
  rotate(now_());
  double calls = 0, retries = 0;
  for (auto& b : buckets_) {
    calls += b.calls;
    retries += b.retries;
  }
  if (retries + 1 > ratio_ * calls + floor_) {
    ++exhausted_;
    return false;
  }
  buckets_[head_].retries += 1;
  return true;
}

namespace detail {

std::chrono::nanoseconds full_jitter(std::chrono::nanoseconds cap) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  if (cap.count() <= 0) return std::chrono::nanoseconds(0);
  return std::chrono::nanoseconds(std::uniform_int_distribution<std::int64_t>(0, cap.count())(rng));
}

void count_retry(std::string_view outcome) {
  static auto& vec = metrics::Registry::global().counter_vec(
      {.name = "svckit_resilience_retries_total", .help = "Retry decisions: retried, budget_exhausted, deadline."},
      {"outcome"});
  vec.with({outcome}).inc();
}

}  // namespace detail
}  // namespace svckit::resilience
