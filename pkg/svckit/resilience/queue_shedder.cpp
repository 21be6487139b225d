#include "svckit/resilience/queue_shedder.hpp"

#include <algorithm>
#include <stdexcept>

#include "svckit/core/runtime.hpp"

namespace svckit::resilience {

namespace {
// One per loop, written only on that loop's thread; read anywhere (relaxed).
struct alignas(64) State {
  std::atomic<double> p{0};
  std::atomic<std::int64_t> delay_ns{0};
  std::atomic<std::uint64_t> dropped{0};
  double old_delay_s = 0;
  bool burst_allowed = true;
  std::uint64_t rng = 0;
};

double seconds(std::chrono::nanoseconds d) {
  return std::chrono::duration<double>(d).count();
}
}  // namespace

struct QueueShedder::Shared {
  QueueShedderSettings settings;
  std::unique_ptr<State[]> state;
  std::atomic<const Runtime*> runtime{nullptr};  // start()'s: admit() judges only its loops
};

QueueShedder::QueueShedder(QueueShedderSettings settings, std::size_t loops)
    : shared_(std::make_shared<Shared>()), loops_(std::max<std::size_t>(1, loops)) {
  if (settings.target <= std::chrono::nanoseconds::zero() || settings.interval <= std::chrono::nanoseconds::zero())
    throw std::invalid_argument("QueueShedder: target and interval must be positive");
  shared_->settings = settings;
  shared_->state = std::make_unique<State[]>(loops_);
  for (std::size_t i = 0; i < loops_; ++i) shared_->state[i].rng = 0x9E3779B97F4A7C15ULL * (i + 1);
}

const QueueShedderSettings& QueueShedder::settings() const noexcept {
  return shared_->settings;
}

void QueueShedder::update(std::size_t loop, std::chrono::nanoseconds delay) {
  State& st = shared_->state[loop % loops_];
  const auto& s = shared_->settings;
  double q = seconds(std::max(delay, std::chrono::nanoseconds::zero()));
  double target = seconds(s.target);
  double p = st.p.load(std::memory_order_relaxed);
  st.delay_ns.store(delay.count(), std::memory_order_relaxed);
  // RFC 8033's burst allowance, in the time of one update: a loop that was calm (not refusing, its
  // queue under half the target twice in a row) lets one sample above target pass, so that one
  // stall (a long handler, a page-fault storm) is a burst whose backlog is served, not an overload.
  if (p == 0 && q < target / 2 && st.old_delay_s < target / 2) st.burst_allowed = true;
  if (p == 0 && st.burst_allowed && q > target) {
    st.burst_allowed = false;
    st.old_delay_s = q;
    return;
  }
  // RFC 8033 §4.2: proportional to the error, plus the trend. Its auto-tuning (tiny steps while p is
  // tiny) is left out on purpose: a packet queue can afford a slow start, but a request queue at twice
  // its capacity grows by a second per second, and every millisecond of it is latency for what is
  // admitted.
  const double before = p;
  p += s.alpha * (q - target) + s.beta * (q - st.old_delay_s);
  // A queue that drains fast makes the trend term large and negative: at most halve per update, or a
  // loop at twice its capacity swings between refusing everything and nothing.
  p = std::max(p, before / 2);
  // Far above target the trend term alone is too slow to catch up (RFC 8033: over 250 ms, +2 %).
  if (q > 20 * target) p += 0.02;
  // A queue short twice in a row: decay geometrically. RFC 8033 decays by 2 % per update only at an
  // exactly empty queue, which a timer probe never reads; requests, unlike packets, are wanted back
  // within a second of the overload ending.
  if (q < target / 2 && st.old_delay_s < target / 2) p *= 0.8;
  if (p < 1e-3) p = 0;
  st.p.store(std::clamp(p, 0.0, 1.0), std::memory_order_relaxed);
  st.old_delay_s = q;
}

Status QueueShedder::admit(std::size_t loop) {
  State& st = shared_->state[loop % loops_];
  double p = st.p.load(std::memory_order_relaxed);
  if (p <= 0) return Status();
  // RFC 8033 §4.1: no random drop while the queue is short and the probability low; a burst passes.
  if (p < 0.2 && st.old_delay_s < seconds(shared_->settings.target) / 2) return Status();
  // xorshift64*: the loop's own generator (only its thread draws from it).
  st.rng ^= st.rng >> 12;
  st.rng ^= st.rng << 25;
  st.rng ^= st.rng >> 27;
  double u = static_cast<double>((st.rng * 0x2545F4914F6CDD1DULL) >> 11) * 0x1.0p-53;
  if (u >= p) return Status();
  st.dropped.fetch_add(1, std::memory_order_relaxed);
  return Status(Code::kUnavailable, "OVERLOADED", "the server is overloaded; try again shortly")
      .with_metadata("retry_after_ms", "1000");
}

Status QueueShedder::admit() {
  Loop* loop = Loop::current();
  if (!loop || &loop->runtime() != shared_->runtime.load(std::memory_order_relaxed)) return Status();
  return admit(loop->index());
}

double QueueShedder::probability(std::size_t loop) const {
  return shared_->state[loop % loops_].p.load(std::memory_order_relaxed);
}

std::chrono::nanoseconds QueueShedder::delay(std::size_t loop) const {
  return std::chrono::nanoseconds(shared_->state[loop % loops_].delay_ns.load(std::memory_order_relaxed));
}

std::uint64_t QueueShedder::dropped() const {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < loops_; ++i) n += shared_->state[i].dropped.load(std::memory_order_relaxed);
  return n;
}

namespace {
// Sleeps `interval` and feeds how much later than asked it woke: the wait of a ready event in the
// loop's queue.
Task<void> probe(Runtime* rt, std::shared_ptr<QueueShedder> shedder, std::size_t loop) {
  const Context& ctx = rt->shutdown_context();
  const auto interval = shedder->settings().interval;
  while (!ctx.done()) {
    auto asked = std::chrono::steady_clock::now();
    Status st = co_await sleep_for(ctx, interval);
    if (!st.ok()) break;
    shedder->update(loop, std::chrono::steady_clock::now() - asked - interval);
  }
}
}  // namespace

void QueueShedder::start(Runtime& rt) {
  if (rt.size() != loops_) throw std::logic_error("QueueShedder::start: the runtime has a different number of loops");
  shared_->runtime.store(&rt, std::memory_order_relaxed);
  // The probes hold a copy of this shedder's shared state, not `this`.
  auto self = std::make_shared<QueueShedder>(*this);
  for (std::size_t i = 0; i < loops_; ++i) rt.loop(i).spawn(probe(&rt, self, i));
}

}  // namespace svckit::resilience
