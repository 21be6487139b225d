#include "svckit/resilience/breaker.hpp"

namespace svckit::resilience {

std::string_view state_name(State s) noexcept {
  switch (s) {
    case State::kClosed:
      return "closed";
    case State::kHalfOpen:
      return "half-open";
    default:
      return "open";
  }
}

namespace {
NowFn or_steady(NowFn f) {
  return f ? std::move(f) : NowFn([] { return std::chrono::steady_clock::now(); });
}
}  // namespace

CircuitBreaker::CircuitBreaker(BreakerSettings s) : s_(std::move(s)) {
  s_.now = or_steady(std::move(s_.now));
  if (s_.max_requests == 0) s_.max_requests = 1;
  if (s_.timeout.count() <= 0) s_.timeout = std::chrono::seconds(60);
  if (!s_.ready_to_trip) s_.ready_to_trip = [](const Counts& c) { return c.consecutive_failures > 5; };
  if (!s_.is_successful) s_.is_successful = [](const Status& st) { return st.ok(); };
  rolling_ = s_.bucket_period.count() > 0 && s_.interval.count() > 0;
  new_generation(s_.now());
}

void CircuitBreaker::new_generation(TimePoint now) {
  ++generation_;
  counts_ = Counts{};
  if (rolling_) {
    auto n = std::max<std::int64_t>(s_.interval / s_.bucket_period, 1);
    window_ = std::make_unique<RollingWindow<Bucket>>(s_.bucket_period * n, static_cast<std::size_t>(n), now);
  }
  switch (state_) {
    case State::kClosed:
      // With a rolling window the counts age out bucket by bucket instead of resetting at once.
      expiry_ = (s_.interval.count() == 0 || rolling_) ? TimePoint{} : now + s_.interval;
      break;
    case State::kOpen:
      expiry_ = now + s_.timeout;
      break;
    case State::kHalfOpen:
      expiry_ = TimePoint{};
      break;
  }
}

Counts CircuitBreaker::windowed() const {
  if (!rolling_ || state_ != State::kClosed) return counts_;
  Counts c = counts_;
  c.requests = c.total_successes = c.total_failures = 0;
  for (auto& b : window_->buckets()) {
    c.requests += b.requests;
    c.total_successes += b.successes;
    c.total_failures += b.failures;
  }
  return c;
}

void CircuitBreaker::set_state(State to, TimePoint now) {
  if (state_ == to) return;
  State from = state_;
  state_ = to;
  new_generation(now);
  if (s_.on_state_change) s_.on_state_change(s_.name, from, to);
}

State CircuitBreaker::current(TimePoint now) {
  switch (state_) {
    case State::kClosed:
      if (expiry_ != TimePoint{} && expiry_ <= now) new_generation(now);
      if (rolling_) window_->rotate(now);
      break;
    case State::kOpen:
      if (expiry_ <= now) set_state(State::kHalfOpen, now);
      break;
    default:
      break;
  }
  return state_;
}

Result<CircuitBreaker::Ticket> CircuitBreaker::allow() {
  std::lock_guard lock(mu_);
  State st = current(s_.now());
  if (st == State::kOpen)
    return make_error(Status(Code::kUnavailable, "CIRCUIT_OPEN", "circuit breaker '" + s_.name + "' is open"));
  if (st == State::kHalfOpen && counts_.requests >= s_.max_requests)
    return make_error(Status(Code::kUnavailable, "TOO_MANY_REQUESTS",
                             "circuit breaker '" + s_.name + "' is half-open and its probes are taken"));
  ++counts_.requests;
  if (rolling_) ++window_->current(s_.now()).requests;
  return Ticket{generation_};
}

void CircuitBreaker::done(Ticket t, const Status& result) {
  std::lock_guard lock(mu_);
  TimePoint now = s_.now();
  current(now);
  if (t.generation != generation_) return;  // from an earlier state: ignore
  if (s_.is_excluded && s_.is_excluded(result)) {
    if (counts_.requests > 0) --counts_.requests;  // as if it never happened: frees a half-open probe
    if (rolling_) {
      auto& b = window_->current(now);
      if (b.requests > 0) --b.requests;
    }
    return;
  }
  if (s_.is_successful(result)) {
    ++counts_.total_successes;
    ++counts_.consecutive_successes;
    counts_.consecutive_failures = 0;
    if (rolling_) ++window_->current(now).successes;
    if (state_ == State::kHalfOpen && counts_.consecutive_successes >= s_.max_requests) set_state(State::kClosed, now);
  } else {
    ++counts_.total_failures;
    ++counts_.consecutive_failures;
    counts_.consecutive_successes = 0;
    if (rolling_) ++window_->current(now).failures;
    if (state_ == State::kHalfOpen)
      set_state(State::kOpen, now);
    else if (state_ == State::kClosed && s_.ready_to_trip(windowed()))
      set_state(State::kOpen, now);
  }
}

State CircuitBreaker::state() {
  std::lock_guard lock(mu_);
  return current(s_.now());
}

Counts CircuitBreaker::counts() {
  std::lock_guard lock(mu_);
  current(s_.now());
  return windowed();
}

// ---- adaptive ----------------------------------------------------------------------------------

AdaptiveBreaker::AdaptiveBreaker(AdaptiveSettings s) : s_(std::move(s)) {
  s_.now = or_steady(std::move(s_.now));
  if (!s_.random)
    s_.random = [] {
      thread_local std::mt19937_64 rng{std::random_device{}()};
      return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    };
  window_ = std::make_unique<RollingWindow<Bucket>>(s_.window, s_.buckets, s_.now());
}

double AdaptiveBreaker::reject_probability() {
  std::lock_guard lock(mu_);
  window_->rotate(s_.now());
  double requests = 0, accepts = 0;
  for (auto& b : window_->buckets()) {
    requests += b.requests;
    accepts += b.accepts;
  }
  if (requests < s_.min_requests) return 0;
  return std::max(0.0, (requests - s_.k * accepts) / (requests + 1));
}

Result<AdaptiveBreaker::Ticket> AdaptiveBreaker::allow() {
  double p = reject_probability();
  if (p > 0 && s_.random() < p) {
    std::lock_guard lock(mu_);
    ++dropped_;  // not a request: counting it would feed the rejection rate with itself
    return make_error(Status(Code::kUnavailable, "THROTTLED",
                             "adaptive breaker '" + s_.name + "' dropped the call (" +
                                 std::to_string(static_cast<int>(p * 100)) + "% of calls are being dropped)"));
  }
  return Ticket{};
}

void AdaptiveBreaker::done(Ticket, bool success) {
  std::lock_guard lock(mu_);
  auto& b = window_->current(s_.now());
  b.requests += 1;
  if (success) b.accepts += 1;
}

}  // namespace svckit::resilience
