#include "svckit/log/sink.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace svckit::log {

namespace {
// Loops over short writes and EINTR. Returns the errno of a failed write (0: all written) and in
// `wrote` how much went out before it.
int write_all(int fd, const char* p, std::size_t n, std::size_t* wrote = nullptr) {
  std::size_t done = 0;
  while (done < n) {
    ssize_t w = ::write(fd, p + done, n - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (wrote) *wrote = done;
      return errno;
    }
    done += static_cast<std::size_t>(w);
  }
  return 0;
}
}  // namespace

std::shared_ptr<StreamSink> StreamSink::stdout_sink() {
  static auto sink = std::make_shared<StreamSink>(STDOUT_FILENO);
  return sink;
}
std::shared_ptr<StreamSink> StreamSink::stderr_sink() {
  static auto sink = std::make_shared<StreamSink>(STDERR_FILENO);
  return sink;
}

void StreamSink::write(std::string_view line) {
  write_all(fd_, line.data(), line.size());
}

Status TeeSink::reopen() {
  Status first;
  for (auto& s : sinks_)
    if (auto st = s->reopen(); !st.ok() && first.ok()) first = std::move(st);
  return first;
}

Result<std::shared_ptr<FileSink>> FileSink::open(std::string path) {
  std::shared_ptr<FileSink> sink(new FileSink(std::move(path)));
  if (auto st = sink->reopen(); !st.ok()) return make_error(std::move(st));
  return sink;
}

FileSink::~FileSink() {
  int fd = fd_.exchange(-1);
  if (fd >= 0) ::close(fd);
}

void FileSink::write(std::string_view line) {
  // O_APPEND makes each line one atomic append, so concurrent writers do not interleave.
  int fd = fd_.load(std::memory_order_acquire);
  if (fd < 0) return;
  if (unreported_.load(std::memory_order_relaxed) != 0) [[unlikely]]
    report_lost(fd);
  std::size_t wrote = 0;
  if (int err = write_all(fd, line.data(), line.size(), &wrote)) [[unlikely]] {
    // A full disk (ENOSPC) or a failing one: the line is lost, never waited for. It is counted, and
    // said in the file once a line can be written again.
    // An AsyncSink hands over many lines in one write: each is counted.
    auto lines = static_cast<std::uint64_t>(std::count(line.begin(), line.end(), '\n'));
    if (lines == 0) lines = 1;
    lost_.fetch_add(lines, std::memory_order_relaxed);
    unreported_.fetch_add(lines, std::memory_order_relaxed);
    last_errno_.store(err, std::memory_order_relaxed);
    if (wrote > 0) torn_.store(true, std::memory_order_relaxed);
  }
}

void FileSink::report_lost(int fd) {
  std::uint64_t n = unreported_.exchange(0, std::memory_order_relaxed);
  if (n == 0) return;
  // A line cut short by the failure is ended first, so that every line after it parses.
  const bool torn = torn_.load(std::memory_order_relaxed);
  std::string line = torn ? "\n" : "";
  line += R"({"level":"warn","msg":"log lines lost: the log file could not be written","lost":)";
  line += std::to_string(n);
  line += R"(,"error":")";
  line += std::strerror(last_errno_.load(std::memory_order_relaxed));
  line += "\"}\n";
  std::size_t wrote = 0;
  if (write_all(fd, line.data(), line.size(), &wrote) != 0) {
    unreported_.fetch_add(n, std::memory_order_relaxed);  // still full: said next time
    if (wrote > 0) torn_.store(true, std::memory_order_relaxed);
    return;
  }
  if (torn) torn_.store(false, std::memory_order_relaxed);
}

void FileSink::flush() {
  int fd = fd_.load(std::memory_order_acquire);
  if (fd >= 0) ::fdatasync(fd);
}

Status FileSink::reopen() {
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Status(Code::kUnavailable, "open log file " + path_ + ": " + std::strerror(errno));
  int current = fd_.load(std::memory_order_acquire);
  if (current < 0) {
    fd_.store(fd, std::memory_order_release);
    return {};
  }
  // dup2 swaps the file behind the descriptor number atomically: a concurrent write goes to the old
  // or the new file, never to a closed or reused descriptor.
  if (::dup2(fd, current) < 0) {
    int err = errno;
    ::close(fd);
    return Status(Code::kUnavailable, "reopen log file " + path_ + ": " + std::strerror(err));
  }
  ::close(fd);
  return {};
}

// ---- AsyncSink -----------------------------------------------------------------------------------

struct AsyncSink::Impl {
  std::mutex mu;
  std::condition_variable wake;     // the writer thread waits here
  std::condition_variable flushed;  // flush() waits here
  std::vector<char> front;          // filled by loggers
  std::vector<char> back;           // written by the writer thread
  std::size_t half = 0;
  std::uint64_t written_seq = 0;  // bumps each time the writer finishes a buffer
  std::uint64_t requested_seq = 0;
  bool stopping = false;
  std::uint64_t reported_drops = 0;
  std::function<std::string(std::uint64_t)> drop_reporter;
  std::chrono::milliseconds interval;
  std::thread thread;
};

// Every live AsyncSink, so that the ways out of a process can flush them: a sink kept alive by a
// leaked owner (the global metrics registry holds loggers in its collectors) is never destroyed, and
// one that is destroyed may be destroyed after the lines that matter were logged and the process left.
struct AsyncSinkRegistry {
  std::mutex mu;
  std::vector<AsyncSink*> live;
  pid_t pid = ::getpid();  // a forked child has no writer threads to wait for

  static AsyncSinkRegistry& get() {
    static auto* r = new AsyncSinkRegistry;  // leaked: used from atexit and signal handlers
    return *r;
  }
  void add(AsyncSink* s) {
    static std::once_flag once;
    std::call_once(once, install_handlers);
    std::lock_guard lock(mu);
    live.push_back(s);
  }
  void remove(AsyncSink* s) {
    std::lock_guard lock(mu);
    std::erase(live, s);
  }
  static void flush_all() {
    auto& r = get();
    if (::getpid() != r.pid) return;
    std::lock_guard lock(r.mu);
    for (AsyncSink* s : r.live) {
      // A flush waits for the writer thread: never from that thread itself (terminate called there).
      if (s->impl_->thread.get_id() != std::this_thread::get_id()) s->flush();
    }
  }
  // Locks m within about 100 ms without blocking for good: the writer thread holds a sink's lock only
  // for a swap (or while starting up), and nanosleep may be called from a signal handler.
  static bool lock_soon(std::mutex& m) {
    for (int i = 0; i < 100; ++i) {
      if (m.try_lock()) return true;
      timespec pause{0, 1'000'000};
      ::nanosleep(&pause, nullptr);
    }
    return false;
  }
  // Async-signal context: no waiting on the writer thread. Each sink's buffered lines are written
  // straight to its inner sink once its lock is free; a sink whose lock stays taken is skipped.
  static void write_buffered_now() {
    auto& r = get();
    if (!lock_soon(r.mu)) return;
    for (AsyncSink* s : r.live) {
      if (!lock_soon(s->impl_->mu)) continue;
      auto& f = s->impl_->front;
      if (!f.empty()) s->inner_->write(std::string_view(f.data(), f.size()));
      f.clear();
      s->impl_->mu.unlock();
    }
    r.mu.unlock();
  }

  static inline std::terminate_handler previous_terminate = nullptr;
  static constexpr int kFatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
  static inline struct sigaction previous_action[std::size(kFatal)] = {};

  static void on_fatal(int sig) {
    write_buffered_now();
    for (std::size_t i = 0; i < std::size(kFatal); ++i)
      if (kFatal[i] == sig) ::sigaction(sig, &previous_action[i], nullptr);
    ::raise(sig);  // the previous disposition (the default: core dump) now applies
  }

  static void install_handlers() {
    std::atexit(flush_all);
    previous_terminate = std::set_terminate([] {
      flush_all();
      if (previous_terminate) previous_terminate();
      std::abort();
    });
    for (std::size_t i = 0; i < std::size(kFatal); ++i) {
      struct sigaction current {};
      if (::sigaction(kFatal[i], nullptr, &current) != 0) continue;
      // A handler the program installed itself stays in charge.
      if (!(current.sa_flags & SA_SIGINFO) && current.sa_handler != SIG_DFL) continue;
      if ((current.sa_flags & SA_SIGINFO) && current.sa_sigaction != nullptr) continue;
      struct sigaction act {};
      act.sa_handler = on_fatal;
      sigemptyset(&act.sa_mask);
      act.sa_flags = SA_NODEFER;
      ::sigaction(kFatal[i], &act, &previous_action[i]);
    }
  }
};

AsyncSink::AsyncSink(std::shared_ptr<Sink> inner, AsyncSinkOptions options)
    : impl_(std::make_unique<Impl>()), inner_(std::move(inner)) {
  impl_->half = std::max<std::size_t>(options.buffer_bytes / 2, 4096);
  impl_->front.reserve(impl_->half);
  impl_->back.reserve(impl_->half);
  impl_->interval = options.flush_interval;
  impl_->thread = std::thread([this] {
    std::unique_lock lock(impl_->mu);
    for (;;) {
      impl_->wake.wait_for(lock, impl_->interval, [&] {
        return impl_->stopping || impl_->requested_seq > impl_->written_seq || impl_->front.size() >= impl_->half / 2;
      });
      bool stop = impl_->stopping;
      std::uint64_t target = impl_->requested_seq;
      impl_->front.swap(impl_->back);
      std::uint64_t drops = dropped_.load(std::memory_order_relaxed);
      std::uint64_t new_drops = drops - impl_->reported_drops;
      impl_->reported_drops = drops;
      auto reporter = impl_->drop_reporter;
      lock.unlock();
      if (!impl_->back.empty()) inner_->write(std::string_view(impl_->back.data(), impl_->back.size()));
      impl_->back.clear();
      if (new_drops > 0) {
        std::string line = reporter ? reporter(new_drops) : std::string();
        if (line.empty())
          line = "{\"level\":\"warn\",\"msg\":\"log lines dropped: sink buffer full\",\"dropped\":" +
                 std::to_string(new_drops) + "}\n";
        inner_->write(line);
      }
      lock.lock();
      impl_->written_seq = std::max(impl_->written_seq, target);
      impl_->flushed.notify_all();
      if (stop && impl_->front.empty()) break;
    }
  });
  AsyncSinkRegistry::get().add(this);
}

AsyncSink::~AsyncSink() {
  AsyncSinkRegistry::get().remove(this);
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->wake.notify_one();
  impl_->thread.join();
  inner_->flush();
}

void AsyncSink::write(std::string_view line) {
  std::unique_lock lock(impl_->mu);
  auto& f = impl_->front;
  if (f.size() + line.size() > impl_->half) {
    lock.unlock();
    dropped_.fetch_add(1, std::memory_order_relaxed);
    impl_->wake.notify_one();
    return;
  }
  // reserve()d once: insert never reallocates below `half`.
  f.insert(f.end(), line.begin(), line.end());
  bool wake = f.size() >= impl_->half / 2;
  lock.unlock();
  if (wake) impl_->wake.notify_one();
}

void AsyncSink::flush() {
  std::unique_lock lock(impl_->mu);
  std::uint64_t target = ++impl_->requested_seq;
  impl_->wake.notify_one();
  // The first swap that reads our target happens after this call, so it carries every earlier line.
  impl_->flushed.wait(lock, [&] { return impl_->written_seq >= target; });
  lock.unlock();
  inner_->flush();
}

void AsyncSink::set_drop_reporter(std::function<std::string(std::uint64_t)> reporter) {
  std::lock_guard lock(impl_->mu);
  impl_->drop_reporter = std::move(reporter);
}

}  // namespace svckit::log
