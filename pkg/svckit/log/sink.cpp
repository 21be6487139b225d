#include "svckit/log/sink.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace svckit::log {

namespace {
// Loops over short writes and EINTR; a sink that cannot write has nowhere to report it.
void write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
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
  if (fd >= 0) write_all(fd, line.data(), line.size());
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
}

AsyncSink::~AsyncSink() {
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
