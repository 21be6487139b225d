// The server's request cycle on one connection (detail/server_conn.hpp): read the head, route, read
// the body, handle, respond, and close when a phase ends the connection. The hot path (a keep-alive
// request whose body, if any, is already buffered, handled by a synchronous chain) suspends only to
// read and, when the socket is full, to write.
#include <sys/socket.h>

#include <array>
#include <asio/post.hpp>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <exception>

#include "svckit/core/detail/io_await.hpp"
#include "svckit/http/detail/server_conn.hpp"

namespace svckit::http {

using asio::ip::tcp;
using detail::append_uint;
using detail::date_header;
using detail::now_ns;
using detail::status_line;

namespace detail {

// Asio may report stale readiness at once, so an empty peek re-arms the wait.
void DisconnectWatch::arm(std::shared_ptr<DisconnectWatch> self) {
  if (armed || !watching) return;
  armed = true;
  sock.async_wait(tcp::socket::wait_read, [self](const std::error_code& e) {
    self->armed = false;
    if (e || !self->watching) return;
    char probe;
    ssize_t n = ::recv(self->sock.native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
      self->ctx.cancel(Status(Code::kCancelled, "CLIENT_CLOSED", "client closed the connection"));
    } else if (n < 0) {
      self->arm(self);  // stale readiness: wait for the real edge
    }
    // n > 0: the next pipelined request (or body bytes) arrived; it is read after this one.
  });
}

}  // namespace detail

namespace {

// One read into the connection's buffer, through the loop's ReadPoller or, for a connection the poller
// could not take, an Asio wait. kTls: through OpenSSL; the plain form is compiled without a trace of it.
constexpr std::size_t kRetry = std::size_t(-1);  // ReadAwaiter: readiness was spurious

template <bool kTls>
struct ReadAwaiter {
  tcp::socket& sock;
  detail::ReadPoller* poller;  // null: Asio waits
  detail::ReadPoller::Waiter& w;
  char* data;
  std::size_t size;
  bool speculate;  // Asio waits only: the poller's `ready` flag knows better
  SSL* ssl;        // kTls: the connection's session
  std::error_code ec;
  std::size_t got = 0;
  bool done = false;
  bool want_write = false;  // TLS: OpenSSL must write before it can read on (waits for writability)

  std::size_t read_tls() {
    detail::TlsIo r = detail::tls_read(ssl, data, size);
    want_write = r.want == detail::Want::kWrite;
    ec = r.want != detail::Want::kNone ? std::error_code(asio::error::would_block) : r.ec;
    return r.n;
  }
  std::size_t read_once() {
    if constexpr (kTls) return read_tls();
    return sock.read_some(asio::buffer(data, size), ec);
  }
  // One read; false when it would block. A short read means the kernel had no more for us: wait for
  // the next edge instead of trying again (unless the peer's FIN is pending: that read must happen).
  // Not so under TLS: a read returns one record, and OpenSSL may hold more (or the socket may).
  [[gnu::always_inline]] bool read() {
    if constexpr (kTls) {
      got = read_tls();
      if (ec == asio::error::would_block) {
        if (!want_write) w.ready = false;
        return false;
      }
      return true;
    }
    got = sock.read_some(asio::buffer(data, size), ec);
    if (ec == asio::error::would_block) {
      w.ready = false;
      return false;
    }
    if (!ec && got < size && !w.eof_pending) w.ready = false;
    return true;
  }
  // Inlined into the reading coroutine as it was before there was a TLS form (GCC stops inlining it
  // into a template's coroutine otherwise: ~40 instructions per request).
  [[gnu::always_inline]] bool await_ready() {
    if (poller) return w.ready && (done = read());
    // Speculative read: with pipelining and large bodies the bytes are often already there. Right
    // after we answered, a keep-alive client cannot have sent more yet: skip the wasted syscall
    // (not under TLS: OpenSSL may hold bytes the socket no longer signals).
    if (!speculate && !kTls) return false;
    got = read_once();
    return (done = ec != asio::error::would_block);
  }
  void await_suspend(std::coroutine_handle<> h) {
    if (poller && (!kTls || !want_write)) {
      poller->wait(w, h);
      return;
    }
    sock.async_wait(kTls && want_write ? tcp::socket::wait_write : tcp::socket::wait_read,
                    [this, h](const std::error_code& e) {
                      ec = e;
                      h.resume();
                    });
  }
  // {error, bytes}; bytes == kRetry when readiness was spurious (nothing to read after all).
  std::pair<std::error_code, std::size_t> await_resume() {
    if (poller && (!kTls || !want_write)) {
      if (done) return {ec, got};
      if (std::exchange(w.cancelled, false)) return {asio::error::operation_aborted, 0};
      if (!read()) return {std::error_code(), kRetry};
      return {ec, got};
    }
    if (!ec && got == 0) {
      got = read_once();
      if (ec == asio::error::would_block) return {std::error_code(), kRetry};
    }
    return {ec, got};
  }
};

// Lets the loop run everything else that is ready before this connection goes on.
struct YieldAwaiter {
  tcp::socket& sock;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    asio::post(sock.get_executor(), [h] { h.resume(); });
  }
  void await_resume() const noexcept {}
};

// Reads in a row that found bytes waiting (16 KiB each at most) before the connection lets the other
// connections of its loop go first: a client pipelining without pause would otherwise hold the loop
// for as long as it keeps the socket full (the normal client's p99 went to 196 ms, its worst answer
// to 1.9 s, behind 100 such clients).
constexpr std::uint32_t kReadsBeforeYield = 4;

}  // namespace

Task<void> Server::Conn::run() {
  open();
  if (srv.tls_ && !co_await handshake()) {
    close();
    co_return;
  }
  // A loop without a co_await in its condition: GCC 12's rule (docs/architecture.md).
  for (;;) {
    if (!co_await read_head()) break;
    route();
    if (!body_buffered() && !co_await read_body()) break;
    if (!handle_inline()) co_await handle();
    bool keep = stream.touched() ? stream.finish_request() : encode_response();
    if (!keep) {
      co_await flush(big_body);
      break;
    }
    // Pipelined requests already buffered: answer them before writing, unless the batch is large.
    if ((!big_body.empty() || out.size() > 64 * 1024 || start == end) && !co_await flush(big_body)) break;
    if (reads_without_wait >= kReadsBeforeYield) [[unlikely]] {
      reads_without_wait = 0;
      co_await YieldAwaiter{sock};
    }
  }
  close();
}

void Server::Conn::open() {
  srv.active_.fetch_add(1, std::memory_order_relaxed);
  slot = ls->conns.size();
  ls->conns.push_back(this);
  std::error_code ec;
  sock.non_blocking(true, ec);
  sock.set_option(tcp::no_delay(true), ec);
  if (ls->poller->add(sock.native_handle(), rw)) poller = ls->poller.get();
  auto endpoint = sock.remote_endpoint(ec);
  if (!ec) remote = endpoint.address().to_string();
  req.set_remote_address(remote);
  req.set_stream(&stream);
  cap = 16 * 1024;
  in.reset(new char[cap]);
}

void Server::Conn::close() {
  std::error_code ec;
  if (ssl) detail::tls_close(ssl.get());
  if (poller) poller->remove(sock.native_handle(), rw);
  sock.shutdown(tcp::socket::shutdown_both, ec);
  sock.close(ec);
  Conn* last = ls->conns.back();
  ls->conns[slot] = last;
  last->slot = slot;
  ls->conns.pop_back();
  srv.active_.fetch_sub(1, std::memory_order_relaxed);
}

void Server::Conn::set_state(State s, std::chrono::nanoseconds timeout) {
  state = s;
  deadline = now_ns() + timeout.count();
}

// ---- head ----------------------------------------------------------------------------------------

Task<bool> Server::Conn::read_head() {
  const ServerOptions& opt = srv.options_;
  const ParserLimits& limits = opt.limits;
  const std::size_t max_head = limits.max_header_bytes + 4 * 1024;  // room for what the limits refuse
  std::size_t scanned = 0;
  consumed = 0;
  ParseError perr;
  bool head_started = start != end;
  set_state(head_started ? State::kHead : State::kIdle, head_started ? opt.header_timeout : opt.idle_timeout);
  for (;;) {
    if (start != end) {
      if (!head_started) {
        head_started = true;
        set_state(State::kHead, opt.header_timeout);
      }
      ParseResult pr = parse_request_head(in.get() + start, end - start, limits, head, consumed, scanned, perr);
      if (pr == ParseResult::kComplete) co_return true;
      if (pr == ParseResult::kError) {
        co_await refuse(perr.status, perr.reason);
        co_return false;
      }
    }
    if (srv.draining_ && !head_started) {
      // Between requests while draining: wait out the idle grace for a request already on its way.
      std::int64_t left = srv.idle_grace_end_.load() - now_ns();
      if (left <= 0) co_return false;
      if (state != State::kIdle || deadline > now_ns() + left) set_state(State::kIdle, std::chrono::nanoseconds(left));
    }
    if (!out.empty() && !co_await flush({})) co_return false;  // pipelined answers still buffered
    if (state == State::kWriting)
      set_state(head_started ? State::kHead : State::kIdle, head_started ? opt.header_timeout : opt.idle_timeout);
    if (!make_room(4096, max_head)) {
      co_await refuse(431, "request header block too large");
      co_return false;
    }
    if (co_await read_more() == 0) {
      if (timed_out && head_started && !srv.draining_) co_await refuse(408, "request head not received in time");
      co_return false;
    }
  }
}

// ---- route ---------------------------------------------------------------------------------------

void Server::Conn::route() {
  req.reset();
  res.reset();
  req.set_head(&head);
  req.ctx = Context();
  match = srv.router_.find(head.method, head.path, req);
  const std::uint64_t router_limit = srv.router_.default_body_limit();
  body_limit = match.route && match.route->max_body ? match.route->max_body
               : router_limit                       ? router_limit
                                                    : srv.options_.limits.max_body;
  body_start = start + consumed;
  next_start = body_start;
}

// The buffer moved: refresh every view (head fields, route params) into it.
void Server::Conn::reparse_head() {
  std::size_t again = 0, scanned = 0;
  ParseError e;
  parse_request_head(in.get() + start, end - start, srv.options_.limits, head, again, scanned, e);
  srv.router_.find(head.method, head.path, req);
  body_start = start + consumed;
}

// ---- body ----------------------------------------------------------------------------------------

// The request has no body, or all of it is buffered within its limit (no wait needed).
bool Server::Conn::body_buffered() {
  if (match.route && match.route->stream_body) [[unlikely]]
    return stream.begin_body();
  if (head.chunked) return false;
  if (!head.has_content_length || head.content_length == 0) return true;
  if (head.content_length > body_limit || end - body_start < head.content_length) return false;
  auto len = static_cast<std::size_t>(head.content_length);
  req.set_body(std::string_view(in.get() + body_start, len));
  next_start = body_start + len;
  return true;
}

Task<bool> Server::Conn::read_body() {
  if (head.has_content_length && head.content_length > 0) {
    if (head.content_length > body_limit) {
      co_await refuse(413, "request body too large");
      co_return false;
    }
    auto len = static_cast<std::size_t>(head.content_length);
    if (end - body_start < len && !co_await read_fixed_body(len)) co_return false;
    req.set_body(std::string_view(in.get() + body_start, len));
    next_start = body_start + len;
  } else if (head.chunked) {
    if (!co_await read_chunked_body()) co_return false;
    req.set_body(chunked_body);
  }
  co_return true;
}

Task<bool> Server::Conn::send_continue() {
  out += "HTTP/1.1 100 Continue\r\n\r\n";
  co_return co_await flush({});
}

Task<bool> Server::Conn::read_fixed_body(std::size_t len) {
  if (head.expect_continue && !co_await send_continue()) co_return false;
  set_state(State::kBody, srv.options_.body_timeout);
  std::size_t before_cap = cap;
  const char* before_ptr = in.get();
  std::size_t before_start = start;
  make_room(len - (end - body_start), consumed + len + (cap - end));
  if (cap != before_cap || in.get() != before_ptr || start != before_start) reparse_head();
  while (end - body_start < len) {
    if (co_await read_more() == 0) {
      if (timed_out && !srv.draining_) co_await refuse(408, "request body not received in time");
      co_return false;
    }
  }
  co_return true;
}

Task<bool> Server::Conn::read_chunked_body() {
  if (head.expect_continue && !co_await send_continue()) co_return false;
  ChunkedDecoder decoder(body_limit);
  ParseError perr;
  chunked_body.clear();
  std::size_t pos = body_start;
  set_state(State::kBody, srv.options_.body_timeout);
  for (;;) {
    std::size_t used = 0;
    ParseResult r = decoder.feed(in.get() + pos, end - pos, chunked_body, used, perr);
    if (r == ParseResult::kComplete) {
      next_start = pos + used;
      co_return true;
    }
    if (r == ParseResult::kError) {
      co_await refuse(perr.status, perr.reason);
      co_return false;
    }
    // Everything after the head was decoded: reuse that space for the next bytes.
    end = body_start;
    pos = body_start;
    if (cap - end < 4096) {
      const char* before = in.get();
      std::size_t before_start = start;
      make_room(4096, cap * 2);
      if (in.get() != before || start != before_start) {
        reparse_head();
        pos = body_start;
      }
    }
    if (co_await read_more() == 0) {
      if (timed_out && !srv.draining_) co_await refuse(408, "request body not received in time");
      co_return false;
    }
  }
}

// ---- handle --------------------------------------------------------------------------------------

// A routed request with a synchronous chain is handled here, without a coroutine; false: handle().
bool Server::Conn::handle_inline() {
  state = State::kHandling;
  deadline = 0;
  srv.counters_->requests.fetch_add(1, std::memory_order_relaxed);
  if (match.status != 200 || !match.route->chain.is_sync()) return false;
  try {
    match.route->chain.sync(req, res);
  } catch (const std::exception& e) {
    handler_threw(e.what());
  } catch (...) {
    handler_threw(nullptr);
  }
  return true;
}

Task<void> Server::Conn::handle() {
  try {
    if (match.status != 200) {
      handle_unrouted();
      co_await srv.router_.fallback_chain().run(req, res);
      co_return;
    }
    const Chain& chain = match.route->chain;
    // An async handler may wait a long time: if the client goes away meanwhile, cancel its Context so
    // that its downstream calls and waits stop too. Most handlers finish without waiting: the watch is
    // armed only for those that suspend.
    req.ctx = Context().with_cancel();
    Task<void> run = chain.run(req, res);
    if (!run.start_inline()) {
      watch = std::make_shared<detail::DisconnectWatch>(sock, req.ctx);
      watch->arm(watch);
      co_await std::move(run).join();
      watch->watching = false;  // a completion still queued must not touch the socket again
      watch.reset();
      std::error_code ec;
      sock.cancel(ec);  // drop the pending wait (nothing else is pending now)
    } else {
      co_await std::move(run).join();  // finished: rethrows the handler's exception, if any
    }
    if (req.ctx.err().reason() == "CLIENT_CLOSED") res.close = true;
  } catch (const std::exception& e) {
    handler_threw(e.what());
  } catch (...) {
    handler_threw(nullptr);
  }
}

// 404, 405 or a redirect: the response the fallback chain's writer sends. The targets no route can
// match (the parser admits them for OPTIONS and CONNECT only) get their RFC 9110 answers here.
void Server::Conn::handle_unrouted() {
  if (head.method == Method::kConnect) [[unlikely]] {
    // §9.3.6: tunnelling is a proxy's job; this server implements CONNECT for no target (§15.6.2).
    res.error(Status(Code::kUnimplemented, "METHOD_NOT_IMPLEMENTED", "CONNECT is not supported: this is not a proxy")
                  .with_http_status(501));
  } else if (head.target == "*") [[unlikely]] {
    // §9.3.7: OPTIONS * asks about the server as a whole; the methods any route accepts.
    res.status = 200;
    res.set_header("Allow", srv.router_.allowed_methods());
  } else if (match.status == 405) {
    res.error(Status(Code::kUnimplemented, "METHOD_NOT_ALLOWED",
                     std::string(head.method_text) + " is not allowed on " + std::string(head.path))
                  .with_http_status(405));
    res.set_header("Allow", match.allow);
  } else if (match.status == 404) {
    res.error(Status(Code::kNotFound, "ROUTE_NOT_FOUND", "no route for " + std::string(head.path)));
  } else {
    res.status = match.status;
    res.set_header("Location", match.redirect);
  }
}

void Server::Conn::handler_threw(const char* what) {
  srv.counters_->exceptions.fetch_add(1, std::memory_order_relaxed);
  if (what)
    srv.logger_.error(req.ctx, "http handler threw",
                      {{"error", what}, {"method", head.method_text}, {"route", req.route()}});
  else
    srv.logger_.error(req.ctx, "http handler threw a non-standard exception", {{"route", req.route()}});
  res.reset();
  res.error(Status(Code::kInternal, "internal error"));
}

// ---- respond -------------------------------------------------------------------------------------

// Encodes the response into `out` (a large body stays in the response: big_body); false when the
// connection closes after it.
bool Server::Conn::encode_response() {
  const ServerOptions& opt = srv.options_;
  bool keep = head.keep_alive && !res.close && !srv.draining_;
  bool head_only = head.method == Method::kHead;
  bool no_body = head_only || res.status == 204 || res.status == 304 || res.status < 200;
  out += status_line(res.status, scratch);
  out += date_header();
  if (!opt.server_name.empty()) {
    out += "Server: ";
    out += opt.server_name;
    out += "\r\n";
  }
  for (auto& [k, v] : res.headers()) {
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  if (res.status != 204 && res.status != 304 && res.status >= 200) {
    out += "Content-Length: ";
    append_uint(out, res.body.size());
    out += "\r\n";
  }
  if (!keep)
    out += "Connection: close\r\n";
  else if (head.version_minor == 0)
    out += "Connection: keep-alive\r\n";
  out += "\r\n";
  big_body = {};
  if (!no_body) {
    if (res.body.size() <= 16 * 1024)
      out += res.body;
    else
      big_body = res.body;
  }
  start = next_start;
  if (start == end) start = end = 0;
  return keep;
}

// ---- helpers -------------------------------------------------------------------------------------

// Writes `out` (and an optional large body) completely, or fails.
Task<bool> Server::Conn::flush(std::string_view extra) {
  return ssl ? tls_flush(extra) : plain_flush(extra);
}

Task<bool> Server::Conn::plain_flush(std::string_view extra) {
  std::size_t off = 0, extra_off = 0;
  set_state(State::kWriting, srv.options_.write_timeout);
  while (off < out.size() || extra_off < extra.size()) {
    std::array<asio::const_buffer, 2> bufs{asio::buffer(out.data() + off, out.size() - off),
                                           asio::buffer(extra.data() + extra_off, extra.size() - extra_off)};
    std::error_code ec;
    std::size_t n = sock.write_some(bufs, ec);  // writev
    if (ec == asio::error::would_block) {
      // Timed out already (the sweep cancels a connection once): a wait now would never end, as when
      // the answer to a write that timed out is flushed on the way out.
      if (timed_out) co_return false;
      ec = co_await svckit::detail::WaitAwaiter{sock, tcp::socket::wait_write};
      if (ec) co_return false;
      continue;
    }
    if (ec) co_return false;
    std::size_t from_out = std::min(n, out.size() - off);
    off += from_out;
    extra_off += n - from_out;
  }
  out.clear();
  deadline = 0;
  just_flushed = true;
  co_return true;
}

Task<bool> Server::Conn::tls_flush(std::string_view extra) {
  set_state(State::kWriting, srv.options_.write_timeout);
  std::array<std::string_view, 2> parts{std::string_view(out), extra};
  for (std::string_view part : parts) {
    while (!part.empty()) {
      detail::TlsIo r = detail::tls_write(ssl.get(), part.data(), part.size());
      if (r.want != detail::Want::kNone) {
        std::error_code ec = co_await detail::tls_wait(sock, r.want);
        if (ec) co_return false;
        continue;
      }
      if (r.ec) co_return false;
      part.remove_prefix(r.n);
    }
  }
  out.clear();
  deadline = 0;
  just_flushed = true;
  co_return true;
}

// The server's side of the handshake, bounded by tls.handshake_timeout (the sweep cancels the wait).
// The verified client certificate, if any, goes on every request of the connection.
Task<bool> Server::Conn::handshake() {
  ssl = srv.tls_->new_ssl(sock.native_handle());
  if (!ssl) co_return false;
  set_state(State::kHead, srv.options_.tls.handshake_timeout);
  for (;;) {
    detail::TlsIo r = detail::tls_handshake(ssl.get());
    if (r.want == detail::Want::kNone && !r.ec) break;
    std::error_code ec = r.ec;
    if (!ec && !timed_out) ec = co_await detail::tls_wait(sock, r.want);
    if (ec || timed_out) {
      srv.counters_->tls_failed.fetch_add(1, std::memory_order_relaxed);
      ssl.reset();  // nothing more goes out on a failed handshake
      co_return false;
    }
  }
  peer = detail::verified_peer(ssl.get());
  req.set_tls(true, peer ? &*peer : nullptr);
  co_return true;
}

// A response the parser or a limit decided on; the connection closes after it.
Task<void> Server::Conn::refuse(int status, std::string_view why) {
  srv.counters_->bad.fetch_add(1, std::memory_order_relaxed);
  res.reset();
  res.error(Status::from_http(status, std::string(why)));
  out += status_line(res.status, scratch);
  out += date_header();
  out += "Content-Type: application/json\r\nConnection: close\r\nContent-Length: ";
  append_uint(out, res.body.size());
  out += "\r\n\r\n";
  out += res.body;
  co_await flush({});
}

// Makes room after `end` for at least `want` more bytes. Moving or growing the buffer invalidates
// views into it: the caller re-parses the head afterwards when it had one.
bool Server::Conn::make_room(std::size_t want, std::size_t max_total) {
  if (cap - end >= want) return true;
  if (start > 0) {
    std::memmove(in.get(), in.get() + start, end - start);
    end -= start;
    start = 0;
    if (cap - end >= want) return true;
  }
  std::size_t need = end + want;
  if (need > max_total) need = max_total;
  if (need <= cap) return cap > end;
  std::size_t grown = cap;
  while (grown < need) grown *= 2;
  std::unique_ptr<char[]> bigger(new char[grown]);
  std::memcpy(bigger.get(), in.get(), end);
  in = std::move(bigger);
  cap = grown;
  return true;
}

// Reads once into data (a streaming handler's buffer after a 101): >0 bytes read, 0 on EOF or error.
Task<std::size_t> Server::Conn::read_raw_into(char* data, std::size_t size) {
  return ssl ? read_raw_as<true>(data, size) : read_raw_as<false>(data, size);
}

template <bool kTls>
Task<std::size_t> Server::Conn::read_raw_as(char* data, std::size_t size) {
  for (;;) {
    auto [err, n] = co_await ReadAwaiter<kTls>{sock, poller, rw, data, size, false, ssl.get(), {}};
    if (n == kRetry) continue;
    if (err || n == 0) co_return 0;
    co_return n;
  }
}

// Reads once into the buffer: >0 bytes read, 0 on EOF or error (timed_out tells which). Not a
// coroutine itself: it picks the plain or the TLS form, each a coroutine with one kind of read.
Task<std::size_t> Server::Conn::read_more() {
  return ssl ? read_more_as<true>() : read_more_as<false>();
}

template <bool kTls>
Task<std::size_t> Server::Conn::read_more_as() {
  bool speculate = !just_flushed;
  just_flushed = false;
  for (;;) {
    ReadAwaiter<kTls> reading{sock, poller, rw, in.get() + end, cap - end, speculate, ssl.get(), {}};
    auto [err, n] = co_await reading;
    reads_without_wait = reading.done ? reads_without_wait + 1 : 0;
    speculate = false;
    if (n == kRetry) continue;  // spurious wake-up
    if (err || n == 0) co_return 0;
    end += n;
    co_return n;
  }
}

}  // namespace svckit::http
