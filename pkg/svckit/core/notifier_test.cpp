#include "svckit/core/notifier.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "svckit/core/runtime.hpp"

using namespace std::chrono_literals;

namespace svckit {
namespace {

// A producer thread hands values to a coroutine one at a time; every one arrives, in order, and the
// coroutine always resumes on the loop it waited on.
TEST(NotifierTest, WakesACoroutineFromAnotherThreadOnItsOwnLoop) {
  Runtime rt({.workers = 2});
  Notifier ready, taken;
  std::atomic<int> slot{0};
  std::atomic<bool> wrong_loop{false};
  constexpr int kValues = 2000;
  std::thread producer([&] {
    for (int i = 1; i <= kValues; ++i) {
      slot = i;
      ready.notify();
      // Wait for the consumer to take it; notify-before-wait must not be lost either way round.
      while (slot.load() != 0) std::this_thread::yield();
    }
  });
  long long sum = rt.block_on([&]() -> Task<long long> {
    Loop* home = Loop::current();
    long long total = 0;
    for (int i = 1; i <= kValues; ++i) {
      co_await ready.wait();
      if (Loop::current() != home) wrong_loop = true;
      total += slot.exchange(0);
    }
    co_return total;
  }());
  producer.join();
  EXPECT_EQ(sum, static_cast<long long>(kValues) * (kValues + 1) / 2);
  EXPECT_FALSE(wrong_loop.load());
}

TEST(NotifierTest, ANotifyBeforeTheWaitLetsItThroughOnceOnly) {
  Runtime rt({.workers = 1});
  Notifier n;
  n.notify();
  n.notify();  // not counted twice
  std::atomic<int> passed{0};
  // Named: a coroutine lambda's captures live in the lambda object, which must outlive the task.
  auto waiter = [&]() -> Task<void> {
    co_await n.wait();
    ++passed;
    co_await n.wait();  // needs a new notify
    ++passed;
  };
  rt.spawn(waiter());
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(passed.load(), 1);
  n.notify();
  for (int i = 0; i < 100 && passed.load() < 2; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(passed.load(), 2);
}

}  // namespace
}  // namespace svckit
