#pragma once
// Per-thread value cells, combined on read (the design of brpc's bvar). A metric's value is a cell id;
// every thread that writes it owns a private copy, so a write is a plain load and store on memory no
// other thread writes: no lock, no atomic read-modify-write, no shared cache line. A scrape sums the
// copies of all live threads plus what exited threads left behind.
#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>

namespace svckit::metrics::detail {

using CellId = std::uint32_t;

inline constexpr std::uint32_t kCellsPerBlock = 512;
inline constexpr std::uint32_t kMaxBlocks = 4096;  // 2M cells in all

struct Block {
  std::atomic<std::uint64_t> cells[kCellsPerBlock];  // zero-initialised on allocation
};

struct ThreadCells {
  std::atomic<Block*> blocks[kMaxBlocks];
  ThreadCells();
  ~ThreadCells();
  Block* grow(std::uint32_t block);
};

ThreadCells& thread_cells();
inline thread_local ThreadCells* tls_cells = nullptr;

inline std::atomic<std::uint64_t>& local_cell(CellId id) {
  ThreadCells* tc = tls_cells;
  if (!tc) [[unlikely]]
    tc = &thread_cells();
  std::uint32_t b = id / kCellsPerBlock;
  Block* block = tc->blocks[b].load(std::memory_order_relaxed);
  if (!block) [[unlikely]]
    block = tc->grow(b);
  return block->cells[id % kCellsPerBlock];
}

// Single writer per cell copy: load + store is enough (readers see either value, never a torn one).
inline void add(CellId id, double v) {
  auto& c = local_cell(id);
  c.store(std::bit_cast<std::uint64_t>(std::bit_cast<double>(c.load(std::memory_order_relaxed)) + v),
          std::memory_order_relaxed);
}

// Allocates `n` consecutive cells (never reused; a removed series' cells stay allocated).
CellId allocate(std::uint32_t n);

// Reads sums over every thread's copies; holds the thread list for its lifetime, so make one per
// scrape, not one per value. Writers never wait for it.
class Snapshot {
 public:
  Snapshot();
  ~Snapshot();
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;
  double sum(CellId id) const;
};

}  // namespace svckit::metrics::detail
