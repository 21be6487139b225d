#include "svckit/core/runtime.hpp"

#include <pthread.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "svckit/core/detail/pool_allocator.hpp"

namespace svckit {

namespace {
thread_local Loop* t_current_loop = nullptr;

std::mutex g_handler_mu;
std::function<void(std::exception_ptr)> g_unhandled_handler;

void report_unhandled(std::exception_ptr e) {
  std::function<void(std::exception_ptr)> handler;
  {
    std::lock_guard lock(g_handler_mu);
    handler = g_unhandled_handler;
  }
  if (handler) return handler(e);
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "svckit: unhandled exception in spawned task: %s\n", ex.what());
  } catch (...) {
    std::fprintf(stderr, "svckit: unhandled non-standard exception in spawned task\n");
  }
}

// A fire-and-forget coroutine that owns the spawned Task and frees itself when done.
struct Detached {
  struct promise_type {
    Detached get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { report_unhandled(std::current_exception()); }
  };
};

Detached run_detached(Task<void> task) {
  co_await std::move(task);
}
}  // namespace

void set_unhandled_exception_handler(std::function<void(std::exception_ptr)> handler) {
  std::lock_guard lock(g_handler_mu);
  g_unhandled_handler = std::move(handler);
}

// ---- Loop ----------------------------------------------------------------------------------------

Loop::Loop(Runtime& rt, std::size_t index) : runtime_(&rt), index_(index), io_(std::make_unique<asio::io_context>(1)) {}
Loop::~Loop() = default;

Loop* Loop::current() noexcept {
  return t_current_loop;
}

void Loop::post(std::function<void()> fn) {
  asio::post(*io_, std::move(fn));
}

void Loop::spawn(Task<void> task) {
  // Task is move-only and std::function needs copyable callables: carry the frame as a raw handle.
  auto handle = task.release();
  asio::post(*io_, [handle] { run_detached(Task<void>(handle)); });
}

namespace {
// Half of this thread's stack: see detail::transfer in task.hpp.
const char* half_stack_mark() {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return nullptr;
  void* low = nullptr;
  std::size_t size = 0;
  int rc = pthread_attr_getstack(&attr, &low, &size);
  pthread_attr_destroy(&attr);
  return rc == 0 ? static_cast<const char*>(low) + size / 2 : nullptr;
}
}  // namespace

std::coroutine_handle<> detail::bounce_through_loop(std::coroutine_handle<> h) noexcept {
  asio::post(t_current_loop->io(), [h] { h.resume(); });
  return std::noop_coroutine();
}

void Loop::run() {
  t_current_loop = this;
  detail::t_stack_guard = half_stack_mark();
  for (;;) {
    try {
      io_->run();
      break;
    } catch (...) {
      // A handler threw: report and keep the loop serving.
      report_unhandled(std::current_exception());
    }
  }
  detail::t_stack_guard = nullptr;
  t_current_loop = nullptr;
}

// ---- BlockingPool --------------------------------------------------------------------------------

struct BlockingPool::Impl {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::function<void()>> jobs;
  bool stopping = false;
  std::vector<std::thread> threads;
};

BlockingPool::BlockingPool(std::size_t threads, std::size_t max_queue)
    : impl_(std::make_unique<Impl>()), max_queue_(max_queue) {
  if (threads == 0) threads = 1;
  for (std::size_t i = 0; i < threads; ++i) {
    impl_->threads.emplace_back([this] {
      for (;;) {
        std::function<void()> job;
        {
          std::unique_lock lock(impl_->mu);
          impl_->cv.wait(lock, [&] { return impl_->stopping || !impl_->jobs.empty(); });
          if (impl_->jobs.empty()) return;  // stopping and drained
          job = std::move(impl_->jobs.front());
          impl_->jobs.pop_front();
          queued_.fetch_sub(1, std::memory_order_relaxed);
        }
        job();
      }
    });
  }
}

BlockingPool::~BlockingPool() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  for (auto& t : impl_->threads) t.join();
}

bool BlockingPool::try_submit(std::function<void()> job) {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopping || impl_->jobs.size() >= max_queue_) return false;
    impl_->jobs.push_back(std::move(job));
    queued_.fetch_add(1, std::memory_order_relaxed);
  }
  impl_->cv.notify_one();
  return true;
}

std::size_t BlockingPool::threads() const noexcept {
  return impl_->threads.size();
}

// ---- Runtime -------------------------------------------------------------------------------------

struct Runtime::Impl {
  std::vector<std::unique_ptr<Loop>> loops;
  std::vector<std::thread> threads;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::atomic<std::size_t> next{0};
  RuntimeOptions options;

  std::mutex mu;
  std::condition_variable stopped_cv;
  bool loops_stopped = false;
  std::vector<std::function<Task<void>()>> stop_hooks;
  std::map<int, std::vector<std::function<void()>>> signal_handlers;
  std::unique_ptr<asio::signal_set> signals;
  std::thread stopper;
  int signals_seen = 0;
};

Runtime::Runtime(RuntimeOptions options) : impl_(std::make_unique<Impl>()) {
  std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
  if (options.workers == 0) options.workers = cores;
  if (options.blocking_threads == 0) options.blocking_threads = std::max<std::size_t>(2, cores);
  impl_->options = options;
  blocking_ = std::make_unique<BlockingPool>(options.blocking_threads, options.blocking_queue);
  shutdown_ctx_ = Context().with_cancel();

  for (std::size_t i = 0; i < options.workers; ++i) {
    impl_->loops.emplace_back(new Loop(*this, i));
    impl_->guards.emplace_back(impl_->loops.back()->io().get_executor());
  }
  if (options.handle_signals) {
    impl_->signals = std::make_unique<asio::signal_set>(impl_->loops[0]->io(), SIGINT, SIGTERM, SIGHUP);
    impl_->signals->add(SIGUSR1);
    arm_signals();
  }
  for (auto& loop : impl_->loops) {
    Loop* l = loop.get();
    impl_->threads.emplace_back([l] { l->run(); });
  }
}

Runtime::~Runtime() {
  stopping_.store(true);
  shutdown_ctx_.cancel(Status(Code::kUnavailable, "shutting down"));
  stop_loops();
  if (impl_->stopper.joinable()) impl_->stopper.join();
  for (auto& t : impl_->threads)
    if (t.joinable()) t.join();
  blocking_.reset();  // finish blocking jobs before the loops they post to go away
  for (auto& loop : impl_->loops) {
    // Run what was posted after the loop stopped (woken coroutines, blocking-pool completions) so
    // that no frame is left waiting; they see a loop as they expect.
    t_current_loop = loop.get();
    loop->io().restart();
    loop->io().poll();
    t_current_loop = nullptr;
  }
  impl_->signals.reset();
  impl_->loops.clear();
}

void Runtime::arm_signals() {
  impl_->signals->async_wait([this](const std::error_code& ec, int signo) {
    if (ec) return;
    if (signo == SIGINT || signo == SIGTERM) {
      if (++impl_->signals_seen > 1) std::_Exit(128 + signo);  // second signal: the operator means it
      request_stop();
    }
    std::vector<std::function<void()>> handlers;
    {
      std::lock_guard lock(impl_->mu);
      handlers = impl_->signal_handlers[signo];
    }
    for (auto& h : handlers) h();
    arm_signals();
  });
}

std::size_t Runtime::size() const noexcept {
  return impl_->loops.size();
}
Loop& Runtime::loop(std::size_t i) noexcept {
  return *impl_->loops[i % impl_->loops.size()];
}
Loop& Runtime::next_loop() noexcept {
  return *impl_->loops[impl_->next.fetch_add(1, std::memory_order_relaxed) % impl_->loops.size()];
}

void Runtime::on_stop(std::function<Task<void>()> hook) {
  std::lock_guard lock(impl_->mu);
  impl_->stop_hooks.push_back(std::move(hook));
}

void Runtime::on_signal(int signo, std::function<void()> fn) {
  std::lock_guard lock(impl_->mu);
  impl_->signal_handlers[signo].push_back(std::move(fn));
}

void Runtime::request_stop() {
  if (stopping_.exchange(true)) return;
  std::lock_guard lock(impl_->mu);
  impl_->stopper = std::thread([this] { stop_sequence(); });
}

void Runtime::stop_sequence() {
  std::vector<std::function<Task<void>()>> hooks;
  {
    std::lock_guard lock(impl_->mu);
    hooks = impl_->stop_hooks;
  }
  // Hooks drain concurrently; the whole drain is bounded by shutdown_timeout.
  auto remaining = std::make_shared<std::atomic<std::size_t>>(hooks.size());
  auto done = std::make_shared<std::promise<void>>();
  auto done_future = done->get_future();
  if (hooks.empty()) done->set_value();
  for (auto& hook : hooks) {
    auto run = [](std::function<Task<void>()> h, std::shared_ptr<std::atomic<std::size_t>> left,
                  std::shared_ptr<std::promise<void>> all) -> Task<void> {
      try {
        co_await h();
      } catch (...) {
        report_unhandled(std::current_exception());
      }
      if (left->fetch_sub(1) == 1) all->set_value();
    };
    next_loop().spawn(run(hook, remaining, done));
  }
  done_future.wait_for(impl_->options.shutdown_timeout);
  shutdown_ctx_.cancel(Status(Code::kUnavailable, "shutting down"));
  stop_loops();
}

void Runtime::stop_loops() {
  std::lock_guard lock(impl_->mu);
  if (impl_->loops_stopped) return;
  impl_->loops_stopped = true;
  loops_stopped_.store(true);
  for (auto& g : impl_->guards) g.reset();
  // Wake every waiting coroutine first (shutdown_ctx), then let each loop finish what is queued.
  for (auto& loop : impl_->loops) {
    Loop* l = loop.get();
    l->post([l] {
      if (l->runtime().impl_->signals) l->runtime().impl_->signals->cancel();
      l->io().stop();
    });
  }
  impl_->stopped_cv.notify_all();
}

void Runtime::wait() {
  {
    std::unique_lock lock(impl_->mu);
    impl_->stopped_cv.wait(lock, [&] { return impl_->loops_stopped; });
  }
  for (auto& t : impl_->threads)
    if (t.joinable()) t.join();
}

// ---- awaitables ----------------------------------------------------------------------------------

namespace {
struct SleepState {
  explicit SleepState(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
  CancelRegistration registration;
};
}  // namespace

bool SleepAwaiter::await_ready() {
  if (auto st = ctx.err(); !st.ok()) {
    result = std::move(st);
    return true;
  }
  return duration <= Duration::zero();
}

void SleepAwaiter::await_suspend(std::coroutine_handle<> h) {
  Loop* loop = Loop::current();
  if (!loop) throw std::logic_error("sleep_for awaited outside a svckit loop");
  auto state = std::make_shared<SleepState>(loop->io());
  Duration left = ctx.remaining();
  bool clamped = left < duration;
  state->timer.expires_after(clamped ? left : duration);
  state->timer.async_wait([this, h, state, clamped](const std::error_code& ec) {
    state->registration.reset();
    if (ec) {
      result = ctx.err();
      if (result.ok()) result = Status(Code::kCancelled, "sleep cancelled");
    } else if (clamped) {
      result = Status(Code::kDeadlineExceeded, "deadline exceeded");
    }
    h.resume();
  });
  std::weak_ptr<SleepState> weak = state;
  state->registration = ctx.on_cancel([loop, weak](const Status&) {
    // Cancellation may come from any thread; the timer belongs to its loop.
    loop->post([weak] {
      if (auto s = weak.lock()) s->timer.cancel();
    });
  });
}

namespace detail {

struct DeadlineGuard::State {
  explicit State(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
};

DeadlineGuard::DeadlineGuard(const Context& ctx) {
  auto deadline = ctx.deadline();
  Loop* loop = Loop::current();
  if (!deadline || !loop) return;
  // From the per-thread pools: a client call sets one up and drops it again.
  state_ = std::allocate_shared<State>(PoolAllocator<State>(), loop->io());
  state_->timer.expires_at(*deadline);
  state_->timer.async_wait([ctx](const std::error_code& ec) {
    if (!ec) ctx.cancel(Status(Code::kDeadlineExceeded, "deadline exceeded"));
  });
}

DeadlineGuard::~DeadlineGuard() {
  if (state_) state_->timer.cancel();
}

bool submit_blocking(std::function<void()> job, std::coroutine_handle<> h) {
  Loop* loop = Loop::current();
  if (!loop) throw std::logic_error("run_blocking awaited outside a svckit loop");
  return loop->runtime().blocking_pool().try_submit([job = std::move(job), loop, h] {
    job();
    loop->post([h] { h.resume(); });
  });
}

}  // namespace detail
}  // namespace svckit
