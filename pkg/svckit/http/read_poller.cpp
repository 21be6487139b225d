#include "svckit/http/detail/read_poller.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <asio/post.hpp>
#include <cerrno>
#include <memory>
#include <utility>

namespace svckit::http::detail {

ReadPoller::ReadPoller(asio::io_context& io) : io_(io), desc_(io) {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) return;
  std::error_code ec;
  desc_.assign(epfd_, ec);  // the descriptor owns the epoll fd from here on
  if (ec) {
    ::close(epfd_);
    epfd_ = -1;
  }
}

ReadPoller::~ReadPoller() {
  close();
}

void ReadPoller::close() {
  if (epfd_ < 0) return;
  std::error_code ec;
  desc_.close(ec);  // cancels the pending wait; its handler sees operation_aborted and returns
  epfd_ = -1;
}

bool ReadPoller::add(int fd, Waiter& w) {
  if (epfd_ < 0) return false;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = &w;
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) return false;
  w.registered = true;
  w.ready = true;
  return true;
}

void ReadPoller::remove(int fd, Waiter& w) {
  if (!w.registered) return;
  w.registered = false;
  if (w.h) {  // not expected (the owner is the waiting coroutine), but never leave a dangling waiter
    w.h = {};
    --waiting_;
  }
  if (epfd_ >= 0) {
    epoll_event ev{};
    ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, &ev);
  }
}

void ReadPoller::wait(Waiter& w, std::coroutine_handle<> h) {
  w.h = h;
  ++waiting_;
  arm();
}

void ReadPoller::cancel(Waiter& w) {
  auto h = std::exchange(w.h, {});
  if (!h) return;
  --waiting_;
  w.cancelled = true;
  // Posted: the caller may be iterating over connections that the resumed coroutine would remove.
  asio::post(io_, [h] { h.resume(); });
}

void ReadPoller::arm() {
  if (armed_ || epfd_ < 0) return;
  armed_ = true;
  desc_.async_wait(asio::posix::stream_descriptor::wait_read, [this](const std::error_code& ec) {
    if (ec) return;  // closed: `this` may already be gone
    armed_ = false;
    poll();
  });
}

void ReadPoller::poll() {
  epoll_event events[64];
  for (;;) {
    int n = ::epoll_wait(epfd_, events, 64, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (int i = 0; i < n; ++i) {
      // A connection appears at most once per batch and only its own coroutine ends it, so the
      // waiters of later events stay valid while earlier ones run.
      auto* w = static_cast<Waiter*>(events[i].data.ptr);
      w->ready = true;
      if (events[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) w->eof_pending = true;
      if (auto h = std::exchange(w->h, {})) {
        --waiting_;
        h.resume();
      }
    }
    if (n < 64) break;
  }
  if (waiting_ > 0) arm();
}

}  // namespace svckit::http::detail
