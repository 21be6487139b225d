// Per-thread free lists of coroutine frames (declared in task.hpp). Sizes are rounded up to 64 bytes;
// frames up to 2 KiB are kept, at most kKeep per size per thread, so a thread that frees more frames
// than it allocates (a blocking pool finishing tasks the loops made) hands the surplus back to malloc.
// Under ASan and TSan every frame goes to the allocator, so the sanitizers keep seeing each one's life.
#include <cstdint>
#include <new>

#include "svckit/core/task.hpp"

namespace svckit::detail {

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kPool = false;
#else
constexpr bool kPool = true;
#endif

constexpr std::size_t kGrain = 64;
constexpr std::size_t kClasses = 32;  // up to 2 KiB
// Enough for a loop with many requests in flight, each holding several frames and context nodes of
// the same size: with 64 in flight through the gateway, 256 overflowed about twice a request, each
// overflow a free and then a malloc again.
constexpr std::uint32_t kKeep = 1024;

struct FreeFrame {
  FreeFrame* next;
};

// Trivially destructible, so it stays usable while other thread_locals are destroyed at thread exit.
struct Lists {
  FreeFrame* head[kClasses];
  std::uint32_t count[kClasses];
  bool closed;  // the thread is exiting: frames freed from now on go straight back
};
thread_local Lists lists;

struct Drain {
  ~Drain() {
    lists.closed = true;
    for (std::size_t k = 0; k < kClasses; ++k) {
      while (FreeFrame* f = lists.head[k]) {
        lists.head[k] = f->next;
        ::operator delete(f);
      }
      lists.count[k] = 0;
    }
  }
};
thread_local Drain drain;

std::size_t size_class(std::size_t size) noexcept {
  return (size + kGrain - 1) / kGrain - 1;
}

}  // namespace

void* frame_alloc(std::size_t size) {
  if (kPool) {
    std::size_t k = size_class(size);
    if (k < kClasses) {
      if (FreeFrame* f = lists.head[k]) {
        lists.head[k] = f->next;
        --lists.count[k];
        return f;
      }
      (void)&drain;  // registers the thread's clean-up on its first pooled frame
      return ::operator new((k + 1) * kGrain);
    }
  }
  return ::operator new(size);
}

void frame_free(void* frame, std::size_t size) noexcept {
  if (kPool) {
    std::size_t k = size_class(size);
    if (k < kClasses) {
      if (!lists.closed && lists.count[k] < kKeep) {
        auto* f = static_cast<FreeFrame*>(frame);
        f->next = lists.head[k];
        lists.head[k] = f;
        ++lists.count[k];
        return;
      }
      ::operator delete(frame);
      return;
    }
  }
  ::operator delete(frame);
}

}  // namespace svckit::detail
