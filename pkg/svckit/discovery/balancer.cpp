#include "svckit/discovery/balancer.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <unordered_map>

namespace svckit::discovery {

namespace {

std::uint64_t fnv1a(std::string_view s, std::uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// Spreads FNV's output over the ring (its low bits are weak for short keys).
std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

std::uint64_t& rng_state() {
  thread_local std::uint64_t s = std::random_device{}() | 1;
  return s;
}
std::uint64_t next_random() {  // xorshift64*: a pick cannot afford a mersenne twister
  std::uint64_t& x = rng_state();
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  return x * 2685821657736338717ull;
}

class RoundRobin final : public Balancer {
 public:
  void update(std::vector<Instance> set) override {
    set_ = std::move(set);
    if (!set_.empty()) next_ = next_random() % set_.size();  // clients do not all start on the first
  }
  const Instance* pick(const PickInfo& info) override {
    if (set_.empty()) return nullptr;
    const Instance* i = &set_[next_++ % set_.size()];
    if (!info.avoid.empty() && i->id == info.avoid && set_.size() > 1) i = &set_[next_++ % set_.size()];
    return i;
  }
  const std::vector<Instance>& instances() const noexcept override { return set_; }

 private:
  std::vector<Instance> set_;
  std::size_t next_ = 0;
};

// nginx's smooth weighted round robin: every pick adds each weight to its instance's current value,
// takes the largest, and takes the total from it. Weights 5,1,1 give a a b a c a a.
class Weighted final : public Balancer {
 public:
  void update(std::vector<Instance> set) override {
    std::unordered_map<std::string, std::int64_t> old;
    for (std::size_t k = 0; k < set_.size(); ++k) old[set_[k].id] = current_[k];
    set_ = std::move(set);
    current_.assign(set_.size(), 0);
    for (std::size_t k = 0; k < set_.size(); ++k)
      if (auto it = old.find(set_[k].id); it != old.end()) current_[k] = it->second;
  }
  const Instance* pick(const PickInfo& info) override {
    const Instance* best = pick_once(nullptr);
    if (best && !info.avoid.empty() && best->id == info.avoid) {
      if (const Instance* other = pick_once(best)) best = other;
    }
    return best;
  }
  const std::vector<Instance>& instances() const noexcept override { return set_; }

 private:
  const Instance* pick_once(const Instance* skip) {
    std::int64_t total = 0;
    std::size_t best = set_.size();
    for (std::size_t k = 0; k < set_.size(); ++k) {
      if (&set_[k] == skip || set_[k].weight == 0) continue;
      current_[k] += set_[k].weight;
      total += set_[k].weight;
      if (best == set_.size() || current_[k] > current_[best]) best = k;
    }
    if (best == set_.size()) return nullptr;
    current_[best] -= total;
    return &set_[best];
  }
  std::vector<Instance> set_;
  std::vector<std::int64_t> current_;
};

// Power of two choices (go-zero's p2c): two random instances, the one with the lower load wins, where
// load = (sqrt(latency EWMA) + 1) x (calls in flight + 1). The latency follows a decay of 10 s
// (w = e^(-elapsed/10 s)) and jumps to a slower sample at once (peak EWMA), so a slowing instance
// sheds load before its average catches up. An instance not picked for a second is picked anyway,
// so a recovered one is seen again.
class P2C final : public Balancer {
 public:
  void update(std::vector<Instance> set) override {
    std::unordered_map<std::string, Stats> old;
    for (std::size_t k = 0; k < set_.size(); ++k) old[set_[k].id] = stats_[k];
    set_ = std::move(set);
    stats_.assign(set_.size(), Stats{});
    auto now = Clock::now();
    for (std::size_t k = 0; k < set_.size(); ++k) {
      stats_[k].picked = now;
      if (auto it = old.find(set_[k].id); it != old.end()) stats_[k] = it->second;
    }
  }
  const Instance* pick(const PickInfo& info) override {
    const std::size_t n = set_.size();
    if (n == 0) return nullptr;
    const auto now = Clock::now();  // once a pick: the clock is most of its cost
    std::size_t chosen = 0;
    if (n > 1) {
      std::uint64_t r = next_random();
      std::size_t a = r % n;
      std::size_t b = (r >> 32) % (n - 1);
      if (b >= a) ++b;
      auto avoided = [&](std::size_t k) { return !info.avoid.empty() && set_[k].id == info.avoid; };
      if (avoided(a)) std::swap(a, b);
      if (avoided(b)) {
        chosen = a;
      } else {
        std::size_t better = load(a) <= load(b) ? a : b;
        std::size_t other = better == a ? b : a;
        chosen = now - stats_[other].picked > kForcePick ? other : better;
      }
    }
    Stats& s = stats_[chosen];
    ++s.in_flight;
    s.picked = now;
    return &set_[chosen];
  }
  void report(std::string_view instance_id, Duration latency, bool ok) override {
    std::size_t k = index_of(instance_id);
    if (k == set_.size()) return;  // the set changed since the pick
    Stats& s = stats_[k];
    if (s.in_flight > 0) --s.in_flight;
    auto now = Clock::now();
    double rtt = static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(latency).count());
    if (!ok) rtt = std::max(rtt, kFailurePenaltyUs);
    double elapsed = std::chrono::duration<double>(now - s.updated).count();
    double w = std::exp(-elapsed / kDecaySeconds);
    s.lag = rtt > s.lag ? rtt : s.lag * w + rtt * (1 - w);
    s.updated = now;
  }
  const std::vector<Instance>& instances() const noexcept override { return set_; }
  std::vector<Load> loads() const override {
    std::vector<Load> out;
    for (std::size_t k = 0; k < set_.size(); ++k)
      out.push_back({set_[k].id, stats_[k].lag / 1000.0, stats_[k].in_flight});
    return out;
  }

 private:
  static constexpr double kDecaySeconds = 10;
  static constexpr double kFailurePenaltyUs = 250000;  // a failed call counts as a 250 ms one
  static constexpr auto kForcePick = std::chrono::seconds(1);
  struct Stats {
    double lag = 0;  // µs, peak EWMA
    std::uint32_t in_flight = 0;
    Clock::time_point updated{};
    Clock::time_point picked{};
  };
  double load(std::size_t k) const { return (std::sqrt(stats_[k].lag) + 1) * (stats_[k].in_flight + 1); }
  std::size_t index_of(std::string_view id) const {
    for (std::size_t k = 0; k < set_.size(); ++k)
      if (set_[k].id == id) return k;
    return set_.size();
  }
  std::vector<Instance> set_;
  std::vector<Stats> stats_;
};

// A ring of 160 virtual nodes per instance (scaled by weight / 100): a key goes to the first node at
// or after its hash. Adding or removing an instance moves only the keys of its own nodes.
class ConsistentHash final : public Balancer {
 public:
  void update(std::vector<Instance> set) override {
    set_ = std::move(set);
    ring_.clear();
    for (std::size_t k = 0; k < set_.size(); ++k) {
      // Capped: a weight from the registry must not make the ring huge.
      std::uint32_t nodes =
          std::clamp<std::uint32_t>(kNodes * std::min<std::uint32_t>(set_[k].weight, 1000) / 100, 1, kNodes * 10);
      if (set_[k].weight == 0) continue;
      std::uint64_t base = fnv1a(set_[k].id);
      for (std::uint32_t v = 0; v < nodes; ++v) ring_.push_back({mix(base + v * 0x9e3779b97f4a7c15ull), k});
    }
    std::sort(ring_.begin(), ring_.end(), [](const Node& a, const Node& b) { return a.hash < b.hash; });
  }
  const Instance* pick(const PickInfo& info) override {
    if (ring_.empty()) return nullptr;
    std::uint64_t h = mix(fnv1a(info.key));
    auto it =
        std::lower_bound(ring_.begin(), ring_.end(), h, [](const Node& n, std::uint64_t v) { return n.hash < v; });
    for (std::size_t step = 0; step < ring_.size(); ++step, ++it) {
      if (it == ring_.end()) it = ring_.begin();
      const Instance* i = &set_[it->index];
      if (info.avoid.empty() || i->id != info.avoid) return i;
    }
    return &set_[ring_.front().index];  // only the avoided instance is left
  }
  const std::vector<Instance>& instances() const noexcept override { return set_; }

 private:
  static constexpr std::uint32_t kNodes = 160;
  struct Node {
    std::uint64_t hash;
    std::size_t index;
  };
  std::vector<Instance> set_;
  std::vector<Node> ring_;
};

}  // namespace

void ServicePolicy::describe(config::Binder<ServicePolicy>& b) {
  b.field("balancer", &ServicePolicy::balancer).doc("round_robin, weighted, p2c or consistent_hash");
  b.field("version", &ServicePolicy::version).doc("only instances of this version; empty: any");
  b.field("zone", &ServicePolicy::zone).doc("prefer instances in this zone; the others only when none is left there");
}

std::unique_ptr<Balancer> make_balancer(Policy policy) {
  switch (policy) {
    case Policy::kRoundRobin:
      return std::make_unique<RoundRobin>();
    case Policy::kWeighted:
      return std::make_unique<Weighted>();
    case Policy::kP2C:
      return std::make_unique<P2C>();
    case Policy::kConsistentHash:
      return std::make_unique<ConsistentHash>();
  }
  return std::make_unique<RoundRobin>();
}

}  // namespace svckit::discovery
