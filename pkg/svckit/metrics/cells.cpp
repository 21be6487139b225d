#include "svckit/metrics/cells.hpp"

#include <mutex>
#include <new>
#include <stdexcept>
#include <vector>

namespace svckit::metrics::detail {

namespace {

struct Registry {
  std::mutex mu;
  std::vector<ThreadCells*> threads;
  std::vector<double> retired;  // what exited threads left, by cell id
  CellId next = 0;
};

// Leaked on purpose: thread_local destructors of late threads may run after static destruction.
Registry& registry() {
  static Registry* r = new Registry;
  return *r;
}

}  // namespace

ThreadCells::ThreadCells() {
  for (auto& b : blocks) b.store(nullptr, std::memory_order_relaxed);
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  r.threads.push_back(this);
}

ThreadCells::~ThreadCells() {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  for (std::uint32_t b = 0; b < kMaxBlocks; ++b) {
    Block* block = blocks[b].load(std::memory_order_relaxed);
    if (!block) continue;
    for (std::uint32_t i = 0; i < kCellsPerBlock; ++i) {
      std::size_t id = std::size_t{b} * kCellsPerBlock + i;
      double v = std::bit_cast<double>(block->cells[i].load(std::memory_order_relaxed));
      if (v != 0 && id < r.retired.size()) r.retired[id] += v;
    }
    delete block;
  }
  std::erase(r.threads, this);
  if (tls_cells == this) tls_cells = nullptr;
}

Block* ThreadCells::grow(std::uint32_t b) {
  if (b >= kMaxBlocks) throw std::length_error("svckit::metrics: cell space exhausted");
  auto* block = new Block;
  for (auto& c : block->cells) c.store(0, std::memory_order_relaxed);  // 0 is +0.0
  blocks[b].store(block, std::memory_order_release);
  return block;
}

ThreadCells& thread_cells() {
  thread_local ThreadCells cells;
  tls_cells = &cells;
  return cells;
}

CellId allocate(std::uint32_t n) {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  if (std::uint64_t{r.next} + n > std::uint64_t{kCellsPerBlock} * kMaxBlocks)
    throw std::length_error("svckit::metrics: cell space exhausted");
  CellId id = r.next;
  r.next += n;
  r.retired.resize(r.next, 0.0);
  return id;
}

Snapshot::Snapshot() {
  registry().mu.lock();
}
Snapshot::~Snapshot() {
  registry().mu.unlock();
}

double Snapshot::sum(CellId id) const {
  Registry& r = registry();
  double total = id < r.retired.size() ? r.retired[id] : 0.0;
  std::uint32_t b = id / kCellsPerBlock, i = id % kCellsPerBlock;
  for (ThreadCells* t : r.threads) {
    Block* block = t->blocks[b].load(std::memory_order_acquire);
    if (block) total += std::bit_cast<double>(block->cells[i].load(std::memory_order_relaxed));
  }
  return total;
}

}  // namespace svckit::metrics::detail
