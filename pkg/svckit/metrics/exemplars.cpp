#include "svckit/metrics/exemplars.hpp"

#include <bit>
#include <chrono>
#include <cstring>
#include <new>

namespace svckit::metrics::detail {

namespace {

std::uint64_t load_bytes(const std::uint8_t* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

void store_bytes(std::uint8_t* p, std::uint64_t v) noexcept {
  std::memcpy(p, &v, sizeof v);
}

}  // namespace

Exemplars::~Exemplars() {
  delete[] slots_.load(std::memory_order_acquire);
}

ExemplarSlot* Exemplars::slots() noexcept {
  ExemplarSlot* s = slots_.load(std::memory_order_acquire);
  if (s) [[likely]]
    return s;
  auto* fresh = new (std::nothrow) ExemplarSlot[buckets_];
  if (!fresh) return nullptr;
  if (slots_.compare_exchange_strong(s, fresh, std::memory_order_acq_rel)) return fresh;
  delete[] fresh;  // another thread allocated them first
  return s;
}

void Exemplars::record(std::size_t bucket, double value, const std::uint8_t* trace_id,
                       const std::uint8_t* span_id) noexcept {
  if (bucket >= buckets_) return;
  ExemplarSlot* all = slots();
  if (!all) return;
  ExemplarSlot& slot = all[bucket];
  std::uint32_t seq = slot.seq.load(std::memory_order_relaxed);
  // Acquire on the claim keeps the word stores below after it (a reader that sees them sees seq odd).
  if ((seq & 1) || !slot.seq.compare_exchange_strong(seq, seq + 1, std::memory_order_acquire)) return;
  std::int64_t now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  slot.words[0].store(load_bytes(trace_id), std::memory_order_relaxed);
  slot.words[1].store(load_bytes(trace_id + 8), std::memory_order_relaxed);
  slot.words[2].store(load_bytes(span_id), std::memory_order_relaxed);
  slot.words[3].store(std::bit_cast<std::uint64_t>(value), std::memory_order_relaxed);
  slot.words[4].store(static_cast<std::uint64_t>(now > 0 ? now : 1), std::memory_order_relaxed);
  slot.seq.store(seq + 2, std::memory_order_release);
}

bool Exemplars::read(std::size_t bucket, ExemplarData& out) const noexcept {
  if (bucket >= buckets_) return false;
  const ExemplarSlot* all = slots_.load(std::memory_order_acquire);
  if (!all) return false;
  const ExemplarSlot& slot = all[bucket];
  for (int attempt = 0; attempt < 64; ++attempt) {
    std::uint32_t before = slot.seq.load(std::memory_order_acquire);
    if (before & 1) continue;
    std::uint64_t w[5];
    for (int i = 0; i < 5; ++i) w[i] = slot.words[i].load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (slot.seq.load(std::memory_order_relaxed) != before) continue;
    if (w[4] == 0) return false;
    store_bytes(out.trace_id, w[0]);
    store_bytes(out.trace_id + 8, w[1]);
    store_bytes(out.span_id, w[2]);
    out.value = std::bit_cast<double>(w[3]);
    out.time_ns = static_cast<std::int64_t>(w[4]);
    return true;
  }
  return false;
}

}  // namespace svckit::metrics::detail
