#pragma once
// Where encoded log lines go. Each write() gets one whole line ending in '\n'.
// - StreamSink: stdout/stderr, one write(2) per line.
// - FileSink: appends to a file; reopen() (wired to SIGHUP) lets logrotate move the file away. A line
//   that cannot be written (a full disk) is dropped and counted, never retried or waited for; the
//   count is said in the file when a line can be written again.
// - AsyncSink: wraps another sink behind a bounded double buffer and a writer thread, so the thread
//   that logs (an event loop) never blocks on I/O. When the buffer is full lines are dropped and
//   counted; the count is reported as a log line of its own and through dropped().
//   Nothing buffered is lost when the process ends: every live AsyncSink is flushed at exit()
//   (returning from main included) and when an exception escapes (std::terminate); on a fatal signal
//   (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT) what is buffered is written without locking where the
//   writer thread is not holding it, before the signal's default action.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "svckit/core/status.hpp"

namespace svckit::log {

class Sink {
 public:
  virtual ~Sink() = default;
  virtual void write(std::string_view line) = 0;
  virtual void flush() {}
  // Reopen the destination (files after rotation). OK where it means nothing.
  virtual Status reopen() { return {}; }
  // Lines dropped because the sink could not keep up.
  virtual std::uint64_t dropped() const noexcept { return 0; }
};

class StreamSink final : public Sink {
 public:
  static std::shared_ptr<StreamSink> stdout_sink();
  static std::shared_ptr<StreamSink> stderr_sink();
  explicit StreamSink(int fd) : fd_(fd) {}
  void write(std::string_view line) override;

 private:
  int fd_;
};

class FileSink final : public Sink {
 public:
  static Result<std::shared_ptr<FileSink>> open(std::string path);
  ~FileSink() override;
  void write(std::string_view line) override;
  void flush() override;
  Status reopen() override;
  // Lines that could not be written (ENOSPC, EIO...).
  std::uint64_t dropped() const noexcept override { return lost_.load(std::memory_order_relaxed); }
  const std::string& path() const noexcept { return path_; }

 private:
  explicit FileSink(std::string path) : path_(std::move(path)) {}
  void report_lost(int fd);
  std::string path_;
  std::atomic<int> fd_{-1};
  std::atomic<std::uint64_t> lost_{0};
  std::atomic<std::uint64_t> unreported_{0};
  std::atomic<int> last_errno_{0};
  std::atomic<bool> torn_{false};  // a failed write left part of its line in the file
};

// Writes every line to each of several sinks (stdout and an OTLP exporter, say). flush, reopen and
// dropped cover all of them.
class TeeSink final : public Sink {
 public:
  explicit TeeSink(std::vector<std::shared_ptr<Sink>> sinks) : sinks_(std::move(sinks)) {}
  void write(std::string_view line) override {
    for (auto& s : sinks_) s->write(line);
  }
  void flush() override {
    for (auto& s : sinks_) s->flush();
  }
  Status reopen() override;
  std::uint64_t dropped() const noexcept override {
    std::uint64_t n = 0;
    for (auto& s : sinks_) n += s->dropped();
    return n;
  }

 private:
  std::vector<std::shared_ptr<Sink>> sinks_;
};

// Swallows everything (benchmarks, tests).
class DiscardSink final : public Sink {
 public:
  void write(std::string_view) override {}
};

struct AsyncSinkOptions {
  std::size_t buffer_bytes = 4 << 20;  // split in two halves: one filling, one being written
  std::chrono::milliseconds flush_interval{100};
};

class AsyncSink final : public Sink {
 public:
  explicit AsyncSink(std::shared_ptr<Sink> inner, AsyncSinkOptions options = {});
  ~AsyncSink() override;  // writes what is buffered
  void write(std::string_view line) override;
  // Blocks until everything written so far has reached the inner sink.
  void flush() override;
  Status reopen() override { return inner_->reopen(); }
  // Its own drops (buffer full) and the inner sink's (a full disk under a FileSink).
  std::uint64_t dropped() const noexcept override {
    return dropped_.load(std::memory_order_relaxed) + inner_->dropped();
  }
  // Builds the line that reports n dropped lines (the logger sets one in its own format).
  void set_drop_reporter(std::function<std::string(std::uint64_t)> reporter);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::shared_ptr<Sink> inner_;
  std::atomic<std::uint64_t> dropped_{0};
  friend struct AsyncSinkRegistry;
};

}  // namespace svckit::log
