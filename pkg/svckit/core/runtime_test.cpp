#include "svckit/core/runtime.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <latch>
#include <thread>

using namespace std::chrono_literals;

namespace svckit {
namespace {

Task<int> add(int a, int b) {
  co_return a + b;
}

Task<int> chain(int depth) {
  if (depth == 0) co_return 0;
  co_return 1 + co_await chain(depth - 1);
}

Task<void> throws() {
  throw std::runtime_error("boom");
  co_return;
}

TEST(RuntimeTest, TasksComposeAndPropagateExceptions) {
  Runtime rt({.workers = 2});
  EXPECT_EQ(rt.block_on(add(2, 3)), 5);
  // A deep await chain does not grow the stack without bound: by symmetric transfer in an optimised
  // build, and where that is not a tail call (-O0, the sanitizers) by bouncing through the loop once
  // the stack is half used. The debug preset is -O0.
  constexpr int kDepth = 100000;
  EXPECT_EQ(rt.block_on(chain(kDepth)), kDepth);
  EXPECT_THROW(rt.block_on(throws()), std::runtime_error);
}

TEST(RuntimeTest, TransfersBouncedThroughTheLoopKeepResultsAndExceptions) {
  // As if the stack were always deep: every transfer goes through the loop's queue.
  Runtime rt({.workers = 1});
  auto deep = []() -> Task<int> {
    const char* saved = detail::t_stack_guard;
    detail::t_stack_guard = static_cast<const char*>(__builtin_frame_address(0)) + (1 << 20);
    int sum = co_await chain(500);
    bool thrown = false;
    try {
      co_await throws();
    } catch (const std::runtime_error&) {
      thrown = true;
    }
    detail::t_stack_guard = saved;
    co_return thrown ? sum : -1;
  };
  EXPECT_EQ(rt.block_on(deep()), 500);
}

TEST(RuntimeTest, SleepForElapsesAndStaysOnItsLoop) {
  Runtime rt({.workers = 2});
  auto task = []() -> Task<bool> {
    Loop* before = Loop::current();
    auto start = Clock::now();
    Status st = co_await sleep_for(20ms);
    EXPECT_TRUE(st.ok()) << st.to_string();
    EXPECT_GE(Clock::now() - start, 20ms);
    co_return Loop::current() == before&& before != nullptr;
  };
  EXPECT_TRUE(rt.block_on(task()));
}

TEST(RuntimeTest, CancellingTheContextWakesASleepingCoroutine) {
  Runtime rt({.workers = 1});
  Context ctx = Context().with_cancel();
  std::thread canceller([&] {
    std::this_thread::sleep_for(30ms);
    ctx.cancel();
  });
  auto start = Clock::now();
  Status st = rt.block_on([](Context c) -> Task<Status> { co_return co_await sleep_for(c, 1h); }(ctx));
  canceller.join();
  EXPECT_EQ(st.code(), Code::kCancelled);
  EXPECT_LT(Clock::now() - start, 1h);  // woken, not timed out
}

TEST(RuntimeTest, SleepIsClampedToTheContextDeadline) {
  Runtime rt({.workers = 1});
  Context ctx = Context().with_timeout(30ms);
  Status st = rt.block_on([](Context c) -> Task<Status> { co_return co_await sleep_for(c, 1h); }(ctx));
  EXPECT_EQ(st.code(), Code::kDeadlineExceeded);
}

TEST(RuntimeTest, WithDeadlineCancelsTheChildContext) {
  Runtime rt({.workers = 1});
  auto outer = []() -> Task<std::pair<Status, Status>> {
    Context seen;
    Status st = co_await with_deadline(Context(), 30ms, [&seen](Context child) -> Task<Status> {
      seen = child;
      // A blocking job queued behind nothing, then a long wait: both must end at the deadline.
      co_return co_await sleep_for(child, 1h);
    });
    co_return std::make_pair(st, seen.err());
  };
  auto [st, err] = rt.block_on(outer());
  EXPECT_EQ(st.code(), Code::kDeadlineExceeded);
  EXPECT_EQ(err.code(), Code::kDeadlineExceeded);
}

TEST(RuntimeTest, RunBlockingRunsOffLoopAndResumesOnLoop) {
  Runtime rt({.workers = 1, .blocking_threads = 2});
  auto task = []() -> Task<bool> {
    auto loop_thread = std::this_thread::get_id();
    auto r = co_await run_blocking([] { return std::this_thread::get_id(); });
    EXPECT_TRUE(r.has_value());
    bool off_loop = *r != loop_thread;
    bool back = std::this_thread::get_id() == loop_thread;
    // A Result-returning job is not wrapped twice.
    Result<int> inner = co_await run_blocking([]() -> Result<int> { return make_error(Code::kNotFound, "x"); });
    EXPECT_EQ(inner.error().code(), Code::kNotFound);
    Result<void> v = co_await run_blocking([] {});
    EXPECT_TRUE(v.has_value());
    co_return off_loop&& back;
  };
  EXPECT_TRUE(rt.block_on(task()));
}

TEST(RuntimeTest, RunBlockingRefusesWhenTheQueueIsFull) {
  Runtime rt({.workers = 1, .blocking_threads = 1, .blocking_queue = 1});
  std::latch release(1);
  std::atomic<bool> started{false};
  auto task = [&]() -> Task<Code> {
    // Occupy the only thread, fill the only queue slot, then ask for one more.
    bool ok = rt.blocking_pool().try_submit([&] {
      started = true;
      release.wait();
    });
    EXPECT_TRUE(ok);
    while (!started) co_await sleep_for(1ms);
    EXPECT_TRUE(rt.blocking_pool().try_submit([] {}));
    auto r = co_await run_blocking([] { return 1; });
    release.count_down();
    co_return r ? Code::kOk : r.error().code();
  };
  EXPECT_EQ(rt.block_on(task()), Code::kResourceExhausted);
}

TEST(RuntimeTest, RunBlockingSkipsJobsWhoseContextEnded) {
  Runtime rt({.workers = 1, .blocking_threads = 1});
  std::atomic<bool> ran{false};
  Context ctx = Context().with_cancel();
  ctx.cancel();
  auto r = rt.block_on(
      [&](Context c) -> Task<Result<void>> { co_return co_await run_blocking(c, [&] { ran = true; }); }(ctx));
  EXPECT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kCancelled);
  EXPECT_FALSE(ran);
}

TEST(RuntimeTest, BlockOnFromALoopThreadIsAProgrammerError) {
  Runtime rt({.workers = 1});
  bool threw = rt.block_on([&]() -> Task<bool> {
    try {
      rt.block_on(add(1, 1));
    } catch (const std::logic_error&) {
      co_return true;
    }
    co_return false;
  }());
  EXPECT_TRUE(threw);
}

Task<void> wait_for_shutdown(const Runtime& rt, std::atomic<int>& ended) {
  Status st = co_await sleep_for(rt.shutdown_context(), 1h);
  ended = st.code() == Code::kUnavailable ? 1 : 2;
}

TEST(RuntimeTest, GracefulStopRunsHooksThenCancelsShutdownContext) {
  // Declared before the runtime: coroutines may still touch them while it shuts down.
  std::atomic<bool> hook_done{false};
  std::atomic<bool> ctx_alive_during_hook{false};
  std::atomic<int> worker_ended{0};
  {
    Runtime rt({.workers = 2, .shutdown_timeout = 5s});
    rt.on_stop([&]() -> Task<void> {
      co_await sleep_for(20ms);  // draining takes a while
      ctx_alive_during_hook = !rt.shutdown_context().done();
      hook_done = true;
    });
    // A long-running worker that ends when the shutdown context is cancelled.
    rt.spawn(wait_for_shutdown(rt, worker_ended));
    rt.request_stop();
    rt.request_stop();  // idempotent
    rt.wait();
    EXPECT_TRUE(hook_done);
    EXPECT_TRUE(ctx_alive_during_hook);
    EXPECT_TRUE(rt.shutdown_context().done());
    EXPECT_TRUE(rt.stopping());
  }
  // Woken by the shutdown context, either before the loop stopped or by the final drain.
  EXPECT_EQ(worker_ended.load(), 1);
}

TEST(RuntimeTest, SigtermStartsAGracefulStop) {
  Runtime rt({.workers = 1, .handle_signals = true});
  std::atomic<bool> hook{false};
  std::atomic<int> hups{0};
  rt.on_stop([&]() -> Task<void> {
    hook = true;
    co_return;
  });
  rt.on_signal(SIGHUP, [&] { hups++; });
  std::this_thread::sleep_for(20ms);  // let the loop arm the signal set
  std::raise(SIGHUP);
  for (int i = 0; i < 200 && hups == 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(hups.load(), 1);
  EXPECT_FALSE(rt.stopping());
  std::raise(SIGTERM);
  rt.wait();
  EXPECT_TRUE(hook);
}

// A free function, not a capturing lambda: a spawned coroutine must not refer to a closure that dies.
Task<void> blocking_worker(int i, std::atomic<int>& done) {
  co_await sleep_for(std::chrono::microseconds(i % 7));
  auto r = co_await run_blocking([i] { return i * 2; });
  if (r && *r == i * 2) done++;
}

TEST(RuntimeConcurrencyTest, ManyCoroutinesAcrossLoopsWithBlockingWork) {
  Runtime rt({.workers = 2, .blocking_threads = 2});
  std::atomic<int> done{0};
  constexpr int kTasks = 200;
  auto all = [&]() -> Task<void> {
    for (int i = 0; i < kTasks; ++i) rt.spawn(blocking_worker(i, done));
    while (done.load() < kTasks) co_await sleep_for(1ms);
  };
  rt.block_on(all());
  EXPECT_EQ(done.load(), kTasks);
}

}  // namespace
}  // namespace svckit
