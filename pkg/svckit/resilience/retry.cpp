#include "svckit/resilience/retry.hpp"

namespace svckit::resilience {

RetryBudget::RetryBudget(double ratio, double min_per_second, std::chrono::seconds window, NowFn now)
    : ratio_(ratio),
      floor_(min_per_second * static_cast<double>(window.count())),
      now_(now ? std::move(now) : NowFn([] { return std::chrono::steady_clock::now(); })),
      window_(window, 10, now_()) {}

void RetryBudget::on_call() {
  std::lock_guard lock(mu_);
  window_.current(now_()).calls += 1;
}

bool RetryBudget::try_spend() {
  std::lock_guard lock(mu_);
  auto& current = window_.current(now_());
  double calls = 0, retries = 0;
  for (auto& b : window_.buckets()) {
    calls += b.calls;
    retries += b.retries;
  }
  if (retries + 1 > ratio_ * calls + floor_) {
    ++exhausted_;
    return false;
  }
  current.retries += 1;
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
