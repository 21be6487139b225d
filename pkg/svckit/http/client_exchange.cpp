// One HTTP/1.1 exchange of the client (detail/client_exchange.hpp), and Client::send_untraced, which
// drives it: encode, then per try acquire, write, read.
#include "svckit/http/detail/client_exchange.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <asio/post.hpp>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "svckit/core/detail/io_await.hpp"
#include "svckit/core/strings.hpp"
#include "svckit/trace/tracer.hpp"

namespace svckit::http {

using asio::ip::tcp;

namespace {

// getaddrinfo's first address; blocking, so run on the blocking pool.
Result<asio::ip::address> resolve_host(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || !res) return make_error(Code::kUnavailable, "resolve " + host + ": " + gai_strerror(rc));
  asio::ip::address a;
  if (res->ai_family == AF_INET) {
    asio::ip::address_v4::bytes_type b;
    std::memcpy(b.data(), &reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr, 4);
    a = asio::ip::address_v4(b);
  } else {
    asio::ip::address_v6::bytes_type b;
    std::memcpy(b.data(), &reinterpret_cast<sockaddr_in6*>(res->ai_addr)->sin6_addr, 16);
    a = asio::ip::address_v6(b);
  }
  ::freeaddrinfo(res);
  return a;
}

}  // namespace

namespace {

// Request heads are written into buffers kept per thread from call to call: no allocation per call
// for the head (a call with its body in the head may grow one; a very large one is not kept).
thread_local std::vector<std::string> t_head_buffers;

// Response fields are parsed into vectors kept per thread the same way, strings and all
// (ClientResponse's destructor gives them back): a response's fields are assigned into strings that
// already have room for them. Lists with many or long fields are not kept.
using HeaderList = std::vector<std::pair<std::string, std::string>>;
struct HeaderLists {
  std::vector<HeaderList> lists;
  ~HeaderLists();
};
thread_local HeaderLists t_header_lists;
// Trivially destructible, so still readable while the thread's other thread_locals are destroyed: a
// response destroyed then keeps its fields.
thread_local bool t_header_lists_gone = false;
HeaderLists::~HeaderLists() {
  t_header_lists_gone = true;
}

HeaderList take_header_list() {
  auto& lists = t_header_lists.lists;
  if (lists.empty()) return HeaderList();
  HeaderList l = std::move(lists.back());
  lists.pop_back();
  return l;
}

}  // namespace

ClientResponse::~ClientResponse() {
  constexpr std::size_t kKept = 256, kMaxFields = 64, kLargest = 4096;
  if (headers.capacity() == 0 || headers.capacity() > kMaxFields || t_header_lists_gone) return;
  auto& lists = t_header_lists.lists;
  if (lists.size() >= kKept) return;
  std::size_t bytes = 0;
  for (const auto& [k, v] : headers) bytes += k.capacity() + v.capacity();
  if (bytes > kLargest) return;
  lists.push_back(std::move(headers));
}

std::string take_head_buffer() {
  if (t_head_buffers.empty()) return std::string();
  std::string b = std::move(t_head_buffers.back());
  t_head_buffers.pop_back();
  return b;
}

void give_back_head_buffer(std::string&& buffer) {
  constexpr std::size_t kKept = 256, kLargest = 64 * 1024;
  if (t_head_buffers.size() >= kKept || buffer.capacity() > kLargest) return;
  buffer.clear();
  t_head_buffers.push_back(std::move(buffer));
}

Task<Result<ClientResponse>> Client::send_untraced(const Context& ctx, ClientRequest request, Result<Url> url) {
  Loop* loop = Loop::current();
  if (!loop) throw std::logic_error("http::Client::send awaited outside a svckit loop");
  Impl& impl = *impl_;
  impl.requests.fetch_add(1, std::memory_order_relaxed);
  if (!url) co_return std::unexpected(url.error());
  if (auto st = ctx.err(); !st.ok()) co_return std::unexpected(st);

  // The call's own context: the caller's deadline, or the client's timeout without one.
  Context call = ctx.remaining() == Duration::max() ? ctx.with_timeout(impl.options.timeout) : ctx.with_cancel();
  svckit::detail::DeadlineGuard guard(call);
  if (!url->service.empty()) {
    Result<ClientResponse> found = co_await send_discovered(call, request, *url, ctx);
    co_return found;
  }
  bool reached = false;
  Result<ClientResponse> res = co_await exchange(call, request, *url, ctx, reached);
  co_return res;
}

// One host: tries on a pooled or new connection until one gets a response (a reused connection the
// server had closed is tried again once). `reached` is set once the request was being written.
Task<Result<ClientResponse>> Client::exchange(const Context& call, const ClientRequest& request, const Url& url,
                                              const Context& caller, bool& reached) {
  Exchange x(*impl_, *Loop::current(), request, url, call);
  x.encode(caller);
  for (;; ++x.attempt) {
    if (Status st = co_await x.acquire(); !st.ok()) co_return std::unexpected(std::move(st));
    reached = true;
    co_await x.write();
    if (!x.source_status.ok()) {  // the body's source failed: the request cannot be completed
      x.give_up();
      co_return std::unexpected(std::move(x.source_status));
    }
    bool retry = false;
    Result<ClientResponse> res = co_await x.read(retry);
    if (retry) continue;
    co_return res;
  }
}

Client::Exchange::Exchange(Impl& i, Loop& l, const ClientRequest& r, const Url& u, const Context& c)
    : impl(i),
      loop(l),
      opt(i.options),
      request(r),
      url(u),
      call(c),
      key((u.tls ? "https://" : "") + u.host + ":" + std::to_string(u.port)),
      pool(i.pools[l.index()][key]),
      streaming(static_cast<bool>(r.body_stream) || static_cast<bool>(r.body_source)),
      bytes(take_head_buffer()) {}

Client::Exchange::~Exchange() {
  give_back_head_buffer(std::move(bytes));
}

Status Client::Exchange::ended(std::string_view reason, std::string_view what) const {
  Status st = call.err();
  if (!st.ok()) return st;
  return Status(Code::kUnavailable, std::string(reason), std::string(what));
}

// ---- encode --------------------------------------------------------------------------------------

namespace {

// Whether the wire-form fields name `name` (at the start of one of their lines).
bool wire_has(std::string_view wire, std::string_view name) {
  while (wire.size() > name.size()) {
    if (wire[name.size()] == ':' && iequals(wire.substr(0, name.size()), name)) return true;
    auto eol = wire.find('\n');
    if (eol == std::string_view::npos) break;
    wire.remove_prefix(eol + 1);
  }
  return false;
}

void append_decimal(std::string& out, std::uint64_t v) {
  char digits[24];
  auto r = std::to_chars(digits, digits + sizeof digits, v);
  out.append(digits, r.ptr);
}

}  // namespace

// Written piece by piece into one buffer: no string per field. Trace context and baggage are written
// here for observed calls (Client::send made the span), unless the caller set trace fields itself.
void Client::Exchange::encode(const Context& caller) {
  std::string& head = bytes;
  head.reserve(512 + request.wire_headers.size() + (streaming ? 0 : request.body.size()));
  head += method_name(request.method);
  head += ' ';
  head += url.target;
  head += " HTTP/1.1\r\n";
  bool has_ua = false, has_host = false, caller_set_trace = false;
  for (auto& [k, v] : request.headers) {
    has_host = has_host || iequals(k, "host");
    has_ua = has_ua || iequals(k, "user-agent");
    caller_set_trace = caller_set_trace || iequals(k, "traceparent") || iequals(k, "b3") ||
                       iequals(k, "uber-trace-id") || iequals(k, "X-B3-TraceId");
  }
  if (!request.wire_headers.empty()) {
    has_host = has_host || wire_has(request.wire_headers, "host");
    has_ua = has_ua || wire_has(request.wire_headers, "user-agent");
  }
  if (!has_host) {  // a proxy forwards the client's Host instead
    head += "Host: ";
    head += url.host;
    if (url.port != (url.tls ? 443 : 80)) {
      head += ':';
      append_decimal(head, url.port);
    }
    head += "\r\n";
  }
  for (auto& [k, v] : request.headers) {
    head += k;
    head += ": ";
    head += v;
    head += "\r\n";
  }
  head += request.wire_headers;
  if (!has_ua && !opt.user_agent.empty()) {
    head += "User-Agent: ";
    head += opt.user_agent;
    head += "\r\n";
  }
  for (auto& [k, v] : caller.all_metadata()) {
    head += k;
    head += ": ";
    head += v;
    head += "\r\n";
  }
  if (opt.observe && !is_probe(caller)) {
    if (auto sc = trace::span_from(caller); sc && !caller_set_trace) {
      static const std::vector<trace::Format> kDefault{trace::Format::kW3C};
      const trace::Tracer* tracer = trace::Tracer::current();
      trace::append_header_lines(head, *sc, tracer ? tracer->propagation() : kDefault);
    }
    if (const trace::Baggage* b = trace::baggage_from(caller); b && !b->empty()) {
      head += "baggage: ";
      head += trace::format_baggage(*b);
      head += "\r\n";
    }
  }
  if (opt.propagate_deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(call.remaining()).count();
    head += "X-Request-Timeout-Ms: ";
    append_decimal(head, static_cast<std::uint64_t>(left > 0 ? left : 0));
    head += "\r\n";
  }
  if (request.body_source && request.body_length) {
    head += "Content-Length: ";
    append_decimal(head, *request.body_length);
    head += "\r\n";
  } else if (streaming) {
    head += "Transfer-Encoding: chunked\r\n";
  } else if (!request.body.empty() || request.method == Method::kPost || request.method == Method::kPut ||
             request.method == Method::kPatch) {
    head += "Content-Length: ";
    append_decimal(head, request.body.size());
    head += "\r\n";
  }
  head += "\r\n";
  if (!streaming) head += request.body;
}

// ---- acquire -------------------------------------------------------------------------------------

namespace {
// Cancellation may come from any thread; the socket belongs to its loop (the one its executor runs).
void cancel_conn(const std::shared_ptr<ClientConn>& c, const Status&) {
  asio::post(c->sock.get_executor(), [weak = std::weak_ptr<ClientConn>(c)] {
    if (auto s = weak.lock()) {
      std::error_code e;
      s->sock.cancel(e);
    }
  });
}
}  // namespace

void Client::Exchange::watch_cancel(const std::shared_ptr<ClientConn>& c) {
  cancel_reg = call.on_cancel_of<ClientConn, &cancel_conn>(c);
}

Task<Status> Client::Exchange::acquire() {
  conn.reset();
  reused = false;
  ec = {};
  for (;;) {
    auto now = Clock::now();
    while (!pool.idle.empty()) {
      auto c = std::move(pool.idle.back());
      pool.idle.pop_back();
      char probe;
      ssize_t n = ::recv(c->sock.native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
      bool closed = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
      if (closed || n > 0 || now - c->idle_since > opt.idle_timeout) {
        --pool.open;  // the server closed it, sent garbage, or it sat too long
        continue;
      }
      conn = std::move(c);
      reused = true;
      impl.reused.fetch_add(1, std::memory_order_relaxed);
      watch_cancel(conn);
      co_return Status();
    }
    if (pool.open < opt.max_connections_per_host) co_return co_await connect_new();
    // At the per-host limit: wait for a connection to come back, within the call's deadline.
    if (!(co_await sleep_for(call, std::chrono::milliseconds(1))).ok())
      co_return Status(Code::kResourceExhausted, "no connection to " + key + " became free before the deadline")
          .with_metadata("cause", call.err().to_string());
  }
}

Task<Status> Client::Exchange::connect_new() {
  ++pool.open;
  auto c = std::make_shared<ClientConn>(loop.io());
  std::error_code e;
  auto address = asio::ip::make_address(url.host, e);
  tcp::endpoint ep;
  if (!e) {
    ep = tcp::endpoint(address, url.port);
  } else {
    // A named lambda, not a temporary inside the co_await: GCC 12 mis-destroys temporaries with
    // non-trivial members there (see docs/architecture.md).
    auto resolve = [host = url.host]() { return resolve_host(host); };
    auto resolved = co_await run_blocking(call, resolve);
    if (!resolved) {
      --pool.open;
      co_return resolved.error();
    }
    ep = tcp::endpoint(*resolved, url.port);
  }
  watch_cancel(c);
  e = co_await svckit::detail::ConnectAwaiter{c->sock, ep};
  if (e) {
    --pool.open;
    co_return ended("CONNECT_FAILED", "connect " + key + ": " + e.message());
  }
  c->sock.non_blocking(true, e);
  c->sock.set_option(tcp::no_delay(true), e);
  if (url.tls) {
    if (Status st = co_await handshake(*c); !st.ok()) {
      --pool.open;
      co_return st;
    }
  }
  impl.opened.fetch_add(1, std::memory_order_relaxed);
  conn = std::move(c);
  co_return Status();
}

void Client::Exchange::give_up() {
  std::error_code e;
  conn->sock.close(e);
  --pool.open;
}

// ---- write ---------------------------------------------------------------------------------------

Task<std::error_code> Client::Exchange::write_all(std::string_view data) {
  ClientConn& c = *conn;
  while (!data.empty()) {
    std::error_code e;
    ClientConn::Wait want;
    std::size_t n = c.write_some(data.data(), data.size(), e, want);
    if (e == asio::error::would_block) {
      e = co_await svckit::detail::WaitAwaiter{c.sock, want};
      if (e) co_return e;
      continue;
    }
    if (e) co_return e;
    data.remove_prefix(n);
  }
  co_return std::error_code();
}

Task<std::error_code> Client::Exchange::write_gather(std::string_view a, std::string_view b, std::string_view c3) {
  ClientConn& c = *conn;
  std::array<std::string_view, 3> parts{a, b, c3};
  if (c.ssl) {  // no writev under TLS: one record (or more) per part
    for (std::string_view p : parts) {
      std::error_code e = co_await write_all(p);
      if (e) co_return e;
    }
    co_return std::error_code();
  }
  for (;;) {
    std::array<asio::const_buffer, 3> bufs{asio::buffer(parts[0].data(), parts[0].size()),
                                           asio::buffer(parts[1].data(), parts[1].size()),
                                           asio::buffer(parts[2].data(), parts[2].size())};
    if (parts[0].empty() && parts[1].empty() && parts[2].empty()) co_return std::error_code();
    std::error_code e;
    std::size_t n = c.sock.write_some(bufs, e);  // writev
    if (e == asio::error::would_block) {
      e = co_await svckit::detail::WaitAwaiter{c.sock, tcp::socket::wait_write};
      if (e) co_return e;
      continue;
    }
    if (e) co_return e;
    for (auto& p : parts) {
      std::size_t k = std::min(n, p.size());
      p.remove_prefix(k);
      n -= k;
    }
  }
}

// A body from the request's awaitable source: chunked, or exactly body_length bytes.
Task<void> Client::Exchange::write_source() {
  const bool chunked = !request.body_length;
  std::uint64_t sent = 0;
  for (;;) {
    Result<std::string_view> piece = co_await request.body_source();
    if (!piece) {
      source_status = piece.error();
      co_return;
    }
    if (piece->empty()) break;
    if (chunked) {
      char size[24];
      auto r = std::to_chars(size, size + 20, piece->size(), 16);
      *r.ptr++ = '\r';
      *r.ptr++ = '\n';
      ec = co_await write_gather(std::string_view(size, static_cast<std::size_t>(r.ptr - size)), *piece, "\r\n");
    } else {
      sent += piece->size();
      if (sent > *request.body_length) {
        source_status = Status(Code::kInvalidArgument, "request body longer than its Content-Length");
        co_return;
      }
      ec = co_await write_gather(*piece, {}, {});
    }
    if (ec) co_return;
  }
  if (chunked)
    ec = co_await write_all("0\r\n\r\n");
  else if (sent != *request.body_length)
    source_status = Status(Code::kInvalidArgument, "request body shorter than its Content-Length");
}

Task<void> Client::Exchange::write() {
  ec = co_await write_all(bytes);
  if (ec || !streaming) co_return;
  if (request.body_source) {
    co_await write_source();
    co_return;
  }
  while (auto piece = request.body_stream()) {
    if (piece->empty()) continue;
    char size[32];
    auto r = std::to_chars(size, size + 20, piece->size(), 16);
    std::string chunk(size, r.ptr);
    chunk += "\r\n";
    chunk += *piece;
    chunk += "\r\n";
    if ((ec = co_await write_all(chunk))) co_return;
  }
  ec = co_await write_all("0\r\n\r\n");
}

// ---- read ----------------------------------------------------------------------------------------

// Reads once into the connection's buffer (grown or compacted first when short of room): the bytes
// read, 0 with `ec` set on error or EOF.
Task<std::size_t> Client::Exchange::read_some() {
  ClientConn& c = *conn;
  if (c.cap - c.end < 4096) {
    if (c.start > 0) {
      std::memmove(c.buf.get(), c.buf.get() + c.start, c.end - c.start);
      c.end -= c.start;
      c.start = 0;
    }
    if (c.cap - c.end < 4096) {
      std::unique_ptr<char[]> bigger(new char[c.cap * 2]);
      std::memcpy(bigger.get(), c.buf.get(), c.end);
      c.buf = std::move(bigger);
      c.cap *= 2;
    }
  }
  for (;;) {
    std::error_code e;
    ClientConn::Wait want;
    std::size_t n = c.read_some(c.buf.get() + c.end, c.cap - c.end, e, want);
    if (e == asio::error::would_block) {
      e = co_await svckit::detail::WaitAwaiter{c.sock, want};
      if (e) {
        ec = e;
        co_return 0;
      }
      continue;
    }
    if (e) {
      ec = e;
      co_return 0;
    }
    c.end += n;
    co_return n;
  }
}

Task<Result<ClientResponse>> Client::Exchange::read(bool& retry) {
  ClientConn& c = *conn;
  std::size_t consumed = 0;
  ParseError perr;
  bool got_any = false;
  bool have_head = false;
  while (!ec) {
    if (c.end > c.start) {
      got_any = true;
      ParseResult r = parse_response_head(c.buf.get() + c.start, c.end - c.start, opt.limits, c.head, consumed, perr);
      if (r == ParseResult::kError) {
        give_up();
        co_return std::unexpected(Status::from_http(502, "malformed response from " + key + ": " + perr.reason));
      }
      if (r == ParseResult::kComplete) {
        if (c.head.status >= 100 && c.head.status < 200 && c.head.status != 101) {
          c.start += consumed;  // an interim response: the real one follows
          continue;
        }
        have_head = true;
        break;
      }
    }
    if (co_await read_some() == 0 && !ec) ec = asio::error::eof;
  }
  if (!have_head) {
    give_up();
    // A reused connection the server had closed: nothing of ours was processed, send again once.
    if (reused && !got_any && attempt == 0 && call.err().ok() &&
        (idempotent(request.method) || ec == asio::error::eof || ec == asio::error::connection_reset) && !streaming) {
      impl.retries.fetch_add(1, std::memory_order_relaxed);
      retry = true;
      co_return std::unexpected(Status(Code::kUnavailable, "retried"));
    }
    co_return std::unexpected(ended("NO_RESPONSE", "no response from " + key + ": " + ec.message()));
  }

  ClientResponse res;
  res.status = c.head.status;
  res.address = key;
  res.headers = take_header_list();
  res.headers.resize(c.head.header_count);
  for (std::size_t i = 0; i < c.head.header_count; ++i) {
    res.headers[i].first.assign(c.head.headers[i].name);
    res.headers[i].second.assign(c.head.headers[i].value);
  }
  if (c.head.has_content_length) res.content_length = c.head.content_length;
  res.chunked = c.head.chunked;
  bool keep_alive = c.head.keep_alive;
  c.start += consumed;
  if (res.status == 101) {
    // Switched protocols: the connection leaves the pool and is the caller's.
    cancel_reg.reset();
    --pool.open;
    res.upgraded = std::make_shared<UpgradedConnection>(std::move(conn));
    co_return res;
  }
  if (request.on_head) {
    Status st = co_await request.on_head(res);
    if (!st.ok()) {
      give_up();
      co_return std::unexpected(std::move(st));
    }
  }
  Status sink_status;
  if (!co_await read_body(res, keep_alive, sink_status)) {
    give_up();
    if (!sink_status.ok()) co_return std::unexpected(sink_status);
    co_return std::unexpected(ended("RESPONSE_CUT_SHORT", "response from " + key + " ended early: " + ec.message()));
  }
  // Back to the pool, unless the server closes it, bytes are left over, or the pool is full.
  if (keep_alive && c.start == c.end && pool.idle.size() < opt.max_idle_per_host && call.err().ok()) {
    c.start = c.end = 0;
    c.idle_since = Clock::now();
    cancel_reg.reset();
    pool.idle.push_back(std::move(conn));
  } else {
    give_up();
  }
  co_return res;
}

// Hands a piece of the body to the request's sink, or appends it within the client's limit.
bool Client::Exchange::deliver(ClientResponse& res, std::string_view piece, Status& sink_status) {
  if (request.on_body) {
    sink_status = request.on_body(piece);
    return sink_status.ok();
  }
  if (res.body.size() + piece.size() > opt.max_response_body) {
    sink_status = Status(Code::kResourceExhausted, "response body from " + key + " exceeds the client's limit");
    return false;
  }
  res.body.append(piece);
  return true;
}

// The body as its framing says (none, chunked, Content-Length, or until the server closes); false
// when it did not arrive whole or the sink refused it.
Task<bool> Client::Exchange::read_body(ClientResponse& res, bool& keep_alive, Status& sink_status) {
  ClientConn& c = *conn;
  ParseError perr;
  bool no_body = request.method == Method::kHead || res.status == 204 || res.status == 304 || res.status < 200;
  if (no_body) co_return true;
  if (c.head.chunked) {
    ChunkedDecoder decoder(request.on_body || request.body_sink ? ~std::uint64_t{0} >> 1 : opt.max_response_body);
    std::string piece;
    for (;;) {
      std::size_t used = 0;
      piece.clear();
      ParseResult r = decoder.feed(c.buf.get() + c.start, c.end - c.start, piece, used, perr);
      c.start += used;
      if (!piece.empty() && request.body_sink) {
        sink_status = co_await request.body_sink(piece);
        if (!sink_status.ok()) co_return false;
      } else if (!piece.empty() && !deliver(res, piece, sink_status)) {
        co_return false;
      }
      if (r == ParseResult::kComplete) co_return true;
      if (r == ParseResult::kError) {
        sink_status = perr.status == 413
                          ? Status(Code::kResourceExhausted, "response body exceeds the client's limit")
                          : Status::from_http(502, std::string("malformed chunked body: ") + perr.reason);
        co_return false;
      }
      if (c.start == c.end) c.start = c.end = 0;
      if (co_await read_some() == 0) co_return false;
    }
  }
  if (c.head.has_content_length) {
    std::uint64_t left = c.head.content_length;
    if (!request.on_body && !request.body_sink && left > opt.max_response_body) {
      sink_status = Status(Code::kResourceExhausted, "response body from " + key + " exceeds the client's limit");
      co_return false;
    }
    while (left > 0) {
      if (c.end == c.start) {
        c.start = c.end = 0;
        if (co_await read_some() == 0) co_return false;
      }
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, c.end - c.start));
      bool taken = false;
      if (request.body_sink) {
        sink_status = co_await request.body_sink(std::string_view(c.buf.get() + c.start, n));
        taken = sink_status.ok();
      } else {
        taken = deliver(res, std::string_view(c.buf.get() + c.start, n), sink_status);
      }
      c.start += n;
      left -= n;
      if (!taken) co_return false;
    }
    co_return true;
  }
  // Delimited by the server closing the connection.
  keep_alive = false;
  for (;;) {
    if (c.end > c.start && request.body_sink) {
      sink_status = co_await request.body_sink(std::string_view(c.buf.get() + c.start, c.end - c.start));
      if (!sink_status.ok()) co_return false;
    } else if (c.end > c.start &&
               !deliver(res, std::string_view(c.buf.get() + c.start, c.end - c.start), sink_status)) {
      co_return false;
    }
    c.start = c.end = 0;
    if (co_await read_some() == 0) break;  // EOF ends the body
  }
  if (ec && ec != asio::error::eof) co_return false;
  ec = {};
  co_return true;
}

}  // namespace svckit::http
