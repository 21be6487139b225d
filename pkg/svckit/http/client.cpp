#include "svckit/http/client.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <charconv>
#include <cstring>
#include <future>
#include <map>
#include <vector>

#include "svckit/core/detail/io_await.hpp"
#include "svckit/core/strings.hpp"
#include "svckit/metrics/metrics.hpp"
#include "svckit/trace/tracer.hpp"

namespace svckit::http {

using asio::ip::tcp;

namespace {

bool idempotent(Method m) {
  return m == Method::kGet || m == Method::kHead || m == Method::kPut || m == Method::kDelete ||
         m == Method::kOptions || m == Method::kTrace;
}

}  // namespace

std::string_view ClientResponse::header(std::string_view name) const noexcept {
  for (auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return {};
}

Result<Url> parse_url(std::string_view url) {
  Url u;
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme)
    return make_error(Code::kInvalidArgument, "unsupported URL \"" + std::string(url) + "\" (http:// only)");
  url.remove_prefix(kScheme.size());
  auto slash = url.find_first_of("/?");
  std::string_view authority = url.substr(0, slash);
  std::string_view rest = slash == std::string_view::npos ? std::string_view() : url.substr(slash);
  if (authority.empty() || authority.find('@') != std::string_view::npos)
    return make_error(Code::kInvalidArgument, "invalid URL authority in \"" + std::string(url) + "\"");
  std::string_view host = authority;
  if (authority.front() == '[') {  // [v6]:port
    auto close = authority.find(']');
    if (close == std::string_view::npos) return make_error(Code::kInvalidArgument, "invalid IPv6 host");
    host = authority.substr(1, close - 1);
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority.front() != ':') return make_error(Code::kInvalidArgument, "invalid port");
  } else {
    auto colon = authority.rfind(':');
    host = authority.substr(0, colon);
    authority = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
  }
  if (!authority.empty()) {
    std::string_view p = authority.substr(1);
    unsigned port = 0;
    auto r = std::from_chars(p.data(), p.data() + p.size(), port);
    if (p.empty() || r.ec != std::errc() || r.ptr != p.data() + p.size() || port == 0 || port > 65535)
      return make_error(Code::kInvalidArgument, "invalid port in URL");
    u.port = static_cast<std::uint16_t>(port);
  }
  if (host.empty()) return make_error(Code::kInvalidArgument, "URL without a host");
  u.host = std::string(host);
  u.target = rest.empty() ? "/" : (rest.front() == '?' ? "/" + std::string(rest) : std::string(rest));
  for (char c : u.target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return make_error(Code::kInvalidArgument, "URL path must be percent-encoded");
  return u;
}

struct ClientConn {
  explicit ClientConn(asio::io_context& io) : sock(io) {}
  tcp::socket sock;
  std::unique_ptr<char[]> buf = std::unique_ptr<char[]>(new char[16 * 1024]);
  std::size_t cap = 16 * 1024, start = 0, end = 0;
  ResponseHead head;
  Clock::time_point idle_since;
};

struct HostPool {
  std::vector<std::shared_ptr<ClientConn>> idle;
  std::size_t open = 0;  // idle + in use
};

struct Client::Impl {
  Runtime& rt;
  ClientOptions options;
  // One map per loop: a coroutine stays on its loop, so pools need no lock.
  std::vector<std::map<std::string, HostPool, std::less<>>> pools;
  std::atomic<std::uint64_t> requests{0}, opened{0}, reused{0}, retries{0};

  Impl(Runtime& r, ClientOptions o) : rt(r), options(std::move(o)), pools(r.size()) {}
};

Client::Client(Runtime& rt, ClientOptions options) : impl_(std::make_unique<Impl>(rt, std::move(options))) {}
Client::~Client() = default;

ClientStats Client::stats() const noexcept {
  return ClientStats{impl_->requests.load(), impl_->opened.load(), impl_->reused.load(), impl_->retries.load()};
}

std::size_t Client::idle_connections() const noexcept {
  std::size_t n = 0;
  for (auto& m : impl_->pools)
    for (auto& [k, p] : m) n += p.idle.size();
  return n;
}

Task<Result<ClientResponse>> Client::get(const Context& ctx, std::string url) {
  ClientRequest r;
  r.url = std::move(url);
  co_return co_await send(ctx, std::move(r));
}

Task<Result<ClientResponse>> Client::post(const Context& ctx, std::string url, std::string body,
                                          std::string content_type) {
  ClientRequest r;
  r.method = Method::kPost;
  r.url = std::move(url);
  r.body = std::move(body);
  r.headers.emplace_back("Content-Type", std::move(content_type));
  co_return co_await send(ctx, std::move(r));
}

namespace {

struct ClientMetrics {
  metrics::CounterVec& requests;
  metrics::HistogramVec& duration;
};

ClientMetrics& client_metrics() {
  auto& r = metrics::Registry::global();
  static ClientMetrics m{
      r.counter_vec({.name = "svckit_http_client_requests_total",
                     .help = "HTTP client calls by upstream host, method and outcome (HTTP status or error code)."},
                    {"host", "method", "status"}),
      r.histogram_vec(
          {.name = "svckit_http_client_request_duration_seconds", .help = "HTTP client call latency by upstream host."},
          {"host", "method"})};
  return m;
}

}  // namespace

// Observability around every call: a client span (child of the caller's span) whose context travels
// in the propagation headers, baggage, and RED metrics per upstream host; none for a probe's call.
Task<Result<ClientResponse>> Client::send(const Context& ctx, ClientRequest request) {
  if (!impl_->options.observe || is_probe(ctx)) co_return co_await send_untraced(ctx, std::move(request));
  auto start = Clock::now();
  std::shared_ptr<trace::Tracer> tracer = trace::Tracer::global();
  auto url = parse_url(request.url);
  std::string host = url ? url->host + ":" + std::to_string(url->port) : std::string("invalid");
  std::string_view method = method_name(request.method);
  Context call = ctx;
  trace::Span span;
  if (tracer) {
    span = tracer->start(ctx, method, trace::SpanKind::kClient);
    if (span.recording()) {
      span.set_attribute("http.request.method", method);
      span.set_attribute("url.full", request.url);
      if (url) {
        span.set_attribute("server.address", url->host);
        span.set_attribute("server.port", std::int64_t{url->port});
      }
    }
    call = trace::with_span(ctx, span.context());
  }
  bool caller_set_trace = false;  // headers the caller wrote themselves win
  for (auto& [k, v] : request.headers)
    caller_set_trace = caller_set_trace || iequals(k, "traceparent") || iequals(k, "b3") ||
                       iequals(k, "uber-trace-id") || iequals(k, "X-B3-TraceId");
  if (auto sc = trace::span_from(call); sc && !caller_set_trace) {
    static const std::vector<trace::Format> kDefault{trace::Format::kW3C};
    trace::inject(
        *sc,
        [&](std::string_view k, std::string_view v) { request.headers.emplace_back(std::string(k), std::string(v)); },
        tracer ? tracer->propagation() : kDefault);
  }
  if (const trace::Baggage* b = trace::baggage_from(ctx); b && !b->empty())
    request.headers.emplace_back("baggage", trace::format_baggage(*b));

  Result<ClientResponse> res = co_await send_untraced(call, std::move(request));

  std::string status = res ? std::to_string(res->status) : std::string(code_name(res.error().code()));
  ClientMetrics& m = client_metrics();
  m.requests.with({host, method, status}).inc();
  m.duration.with({host, method}).observe(std::chrono::duration<double>(Clock::now() - start).count());
  if (span.recording()) {
    if (res) {
      span.set_attribute("http.response.status_code", std::int64_t{res->status});
      if (res->status >= 400) span.set_status(trace::StatusCode::kError, "HTTP " + std::to_string(res->status));
    } else {
      span.record_error(res.error());
    }
  }
  co_return res;
}

Task<Result<ClientResponse>> Client::send_untraced(const Context& ctx, ClientRequest request) {
  Loop* loop = Loop::current();
  if (!loop) throw std::logic_error("http::Client::send awaited outside a svckit loop");
  Impl& impl = *impl_;
  const ClientOptions& opt = impl.options;
  impl.requests.fetch_add(1, std::memory_order_relaxed);
  auto url = parse_url(request.url);
  if (!url) co_return std::unexpected(url.error());
  if (auto st = ctx.err(); !st.ok()) co_return std::unexpected(st);

  // The call's own context: the caller's deadline, or the client's timeout without one.
  Context call = ctx.remaining() == Duration::max() ? ctx.with_timeout(opt.timeout) : ctx.with_cancel();
  svckit::detail::DeadlineGuard guard(call);
  auto ended = [&](std::string_view what) -> Status {
    Status st = call.err();
    if (!st.ok()) return st;
    return Status(Code::kUnavailable, std::string(what));
  };

  std::string key = url->host + ":" + std::to_string(url->port);
  HostPool& pool = impl.pools[loop->index()][key];

  // ---- the request bytes ----
  std::string head;
  head.reserve(256 + request.body.size());
  head += method_name(request.method);
  head += ' ';
  head += url->target;
  head += " HTTP/1.1\r\nHost: ";
  head += url->host;
  if (url->port != 80) head += ":" + std::to_string(url->port);
  head += "\r\n";
  bool has_ua = false;
  for (auto& [k, v] : request.headers) {
    if (iequals(k, "user-agent")) has_ua = true;
    head += k + ": " + v + "\r\n";
  }
  if (!has_ua && !opt.user_agent.empty()) head += "User-Agent: " + opt.user_agent + "\r\n";
  for (auto& [k, v] : ctx.all_metadata()) {
    head += k;
    head += ": ";
    head += v;
    head += "\r\n";
  }
  if (opt.propagate_deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(call.remaining()).count();
    head += "X-Request-Timeout-Ms: " + std::to_string(left > 0 ? left : 0) + "\r\n";
  }
  bool streaming = static_cast<bool>(request.body_stream);
  if (streaming)
    head += "Transfer-Encoding: chunked\r\n";
  else if (!request.body.empty() || request.method == Method::kPost || request.method == Method::kPut ||
           request.method == Method::kPatch)
    head += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  head += "\r\n";
  if (!streaming) head += request.body;

  for (int attempt = 0;; ++attempt) {
    // ---- a connection: an idle one that is still open, a new one, or wait for one ----
    std::shared_ptr<ClientConn> conn;
    bool reused = false;
    while (!conn) {
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
        break;
      }
      if (conn) break;
      if (pool.open < opt.max_connections_per_host) {
        ++pool.open;
        auto c = std::make_shared<ClientConn>(loop->io());
        std::error_code ec;
        auto address = asio::ip::make_address(url->host, ec);
        tcp::endpoint ep;
        if (!ec) {
          ep = tcp::endpoint(address, url->port);
        } else {
          // A named lambda, not a temporary inside the co_await: GCC 12 mis-destroys temporaries with
          // non-trivial members there (see docs/architecture.md).
          auto resolve = [host = url->host]() -> Result<asio::ip::address> {
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
          };
          auto resolved = co_await run_blocking(call, resolve);
          if (!resolved) {
            --pool.open;
            co_return std::unexpected(resolved.error());
          }
          ep = tcp::endpoint(*resolved, url->port);
        }
        auto reg = call.on_cancel([loop, weak = std::weak_ptr<ClientConn>(c)](const Status&) {
          loop->post([weak] {
            if (auto s = weak.lock()) {
              std::error_code e;
              s->sock.cancel(e);
            }
          });
        });
        ec = co_await svckit::detail::ConnectAwaiter{c->sock, ep};
        if (ec) {
          --pool.open;
          co_return std::unexpected(ended("connect " + key + ": " + ec.message()));
        }
        c->sock.non_blocking(true, ec);
        c->sock.set_option(tcp::no_delay(true), ec);
        impl.opened.fetch_add(1, std::memory_order_relaxed);
        conn = std::move(c);
        break;
      }
      // At the per-host limit: wait for a connection to come back, within the call's deadline.
      if (!(co_await sleep_for(call, std::chrono::milliseconds(1))).ok())
        co_return std::unexpected(
            Status(Code::kResourceExhausted, "no connection to " + key + " became free before the deadline")
                .with_metadata("cause", call.err().to_string()));
    }
    if (reused) impl.reused.fetch_add(1, std::memory_order_relaxed);
    ClientConn& c = *conn;
    auto reg = call.on_cancel([loop, weak = std::weak_ptr<ClientConn>(conn)](const Status&) {
      loop->post([weak] {
        if (auto s = weak.lock()) {
          std::error_code e;
          s->sock.cancel(e);
        }
      });
    });
    auto give_up = [&] {
      std::error_code e;
      c.sock.close(e);
      --pool.open;
    };

    // ---- write ----
    auto write_all = [&](std::string_view data) -> Task<std::error_code> {
      while (!data.empty()) {
        std::error_code e;
        std::size_t n = c.sock.write_some(asio::buffer(data.data(), data.size()), e);
        if (e == asio::error::would_block) {
          e = co_await svckit::detail::WaitAwaiter{c.sock, tcp::socket::wait_write};
          if (e) co_return e;
          continue;
        }
        if (e) co_return e;
        data.remove_prefix(n);
      }
      co_return std::error_code();
    };
    std::error_code ec = co_await write_all(head);
    if (!ec && streaming) {
      while (auto piece = request.body_stream()) {
        if (piece->empty()) continue;
        char size[32];
        auto r = std::to_chars(size, size + 20, piece->size(), 16);
        std::string chunk(size, r.ptr);
        chunk += "\r\n";
        chunk += *piece;
        chunk += "\r\n";
        if ((ec = co_await write_all(chunk))) break;
      }
      if (!ec) ec = co_await write_all("0\r\n\r\n");
    }

    // ---- read the head (skipping 1xx) ----
    auto read_some = [&]() -> Task<std::size_t> {
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
        std::size_t n = c.sock.read_some(asio::buffer(c.buf.get() + c.end, c.cap - c.end), e);
        if (e == asio::error::would_block) {
          e = co_await svckit::detail::WaitAwaiter{c.sock, tcp::socket::wait_read};
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
    };
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
        continue;
      }
      co_return std::unexpected(ended("no response from " + key + ": " + ec.message()));
    }

    // ---- the response ----
    ClientResponse res;
    res.status = c.head.status;
    for (std::size_t i = 0; i < c.head.header_count; ++i)
      res.headers.emplace_back(std::string(c.head.headers[i].name), std::string(c.head.headers[i].value));
    bool keep_alive = c.head.keep_alive;
    c.start += consumed;
    Status sink_status;
    auto deliver = [&](std::string_view piece) -> bool {
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
    };
    bool no_body = request.method == Method::kHead || res.status == 204 || res.status == 304 || res.status < 200;
    bool complete = true;
    if (no_body) {
    } else if (c.head.chunked) {
      ChunkedDecoder decoder(request.on_body ? ~std::uint64_t{0} >> 1 : opt.max_response_body);
      std::string piece;
      for (;;) {
        std::size_t used = 0;
        piece.clear();
        ParseResult r = decoder.feed(c.buf.get() + c.start, c.end - c.start, piece, used, perr);
        c.start += used;
        if (!piece.empty() && !deliver(piece)) {
          complete = false;
          break;
        }
        if (r == ParseResult::kComplete) break;
        if (r == ParseResult::kError) {
          sink_status = perr.status == 413
                            ? Status(Code::kResourceExhausted, "response body exceeds the client's limit")
                            : Status::from_http(502, std::string("malformed chunked body: ") + perr.reason);
          complete = false;
          break;
        }
        if (c.start == c.end) c.start = c.end = 0;
        if (co_await read_some() == 0) {
          complete = false;
          break;
        }
      }
    } else if (c.head.has_content_length) {
      std::uint64_t left = c.head.content_length;
      if (!request.on_body && left > opt.max_response_body) {
        sink_status = Status(Code::kResourceExhausted, "response body from " + key + " exceeds the client's limit");
        complete = false;
      }
      while (complete && left > 0) {
        if (c.end == c.start) {
          c.start = c.end = 0;
          if (co_await read_some() == 0) {
            complete = false;
            break;
          }
        }
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, c.end - c.start));
        if (!deliver(std::string_view(c.buf.get() + c.start, n))) complete = false;
        c.start += n;
        left -= n;
      }
    } else {
      // Delimited by the server closing the connection.
      keep_alive = false;
      for (;;) {
        if (c.end > c.start && !deliver(std::string_view(c.buf.get() + c.start, c.end - c.start))) {
          complete = false;
          break;
        }
        c.start = c.end = 0;
        if (co_await read_some() == 0) break;  // EOF ends the body
      }
      if (ec && ec != asio::error::eof) complete = false;
      if (complete) ec = {};
    }
    if (!complete) {
      give_up();
      if (!sink_status.ok()) co_return std::unexpected(sink_status);
      co_return std::unexpected(ended("response from " + key + " ended early: " + ec.message()));
    }
    // Back to the pool, unless the server closes it, bytes are left over, or the pool is full.
    if (keep_alive && c.start == c.end && pool.idle.size() < opt.max_idle_per_host && call.err().ok()) {
      c.start = c.end = 0;
      c.idle_since = Clock::now();
      reg.reset();
      pool.idle.push_back(std::move(conn));
    } else {
      give_up();
    }
    co_return res;
  }
}

namespace {
Task<void> post_for_exporter(std::shared_ptr<Client> client, Context ctx, ClientRequest req,
                             std::shared_ptr<std::promise<Result<ClientResponse>>> done) {
  Result<ClientResponse> r = co_await client->send(ctx, std::move(req));
  done->set_value(std::move(r));
}
}  // namespace

trace::Transport otlp_transport(Runtime& rt) {
  auto client = std::make_shared<Client>(rt, ClientOptions{.observe = false});
  return [client, &rt](const trace::PostRequest& r) -> Result<trace::PostResponse> {
    // After the loops stopped nothing would run the request: say so at once instead of after a timeout.
    if (!rt.running()) return make_error(Code::kUnavailable, "the runtime is not running");
    ClientRequest req;
    req.method = Method::kPost;
    req.url = r.url;
    req.headers = r.headers;
    req.body = r.body;
    auto done = std::make_shared<std::promise<Result<ClientResponse>>>();
    auto future = done->get_future();
    rt.next_loop().spawn(post_for_exporter(client, Context().with_timeout(r.timeout), std::move(req), done));
    if (future.wait_for(r.timeout + std::chrono::seconds(2)) != std::future_status::ready)
      return make_error(Code::kUnavailable, "the runtime is not running");
    Result<ClientResponse> res = future.get();
    if (!res) return std::unexpected(res.error());
    trace::PostResponse out{res->status, std::nullopt, std::move(res->body)};
    std::string_view ra = res->header("Retry-After");
    int secs = 0;
    if (!ra.empty() && std::from_chars(ra.data(), ra.data() + ra.size(), secs).ec == std::errc() && secs >= 0)
      out.retry_after = std::chrono::seconds(secs);
    return out;
  };
}

}  // namespace svckit::http
