#pragma once
// Internal (server): waits for connections to become readable without a syscall per wait.
//
// Asio re-arms a descriptor with epoll_ctl(MOD) on every async_wait, so a keep-alive connection that
// waits for its next request costs one extra syscall per request (3 where nginx makes 2: recv and
// writev). A ReadPoller keeps its own epoll set: each connection is added once, edge-triggered, and the
// set itself is one descriptor in Asio's reactor, re-armed once per batch of ready connections. Like
// nginx, a connection remembers whether the kernel may still hold bytes for it (`ready`): a read that
// comes back short or would block clears it, an edge sets it, and a clear connection waits instead of
// trying a read that would fail. Loop-thread only.
// A standard header first: Asio decides how it allocates handler memory from libstdc++'s config
// macros, and a translation unit that includes Asio before any of them would decide differently from
// the rest (ASan: alloc-dealloc-mismatch in Asio's recycled handler memory).
// clang-format off
#include <coroutine>
#include <cstddef>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
// clang-format on

namespace svckit::http::detail {

class ReadPoller {
 public:
  struct Waiter {
    std::coroutine_handle<> h;  // the coroutine waiting for readability, if any
    bool ready = true;          // an edge arrived since the last read that drained the socket
    bool cancelled = false;     // cancel() ended the wait
    bool eof_pending = false;   // the peer closed or the socket failed: reads must go on until they say so
    bool registered = false;
  };

  explicit ReadPoller(asio::io_context& io);
  ~ReadPoller();
  ReadPoller(const ReadPoller&) = delete;
  ReadPoller& operator=(const ReadPoller&) = delete;

  // Registers fd for read edges; false if the kernel refused (the caller falls back to Asio waits).
  bool add(int fd, Waiter& w);
  void remove(int fd, Waiter& w);
  // Suspends h until fd is readable or cancel(w) is called.
  void wait(Waiter& w, std::coroutine_handle<> h);
  // Ends a pending wait (resumed from the loop, never inline) with w.cancelled set.
  void cancel(Waiter& w);
  // Stops watching; pending Asio completions will not touch this object. Call on the loop thread.
  void close();

 private:
  void arm();
  void poll();

  asio::io_context& io_;
  int epfd_ = -1;
  asio::posix::stream_descriptor desc_;
  bool armed_ = false;
  std::size_t waiting_ = 0;
};

}  // namespace svckit::http::detail
