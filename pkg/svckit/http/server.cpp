#include "svckit/http/server.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/ip/tcp.hpp>
#include <asio/socket_base.hpp>
#include <asio/write.hpp>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <exception>
#include <vector>

#include "svckit/core/detail/io_await.hpp"
#include "svckit/http/detail/server_conn.hpp"

namespace svckit::http {

using asio::ip::tcp;

using detail::now_ns;

Server::Server(Runtime& rt, Router& router, ServerOptions options, log::Logger logger)
    : rt_(rt),
      router_(router),
      options_(std::move(options)),
      logger_(std::move(logger)),
      stop_ctx_(Context().with_cancel()),
      counters_(std::make_unique<Counters>()) {}

Server::~Server() {
  if (started_ && !drained_) {
    // Nothing else will end the loops' coroutines; do it now, from this (non-loop) thread.
    rt_.block_on(drain());
  }
}

ServerStats Server::stats() const noexcept {
  auto& c = *counters_;
  return ServerStats{c.accepted.load(),   c.rejected.load(),          c.requests.load(),
                     c.bad.load(),        c.timeouts.load(),          c.exceptions.load(),
                     c.tls_failed.load(), tls_ ? tls_->reloads() : 0, tls_ ? tls_->reload_failures() : 0};
}

Status Server::reload_tls() {
  if (!tls_) return Status(Code::kFailedPrecondition, "the server does not speak TLS");
  return tls_->reload(true);
}

// Certificate rotation (cert-manager, a renewal cron) replaces the files in place: new connections
// take the new pair from the check after the change.
Task<void> Server::tls_watch_loop() {
  while ((co_await sleep_for(stop_ctx_, options_.tls.reload_interval)).ok()) {
    auto check = [t = tls_.get()] { return t->reload(false); };
    static_cast<void>(co_await run_blocking(check));
  }
  loops_running_.fetch_sub(1);
}

namespace {

// Binds the port once without SO_REUSEPORT: that fails while any other socket listens on it (another
// process's SO_REUSEPORT listeners included), which the per-loop SO_REUSEPORT sockets alone would not.
// SO_REUSEADDR lets a restart bind past its predecessor's TIME_WAIT connections.
std::error_code claim_port(const asio::ip::address& address, std::uint16_t port) {
  asio::io_context io;
  tcp::acceptor probe(io);
  std::error_code ec;
  tcp::endpoint ep(address, port);
  probe.open(ep.protocol(), ec);
  if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) probe.bind(ep, ec);
  return ec;
}

constexpr std::string_view kBusy =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 66\r\n"
    "Connection: close\r\nRetry-After: 1\r\n\r\n"
    "{\"code\":\"UNAVAILABLE\",\"message\":\"too many connections, retry later\"}";

// Descriptors beyond the connections: listeners, the log file, database files, outgoing pools.
constexpr rlim_t kFdHeadroom = 256;

}  // namespace

namespace detail {

// A service started with the usual soft limit of 1024 descriptors cannot hold max_connections
// (10,000 by default): accept fails with EMFILE and connections wait unanswered in the kernel's
// queue. The soft limit is raised towards the hard one, as Go's runtime does at start-up.
RaisedLimit raise_fd_limit(std::size_t want) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return {0, 0, false};
  const rlim_t need = static_cast<rlim_t>(want);
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need) return {rl.rlim_cur, rl.rlim_cur, true};
  const rlim_t before = rl.rlim_cur;
  rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? need : std::min(need, rl.rlim_max);
  if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) return {before, before, false};
  return {before, rl.rlim_cur, rl.rlim_cur >= need};
}

}  // namespace detail

Status Server::start() {
  if (started_.exchange(true)) return Status(Code::kFailedPrecondition, "server already started");
  router_.freeze();
  const std::size_t want_fds = options_.max_connections + kFdHeadroom;
  if (auto fds = detail::raise_fd_limit(want_fds); !fds.enough)
    logger_.warn("http: the open-files limit is below max_connections; connections beyond it are refused",
                 {{"limit", static_cast<std::uint64_t>(fds.after)},
                  {"max_connections", options_.max_connections},
                  {"wanted", want_fds}});
  else if (fds.after != fds.before)
    logger_.info("http: open-files limit raised",
                 {{"from", static_cast<std::uint64_t>(fds.before)}, {"to", static_cast<std::uint64_t>(fds.after)}});
  if (options_.tls.enabled() && !tls_) {
    auto made = detail::ServerTlsContext::create(options_.tls, logger_);
    if (!made) {
      started_ = false;
      return made.error();
    }
    tls_ = std::move(*made);
  }
  std::error_code ec;
  auto address = asio::ip::make_address(options_.host, ec);
  if (ec) return Status(Code::kInvalidArgument, "invalid listen host \"" + options_.host + "\": " + ec.message());
  std::uint16_t port = options_.port;
  if (port != 0 && !options_.share_port) {
    if (auto claim = claim_port(address, port)) {
      started_ = false;
      std::string why = claim.message();
      if (claim.value() == EADDRINUSE) why += " (another process listens on it; share_port lets processes share it)";
      return Status(Code::kUnavailable, "listen on " + options_.host + ":" + std::to_string(port) + ": " + why);
    }
  }
  for (std::size_t i = 0; i < rt_.size(); ++i) {
    auto ls = std::make_unique<LoopState>();
    ls->loop = &rt_.loop(i);
    ls->acceptor = std::make_unique<tcp::acceptor>(ls->loop->io());
    ls->poller = std::make_unique<detail::ReadPoller>(ls->loop->io());
    ls->spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    tcp::endpoint ep(address, port);
    auto& a = *ls->acceptor;
    a.open(ep.protocol(), ec);
    if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) {
      int one = 1;
      // One listening socket per loop on the same port: the kernel balances accepted connections.
      if (::setsockopt(a.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        ec = std::error_code(errno, std::system_category());
    }
    if (!ec) a.bind(ep, ec);
    if (!ec) a.listen(options_.backlog, ec);
    if (!ec) a.non_blocking(true, ec);
    if (ec) {
      started_ = false;
      loops_.clear();
      return Status(Code::kUnavailable,
                    "listen on " + options_.host + ":" + std::to_string(port) + ": " + ec.message());
    }
    if (port == 0) port = a.local_endpoint().port();  // the others join the port the first one got
    loops_.push_back(std::move(ls));
  }
  port_ = port;
  for (auto& ls : loops_) {
    loops_running_ += 2;
    ls->loop->spawn(accept_loop(*ls));
    ls->loop->spawn(sweep_loop(*ls));
  }
  if (tls_ && options_.tls.reload_interval.count() > 0) {
    ++loops_running_;
    loops_.front()->loop->spawn(tls_watch_loop());
  }
  if (options_.drain_on_stop) rt_.on_stop([this]() -> Task<void> { co_await drain(); });
  logger_.info(
      "http server listening",
      {{"address", options_.host + ":" + std::to_string(port_)}, {"loops", loops_.size()}, {"tls", tls_ != nullptr}});
  return {};
}

Task<void> Server::accept_loop(LoopState& ls) {
  for (;;) {
    tcp::socket sock(ls.loop->io());
    std::error_code ec = co_await svckit::detail::AcceptAwaiter{*ls.acceptor, sock};
    if (ec) {
      if (ec == asio::error::operation_aborted || !ls.acceptor->is_open() || draining_) break;
      if ((ec.value() == EMFILE || ec.value() == ENFILE) && refuse_without_fd(ls)) continue;
      // Out of descriptors or a transient error: back off instead of spinning, and say so once a second.
      if (std::int64_t now = now_ns(); now - ls.last_accept_warning > 1'000'000'000) {
        ls.last_accept_warning = now;
        logger_.warn("http accept failed", {{"error", ec.message()}, {"refused_since", ls.refused_without_fd}});
        ls.refused_without_fd = 0;
      }
      static_cast<void>(co_await sleep_for(stop_ctx_, std::chrono::milliseconds(10)));
      continue;
    }
    if (draining_) {
      // Accepted as the drain began: served like every other connection of the drain (its answer
      // says Connection: close) rather than closed with a request perhaps already written on it.
      counters_->accepted.fetch_add(1, std::memory_order_relaxed);
      ls.loop->spawn(serve(std::make_unique<Conn>(*this, ls, std::move(sock))));
      break;
    }
    if (active_.load(std::memory_order_relaxed) >= options_.max_connections) {
      counters_->rejected.fetch_add(1, std::memory_order_relaxed);
      sock.non_blocking(true, ec);
      sock.write_some(asio::buffer(kBusy.data(), kBusy.size()), ec);  // best effort, never blocks
      sock.close(ec);
      continue;
    }
    counters_->accepted.fetch_add(1, std::memory_order_relaxed);
    ls.loop->spawn(serve(std::make_unique<Conn>(*this, ls, std::move(sock))));
  }
  loops_running_.fetch_sub(1);
}

// Out of descriptors, the connection at the head of the kernel's queue would wait there unanswered
// (and the accept would fail again at once). The loop's spare descriptor is given up for a moment to
// take it, answer 503 and close it, so that a client beyond the limit hears at once, as one beyond
// max_connections does.
bool Server::refuse_without_fd(LoopState& ls) {
  if (ls.spare_fd < 0) return false;
  ::close(ls.spare_fd);
  int fd = ::accept4(ls.acceptor->native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) {
    static_cast<void>(::send(fd, kBusy.data(), kBusy.size(), MSG_NOSIGNAL | MSG_DONTWAIT));
    ::close(fd);
    counters_->rejected.fetch_add(1, std::memory_order_relaxed);
    ++ls.refused_without_fd;
  }
  ls.spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  return fd >= 0;
}

Task<void> Server::sweep_loop(LoopState& ls) {
  // Timeouts without a timer per read: a coarse sweep cancels what overran its deadline.
  while ((co_await sleep_for(stop_ctx_, std::chrono::milliseconds(200))).ok()) {
    std::int64_t now = now_ns();
    for (Conn* c : ls.conns) {
      if (c->deadline != 0 && now > c->deadline && !c->timed_out) {
        c->timed_out = true;
        counters_->timeouts.fetch_add(1, std::memory_order_relaxed);
        cancel_io(*c);
      }
    }
  }
  ls.poller->close();  // every connection is gone: nothing waits on it any more
  if (ls.spare_fd >= 0) ::close(std::exchange(ls.spare_fd, -1));
  loops_running_.fetch_sub(1);
}

void Server::cancel_io(Conn& c) {
  std::error_code ec;
  c.sock.cancel(ec);
  if (c.poller) c.poller->cancel(c.rw);
}

void Server::close_idle(LoopState& ls, bool all) {
  const std::int64_t now = now_ns();
  const std::int64_t grace_end = idle_grace_end_.load();
  for (Conn* c : ls.conns) {
    if (!all && c->state != Conn::State::kIdle) continue;
    if (!all && now < grace_end) {
      // Still in the grace: a request on its way is served; the sweep closes the connection when
      // the grace ends without one.
      if (c->deadline == 0 || c->deadline > grace_end) c->deadline = grace_end;
      continue;
    }
    if (!c->timed_out) {
      c->timed_out = true;
      cancel_io(*c);
    }
  }
}

// Connections the kernel completed but the loop had not accepted yet: closing the listener would
// reset them, requests already written on them included. They are taken in and served like the
// others in a drain (their first response says Connection: close).
void Server::take_backlog(LoopState& ls) {
  std::error_code ec;
  ls.acceptor->non_blocking(true, ec);
  for (;;) {
    tcp::socket sock(ls.loop->io());
    ls.acceptor->accept(sock, ec);
    if (ec) break;  // would_block: the backlog is empty
    counters_->accepted.fetch_add(1, std::memory_order_relaxed);
    ls.loop->spawn(serve(std::make_unique<Conn>(*this, ls, std::move(sock))));
  }
}

Task<void> Server::drain() {
  if (!started_) co_return;
  // Set before draining_: a connection that sees the drain also sees when its grace ends.
  if (!draining_.load()) idle_grace_end_.store(now_ns() + options_.drain_idle_grace.count());
  if (draining_.exchange(true)) {
    while (!drained_.load()) static_cast<void>(co_await sleep_for(std::chrono::milliseconds(2)));
    co_return;
  }
  auto post_all = [this](bool all) {
    for (auto& ls : loops_) {
      LoopState* p = ls.get();
      p->loop->post([this, p, all] {
        std::error_code ec;
        if (p->acceptor && p->acceptor->is_open()) {
          take_backlog(*p);
          p->acceptor->close(ec);
        }
        close_idle(*p, all);
      });
    }
  };
  post_all(false);
  logger_.info("http server draining", {{"connections", active_.load()}});
  auto deadline = Clock::now() + options_.drain_timeout;
  while (active_.load() > 0 && Clock::now() < deadline) {
    static_cast<void>(co_await sleep_for(std::chrono::milliseconds(5)));
    post_all(false);  // connections that finished a request since are idle now
  }
  if (active_.load() > 0) {
    logger_.warn("http drain timeout: closing busy connections", {{"connections", active_.load()}});
    post_all(true);
    while (active_.load() > 0) static_cast<void>(co_await sleep_for(std::chrono::milliseconds(5)));
  }
  stop_ctx_.cancel();
  while (loops_running_.load() > 0) static_cast<void>(co_await sleep_for(std::chrono::milliseconds(1)));
  drained_ = true;
  logger_.info("http server drained");
}

Task<void> Server::serve(std::unique_ptr<Conn> conn) {
  co_await conn->run();
}

}  // namespace svckit::http
