#include "svckit/http/server.hpp"

#include <sys/socket.h>

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
#include "svckit/http/detail/read_poller.hpp"

namespace svckit::http {

using asio::ip::tcp;

namespace {

std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// "Date: Thu, 26 Nov 2026 18:43:01 GMT\r\n", rebuilt once a second per thread.
std::string_view date_header() {
  thread_local std::time_t cached = 0;
  thread_local char buf[64];
  thread_local std::size_t len = 0;
  std::time_t now = std::time(nullptr);
  if (now != cached) {
    cached = now;
    std::tm tm{};
    gmtime_r(&now, &tm);
    len = std::strftime(buf, sizeof buf, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
  }
  return {buf, len};
}

void append_uint(std::string& out, std::uint64_t v) {
  char tmp[24];
  auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
  out.append(tmp, static_cast<std::size_t>(r.ptr - tmp));
}

// Prebuilt "HTTP/1.1 200 OK\r\n" lines for the common statuses.
std::string_view status_line(int status, std::string& scratch) {
  switch (status) {
    case 200:
      return "HTTP/1.1 200 OK\r\n";
    case 201:
      return "HTTP/1.1 201 Created\r\n";
    case 204:
      return "HTTP/1.1 204 No Content\r\n";
    case 304:
      return "HTTP/1.1 304 Not Modified\r\n";
    case 400:
      return "HTTP/1.1 400 Bad Request\r\n";
    case 404:
      return "HTTP/1.1 404 Not Found\r\n";
    default:
      break;
  }
  scratch = "HTTP/1.1 ";
  append_uint(scratch, static_cast<std::uint64_t>(status));
  scratch += ' ';
  scratch += reason_phrase(status);
  scratch += "\r\n";
  return scratch;
}

// ---- awaitables over Asio's callback API -------------------------------------------------------

struct ReadAwaiter {
  tcp::socket& sock;
  detail::ReadPoller* poller;  // null: Asio waits (the poller could not take the connection)
  detail::ReadPoller::Waiter& w;
  char* data;
  std::size_t size;
  bool speculate;  // Asio waits only: the poller's `ready` flag knows better
  std::error_code ec;
  std::size_t got = 0;
  bool done = false;

  // One read; false when it would block. A short read means the kernel had no more for us: wait for
  // the next edge instead of trying again (unless the peer's FIN is pending: that read must happen).
  bool read() {
    got = sock.read_some(asio::buffer(data, size), ec);
    if (ec == asio::error::would_block) {
      w.ready = false;
      return false;
    }
    if (!ec && got < size && !w.eof_pending) w.ready = false;
    return true;
  }
  bool await_ready() {
    if (poller) return w.ready && (done = read());
    // Speculative read: with pipelining and large bodies the bytes are often already there. Right
    // after we answered, a keep-alive client cannot have sent more yet: skip the wasted syscall.
    if (!speculate) return false;
    got = sock.read_some(asio::buffer(data, size), ec);
    return ec != asio::error::would_block;
  }
  void await_suspend(std::coroutine_handle<> h) {
    if (poller) {
      poller->wait(w, h);
      return;
    }
    sock.async_wait(tcp::socket::wait_read, [this, h](const std::error_code& e) {
      ec = e;
      h.resume();
    });
  }
  // {error, bytes}; bytes == kRetry when readiness was spurious (nothing to read after all).
  static constexpr std::size_t kRetry = std::size_t(-1);
  std::pair<std::error_code, std::size_t> await_resume() {
    if (poller) {
      if (done) return {ec, got};
      if (std::exchange(w.cancelled, false)) return {asio::error::operation_aborted, 0};
      if (!read()) return {std::error_code(), kRetry};
      return {ec, got};
    }
    if (!ec && got == 0) {
      got = sock.read_some(asio::buffer(data, size), ec);
      if (ec == asio::error::would_block) return {std::error_code(), kRetry};
    }
    return {ec, got};
  }
};

// Watches a connection while an async handler runs: readable with nothing to read means the client
// closed it. Asio may report stale readiness at once, so an empty peek re-arms the wait.
struct DisconnectWatch {
  DisconnectWatch(tcp::socket& s, Context c) : sock(s), ctx(std::move(c)) {}
  tcp::socket& sock;
  Context ctx;
  bool watching = true;
  void arm(std::shared_ptr<DisconnectWatch> self) {
    sock.async_wait(tcp::socket::wait_read, [self](const std::error_code& e) {
      if (e || !self->watching) return;
      char probe;
      ssize_t n = ::recv(self->sock.native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        self->ctx.cancel(Status(Code::kCancelled, "CLIENT_CLOSED", "client closed the connection"));
      } else if (n < 0) {
        self->arm(self);  // stale readiness: wait for the real edge
      }
      // n > 0: the next pipelined request arrived; it is read after this one is answered.
    });
  }
};

}  // namespace

struct Server::Counters {
  std::atomic<std::uint64_t> accepted{0}, rejected{0}, requests{0}, bad{0}, timeouts{0}, exceptions{0};
};

struct Server::LoopState {
  Loop* loop = nullptr;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<detail::ReadPoller> poller;  // every connection of this loop, for read waits
  std::vector<Conn*> conns;
};

struct Server::Conn {
  enum class State : std::uint8_t { kIdle, kHead, kBody, kHandling, kWriting };
  explicit Conn(tcp::socket s) : sock(std::move(s)) {}
  tcp::socket sock;
  LoopState* ls = nullptr;
  std::size_t slot = 0;  // index in ls->conns
  State state = State::kIdle;
  std::int64_t deadline = 0;  // steady ns; 0: none
  bool timed_out = false;
  std::string remote;
  detail::ReadPoller* poller = nullptr;  // set when the loop's poller took the connection
  detail::ReadPoller::Waiter rw;
  std::unique_ptr<char[]> in;
  std::size_t cap = 0, start = 0, end = 0;
  RequestHead head;
  Request req;
  Response res;
  std::string out;
  std::string chunked_body;
  std::string scratch;
};

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
  return ServerStats{c.accepted.load(), c.rejected.load(), c.requests.load(),
                     c.bad.load(),      c.timeouts.load(), c.exceptions.load()};
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

}  // namespace

Status Server::start() {
  if (started_.exchange(true)) return Status(Code::kFailedPrecondition, "server already started");
  router_.freeze();
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
  if (options_.drain_on_stop) rt_.on_stop([this]() -> Task<void> { co_await drain(); });
  logger_.info("http server listening",
               {{"address", options_.host + ":" + std::to_string(port_)}, {"loops", loops_.size()}});
  return {};
}

Task<void> Server::accept_loop(LoopState& ls) {
  for (;;) {
    tcp::socket sock(ls.loop->io());
    std::error_code ec = co_await svckit::detail::AcceptAwaiter{*ls.acceptor, sock};
    if (ec) {
      if (ec == asio::error::operation_aborted || !ls.acceptor->is_open() || draining_) break;
      // Out of descriptors or a transient error: back off instead of spinning.
      logger_.warn("http accept failed", {{"error", ec.message()}});
      static_cast<void>(co_await sleep_for(stop_ctx_, std::chrono::milliseconds(10)));
      continue;
    }
    if (draining_) break;
    if (active_.load(std::memory_order_relaxed) >= options_.max_connections) {
      counters_->rejected.fetch_add(1, std::memory_order_relaxed);
      static constexpr std::string_view kBusy =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 66\r\n"
          "Connection: close\r\nRetry-After: 1\r\n\r\n"
          "{\"code\":\"UNAVAILABLE\",\"message\":\"too many connections, retry later\"}";
      sock.non_blocking(true, ec);
      sock.write_some(asio::buffer(kBusy.data(), kBusy.size()), ec);  // best effort, never blocks
      sock.close(ec);
      continue;
    }
    counters_->accepted.fetch_add(1, std::memory_order_relaxed);
    auto conn = std::make_unique<Conn>(std::move(sock));
    conn->ls = &ls;
    ls.loop->spawn(serve(std::move(conn)));
  }
  loops_running_.fetch_sub(1);
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
  loops_running_.fetch_sub(1);
}

void Server::cancel_io(Conn& c) {
  std::error_code ec;
  c.sock.cancel(ec);
  if (c.poller) c.poller->cancel(c.rw);
}

void Server::close_idle(LoopState& ls, bool all) {
  for (Conn* c : ls.conns) {
    if (all || c->state == Conn::State::kIdle) {
      c->timed_out = true;
      cancel_io(*c);
    }
  }
}

Task<void> Server::drain() {
  if (!started_) co_return;
  if (draining_.exchange(true)) {
    while (!drained_.load()) static_cast<void>(co_await sleep_for(std::chrono::milliseconds(2)));
    co_return;
  }
  auto post_all = [this](bool all) {
    for (auto& ls : loops_) {
      LoopState* p = ls.get();
      p->loop->post([this, p, all] {
        std::error_code ec;
        if (p->acceptor) p->acceptor->close(ec);
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
  Conn& c = *conn;
  LoopState& ls = *c.ls;
  active_.fetch_add(1, std::memory_order_relaxed);
  c.slot = ls.conns.size();
  ls.conns.push_back(&c);
  std::error_code ec;
  c.sock.non_blocking(true, ec);
  c.sock.set_option(tcp::no_delay(true), ec);
  if (ls.poller->add(c.sock.native_handle(), c.rw)) c.poller = ls.poller.get();
  auto remote = c.sock.remote_endpoint(ec);
  if (!ec) c.remote = remote.address().to_string();
  c.req.set_remote_address(c.remote);
  c.cap = 16 * 1024;
  c.in.reset(new char[c.cap]);
  const ParserLimits& limits = options_.limits;

  bool just_flushed = false;
  // Writes c.out (and an optional large body) completely, or fails.
  auto flush = [&](std::string_view extra) -> Task<bool> {
    std::size_t off = 0, extra_off = 0;
    c.state = Conn::State::kWriting;
    c.deadline = now_ns() + options_.write_timeout.count();
    while (off < c.out.size() || extra_off < extra.size()) {
      std::array<asio::const_buffer, 2> bufs{asio::buffer(c.out.data() + off, c.out.size() - off),
                                             asio::buffer(extra.data() + extra_off, extra.size() - extra_off)};
      std::size_t n = c.sock.write_some(bufs, ec);  // writev
      if (ec == asio::error::would_block) {
        ec = co_await svckit::detail::WaitAwaiter{c.sock, tcp::socket::wait_write};
        if (ec) co_return false;
        continue;
      }
      if (ec) co_return false;
      std::size_t from_out = std::min(n, c.out.size() - off);
      off += from_out;
      extra_off += n - from_out;
    }
    c.out.clear();
    c.deadline = 0;
    just_flushed = true;
    co_return true;
  };

  // A response the parser or a limit decided on; the connection closes after it.
  auto refuse = [&](int status, std::string_view why) -> Task<void> {
    counters_->bad.fetch_add(1, std::memory_order_relaxed);
    c.res.reset();
    c.res.error(Status::from_http(status, std::string(why)));
    c.out += status_line(c.res.status, c.scratch);
    c.out += date_header();
    c.out += "Content-Type: application/json\r\nConnection: close\r\nContent-Length: ";
    append_uint(c.out, c.res.body.size());
    c.out += "\r\n\r\n";
    c.out += c.res.body;
    co_await flush({});
  };

  // Makes room after `end` for at least `want` more bytes. Moving or growing the buffer invalidates
  // views into it: the caller re-parses the head afterwards when it had one.
  auto make_room = [&](std::size_t want, std::size_t max_total) -> bool {
    if (c.cap - c.end >= want) return true;
    if (c.start > 0) {
      std::memmove(c.in.get(), c.in.get() + c.start, c.end - c.start);
      c.end -= c.start;
      c.start = 0;
      if (c.cap - c.end >= want) return true;
    }
    std::size_t need = c.end + want;
    if (need > max_total) need = max_total;
    if (need <= c.cap) return c.cap > c.end;
    std::size_t cap = c.cap;
    while (cap < need) cap *= 2;
    std::unique_ptr<char[]> bigger(new char[cap]);
    std::memcpy(bigger.get(), c.in.get(), c.end);
    c.in = std::move(bigger);
    c.cap = cap;
    return true;
  };

  // Reads once into the buffer: >0 bytes read, 0 on EOF or error (timed_out tells which).
  auto read_more = [&]() -> Task<std::size_t> {
    bool speculate = !just_flushed;
    just_flushed = false;
    for (;;) {
      auto [err, n] = co_await ReadAwaiter{c.sock, c.poller, c.rw, c.in.get() + c.end, c.cap - c.end, speculate, {}};
      speculate = false;
      if (n == ReadAwaiter::kRetry) continue;  // spurious wake-up
      if (err || n == 0) co_return 0;
      c.end += n;
      co_return n;
    }
  };

  const std::size_t max_head = limits.max_header_bytes + 4 * 1024;  // room for what the limits refuse
  bool keep_going = true;
  while (keep_going) {
    // ---------------- head ----------------
    std::size_t consumed = 0, scanned = 0;
    ParseError perr;
    bool head_started = c.start != c.end;
    c.state = head_started ? Conn::State::kHead : Conn::State::kIdle;
    c.deadline = now_ns() + (head_started ? options_.header_timeout : options_.idle_timeout).count();
    bool have_head = false;
    for (;;) {
      if (c.start != c.end) {
        if (!head_started) {
          head_started = true;
          c.state = Conn::State::kHead;
          c.deadline = now_ns() + options_.header_timeout.count();
        }
        ParseResult pr =
            parse_request_head(c.in.get() + c.start, c.end - c.start, limits, c.head, consumed, scanned, perr);
        if (pr == ParseResult::kComplete) {
          have_head = true;
          break;
        }
        if (pr == ParseResult::kError) {
          co_await refuse(perr.status, perr.reason);
          break;
        }
      }
      if (draining_ && !head_started) break;
      if (!c.out.empty() && !co_await flush({})) break;
      if (c.state == Conn::State::kWriting) {
        c.state = head_started ? Conn::State::kHead : Conn::State::kIdle;
        c.deadline = now_ns() + (head_started ? options_.header_timeout : options_.idle_timeout).count();
      }
      if (!make_room(4096, max_head)) {
        co_await refuse(431, "request header block too large");
        break;
      }
      if (co_await read_more() == 0) {
        if (c.timed_out && head_started && !draining_) co_await refuse(408, "request head not received in time");
        break;
      }
    }
    if (!have_head) break;

    // ---------------- route ----------------
    c.req.reset();
    c.res.reset();
    c.req.set_head(&c.head);
    c.req.ctx = Context();
    Router::Match match = router_.find(c.head.method, c.head.path, c.req);
    std::uint64_t body_limit = match.route && match.route->max_body ? match.route->max_body
                               : router_.default_body_limit()       ? router_.default_body_limit()
                                                                    : limits.max_body;

    // ---------------- body ----------------
    std::size_t body_start = c.start + consumed;
    std::size_t next_start = body_start;
    bool body_ok = true;
    auto reparse_head = [&] {
      // The buffer moved: refresh every view (head fields, route params) into it.
      std::size_t again = 0, sc = 0;
      ParseError e;
      parse_request_head(c.in.get() + c.start, c.end - c.start, limits, c.head, again, sc, e);
      router_.find(c.head.method, c.head.path, c.req);
      body_start = c.start + consumed;
    };
    auto send_continue = [&]() -> Task<bool> {
      c.out += "HTTP/1.1 100 Continue\r\n\r\n";
      co_return co_await flush({});
    };
    if (c.head.has_content_length && c.head.content_length > 0) {
      if (c.head.content_length > body_limit) {
        co_await refuse(413, "request body too large");
        break;
      }
      std::size_t len = static_cast<std::size_t>(c.head.content_length);
      if (c.end - body_start < len) {
        if (c.head.expect_continue && !co_await send_continue()) break;
        c.state = Conn::State::kBody;
        c.deadline = now_ns() + options_.body_timeout.count();
        std::size_t before_cap = c.cap;
        const char* before_ptr = c.in.get();
        std::size_t before_start = c.start;
        make_room(len - (c.end - body_start), consumed + len + (c.cap - c.end));
        if (c.cap != before_cap || c.in.get() != before_ptr || c.start != before_start) reparse_head();
        while (c.end - body_start < len) {
          if (co_await read_more() == 0) {
            if (c.timed_out && !draining_) co_await refuse(408, "request body not received in time");
            body_ok = false;
            break;
          }
        }
        if (!body_ok) break;
      }
      c.req.set_body(std::string_view(c.in.get() + body_start, len));
      next_start = body_start + len;
    } else if (c.head.chunked) {
      if (c.head.expect_continue && !co_await send_continue()) break;
      ChunkedDecoder decoder(body_limit);
      c.chunked_body.clear();
      std::size_t pos = body_start;
      c.state = Conn::State::kBody;
      c.deadline = now_ns() + options_.body_timeout.count();
      for (;;) {
        std::size_t used = 0;
        ParseResult r = decoder.feed(c.in.get() + pos, c.end - pos, c.chunked_body, used, perr);
        if (r == ParseResult::kComplete) {
          next_start = pos + used;
          break;
        }
        if (r == ParseResult::kError) {
          co_await refuse(perr.status, perr.reason);
          body_ok = false;
          break;
        }
        // Everything after the head was decoded: reuse that space for the next bytes.
        c.end = body_start;
        pos = body_start;
        if (c.cap - c.end < 4096) {
          const char* before = c.in.get();
          std::size_t before_start = c.start;
          make_room(4096, c.cap * 2);
          if (c.in.get() != before || c.start != before_start) {
            reparse_head();
            pos = body_start;
          }
        }
        if (co_await read_more() == 0) {
          if (c.timed_out && !draining_) co_await refuse(408, "request body not received in time");
          body_ok = false;
          break;
        }
      }
      if (!body_ok) break;
      c.req.set_body(c.chunked_body);
    }

    // ---------------- handle ----------------
    c.state = Conn::State::kHandling;
    c.deadline = 0;
    counters_->requests.fetch_add(1, std::memory_order_relaxed);
    try {
      if (match.status == 200) {
        const Chain& chain = match.route->chain;
        if (chain.is_sync()) {
          chain.sync(c.req, c.res);
        } else {
          // An async handler may wait a long time: if the client goes away meanwhile, cancel its
          // Context so that its downstream calls and waits stop too.
          // Most handlers finish without waiting: the watch is armed only for those that suspend.
          c.req.ctx = Context().with_cancel();
          Task<void> run = chain.run(c.req, c.res);
          if (!run.start_inline()) {
            auto watch = std::make_shared<DisconnectWatch>(c.sock, c.req.ctx);
            watch->arm(watch);
            co_await std::move(run).join();
            watch->watching = false;  // a completion still queued must not touch the socket again
            c.sock.cancel(ec);        // drop the pending wait (nothing else is pending now)
          } else {
            co_await std::move(run).join();  // finished: rethrows the handler's exception, if any
          }
          if (c.req.ctx.err().reason() == "CLIENT_CLOSED") c.res.close = true;
        }
      } else {
        if (match.status == 405) {
          c.res.error(Status(Code::kUnimplemented, "METHOD_NOT_ALLOWED",
                             std::string(c.head.method_text) + " is not allowed on " + std::string(c.head.path))
                          .with_http_status(405));
          c.res.set_header("Allow", match.allow);
        } else if (match.status == 404) {
          c.res.error(Status(Code::kNotFound, "ROUTE_NOT_FOUND", "no route for " + std::string(c.head.path)));
        } else {
          c.res.status = match.status;
          c.res.set_header("Location", match.redirect);
        }
        co_await router_.fallback_chain().run(c.req, c.res);
      }
    } catch (const std::exception& e) {
      counters_->exceptions.fetch_add(1, std::memory_order_relaxed);
      logger_.error(c.req.ctx, "http handler threw",
                    {{"error", e.what()}, {"method", c.head.method_text}, {"route", c.req.route()}});
      c.res.reset();
      c.res.error(Status(Code::kInternal, "internal error"));
    } catch (...) {
      counters_->exceptions.fetch_add(1, std::memory_order_relaxed);
      logger_.error(c.req.ctx, "http handler threw a non-standard exception", {{"route", c.req.route()}});
      c.res.reset();
      c.res.error(Status(Code::kInternal, "internal error"));
    }

    // ---------------- respond ----------------
    Response& res = c.res;
    bool keep = c.head.keep_alive && !res.close && !draining_;
    bool head_only = c.head.method == Method::kHead;
    bool no_body = head_only || res.status == 204 || res.status == 304 || res.status < 200;
    c.out += status_line(res.status, c.scratch);
    c.out += date_header();
    if (!options_.server_name.empty()) {
      c.out += "Server: ";
      c.out += options_.server_name;
      c.out += "\r\n";
    }
    for (auto& [k, v] : res.headers()) {
      c.out += k;
      c.out += ": ";
      c.out += v;
      c.out += "\r\n";
    }
    if (res.status != 204 && res.status != 304 && res.status >= 200) {
      c.out += "Content-Length: ";
      append_uint(c.out, res.body.size());
      c.out += "\r\n";
    }
    if (!keep)
      c.out += "Connection: close\r\n";
    else if (c.head.version_minor == 0)
      c.out += "Connection: keep-alive\r\n";
    c.out += "\r\n";
    std::string_view big_body;
    if (!no_body) {
      if (res.body.size() <= 16 * 1024)
        c.out += res.body;
      else
        big_body = res.body;
    }
    c.start = next_start;
    if (c.start == c.end) c.start = c.end = 0;
    if (!keep) {
      co_await flush(big_body);
      break;
    }
    // Pipelined requests already buffered: answer them before writing, unless the batch is large.
    if (!big_body.empty() || c.out.size() > 64 * 1024 || c.start == c.end) {
      if (!co_await flush(big_body)) break;
    }
  }

  // ---------------- close ----------------
  if (c.poller) c.poller->remove(c.sock.native_handle(), c.rw);
  c.sock.shutdown(tcp::socket::shutdown_both, ec);
  c.sock.close(ec);
  Conn* last = ls.conns.back();
  ls.conns[c.slot] = last;
  last->slot = c.slot;
  ls.conns.pop_back();
  active_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace svckit::http
