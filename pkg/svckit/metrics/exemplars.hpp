#pragma once
// A histogram series' exemplars: one slot per bucket holding the latest sampled observation that fell
// in it (trace id, span id, value, time), for OpenMetrics. The slots are allocated at the series' first
// exemplar, so series that never see a sampled span cost one pointer.
//
// Unlike the counts (per-thread cells), a slot is shared by every thread: only observations made under
// a sampled span write one, and such a request already pays for its span. A slot is a seqlock: a
// writer that finds it being written by another thread skips (both are "the latest"); a reader retries
// a torn read a few times and otherwise shows no exemplar for that scrape.
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace svckit::metrics::detail {

struct ExemplarSlot {
  std::atomic<std::uint32_t> seq{0};      // odd while a writer fills the words
  std::atomic<std::uint64_t> words[5]{};  // trace id (2), span id, value bits, Unix time in ns (0: empty)
};

struct ExemplarData {
  std::uint8_t trace_id[16];
  std::uint8_t span_id[8];
  double value;
  std::int64_t time_ns;
};

class Exemplars {
 public:
  explicit Exemplars(std::size_t buckets) noexcept : buckets_(buckets) {}
  ~Exemplars();
  Exemplars(const Exemplars&) = delete;
  Exemplars& operator=(const Exemplars&) = delete;

  // Stamped with the wall clock now. Never blocks; drops the exemplar if memory cannot be had.
  void record(std::size_t bucket, double value, const std::uint8_t* trace_id, const std::uint8_t* span_id) noexcept;
  // False when the bucket has no exemplar (or a writer kept it busy through every retry).
  bool read(std::size_t bucket, ExemplarData& out) const noexcept;

 private:
  ExemplarSlot* slots() noexcept;
  std::size_t buckets_;
  std::atomic<ExemplarSlot*> slots_{nullptr};
};

}  // namespace svckit::metrics::detail
