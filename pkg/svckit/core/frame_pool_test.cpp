// Coroutine frames are reused per thread (no malloc per request on the hot path), a frame may end on
// another thread than the one that made it, and large frames bypass the lists.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "svckit/core/task.hpp"

namespace svckit {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kPooled = false;  // the sanitizers see every frame's allocation
#else
constexpr bool kPooled = true;
#endif

TEST(FramePool, AFinishedFrameIsReusedBySameSizedFrames) {
  void* a = detail::frame_alloc(200);
  detail::frame_free(a, 200);
  void* b = detail::frame_alloc(250);  // the same class: both round up to 256 bytes
  if (kPooled) {
    EXPECT_EQ(a, b);
  }
  void* c = detail::frame_alloc(1000);  // another class: not the same block
  EXPECT_NE(b, c);
  detail::frame_free(b, 250);
  detail::frame_free(c, 1000);
  void* big = detail::frame_alloc(64 * 1024);  // beyond the classes: straight to the allocator
  detail::frame_free(big, 64 * 1024);
}

Task<int> add(int a, int b) {
  co_return a + b;
}

TEST(FramePool, FramesMadeOnOneThreadEndOnAnother) {
  std::vector<Task<int>> made;
  for (int i = 0; i < 1000; ++i) made.push_back(add(i, 1));
  std::thread other([&] { made.clear(); });  // destroyed unstarted, on another thread
  other.join();
  for (int i = 0; i < 1000; ++i) made.push_back(add(i, 2));
  made.clear();
}

}  // namespace
}  // namespace svckit
