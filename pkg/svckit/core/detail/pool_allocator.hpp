#pragma once
// Internal: an allocator over the per-thread free lists that coroutine frames use (frame_pool.cpp),
// for the small objects a request makes and drops again (context nodes and cancellation scopes, with
// their shared_ptr control blocks through std::allocate_shared). Memory freed on another thread joins
// that thread's lists, as with malloc.
#include <cstddef>

#include "svckit/core/task.hpp"

namespace svckit::detail {

template <class T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() = default;
  template <class U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}  // NOLINT(google-explicit-constructor): rebinding
  T* allocate(std::size_t n) { return static_cast<T*>(frame_alloc(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { frame_free(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const PoolAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace svckit::detail
