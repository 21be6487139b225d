#pragma once
// Internal (server): the state the server keeps per loop and per connection, and the connection's
// request cycle as one method per phase (read the head, route, read the body, handle, respond, close).
// server.cpp owns listening, accepting, timeouts and the drain; connection.cpp the request cycle.
// Per-request state lives in the connection and is reset, never reallocated, between requests.
// clang-format off
#include <coroutine>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <charconv>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <asio/ip/tcp.hpp>
// clang-format on

#include "svckit/http/detail/read_poller.hpp"
#include "svckit/http/detail/tls.hpp"
#include "svckit/http/server.hpp"
#include "svckit/http/stream.hpp"

namespace svckit::http {

namespace detail {
struct RaisedLimit {
  std::uint64_t before, after;  // the soft RLIMIT_NOFILE
  bool enough;
};
// Raises the soft limit on open files to `want` (at most the hard limit); enough: it is `want` or more.
RaisedLimit raise_fd_limit(std::size_t want);

inline std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// Inline: the hot path's response encoding inlines them. "Date: Thu, 26 Nov 2026 18:43:01 GMT\r\n",
// rebuilt once a second per thread; "HTTP/1.1 200 OK\r\n", prebuilt for the common statuses.
inline std::string_view date_header() {
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

inline void append_uint(std::string& out, std::uint64_t v) {
  char tmp[24];
  auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
  out.append(tmp, static_cast<std::size_t>(r.ptr - tmp));
}

inline std::string_view status_line(int status, std::string& scratch) {
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

// Watches a connection while an async handler runs: readable with nothing to read means the client
// closed it, and the request's Context is cancelled (CLIENT_CLOSED). Bytes that arrive (a pipelined
// request, a streamed body) end the watch; a streamed body read to its end arms it again.
struct DisconnectWatch {
  DisconnectWatch(asio::ip::tcp::socket& s, Context c) : sock(s), ctx(std::move(c)) {}
  asio::ip::tcp::socket& sock;
  Context ctx;
  bool watching = true;
  bool armed = false;
  void arm(std::shared_ptr<DisconnectWatch> self);
};
}  // namespace detail

struct Server::Counters {
  std::atomic<std::uint64_t> accepted{0}, rejected{0}, requests{0}, bad{0}, timeouts{0}, exceptions{0}, tls_failed{0};
};

struct Server::LoopState {
  Loop* loop = nullptr;
  std::unique_ptr<asio::ip::tcp::acceptor> acceptor;
  std::unique_ptr<detail::ReadPoller> poller;  // every connection of this loop, for read waits
  std::vector<Conn*> conns;
  int spare_fd = -1;  // given up to refuse a connection when the process is out of descriptors
  std::uint64_t refused_without_fd = 0;
  std::int64_t last_accept_warning = 0;  // steady ns
};

struct Server::Conn {
  enum class State : std::uint8_t { kIdle, kHead, kBody, kHandling, kWriting };
  Conn(Server& s, LoopState& l, asio::ip::tcp::socket so) : srv(s), ls(&l), sock(std::move(so)) {}

  // The whole life of the connection: requests until one of the phases ends it, then close().
  Task<void> run();

  Server& srv;
  LoopState* ls;
  asio::ip::tcp::socket sock;
  std::size_t slot = 0;  // index in ls->conns
  State state = State::kIdle;
  std::int64_t deadline = 0;  // steady ns; 0: none
  bool timed_out = false;     // the sweep (or the drain) cancelled the connection's wait
  std::string remote;
  detail::ReadPoller* poller = nullptr;  // set when the loop's poller took the connection
  detail::ReadPoller::Waiter rw;
  // TLS connections only: the session (null on a plain connection, whose reads and writes test only
  // this pointer) and the client certificate it verified.
  detail::SslPtr ssl;
  std::optional<PeerCertificate> peer;

  // The input buffer: [start, end) holds bytes not yet consumed.
  std::unique_ptr<char[]> in;
  std::size_t cap = 0, start = 0, end = 0;

  // The current request.
  RequestHead head;
  Request req;
  Response res;
  Router::Match match;
  std::size_t consumed = 0;    // bytes of the head
  std::size_t body_start = 0;  // offset of the body in `in`
  std::size_t next_start = 0;  // offset of the next request in `in`
  std::uint64_t body_limit = 0;
  std::string chunked_body;

  std::string out;            // response bytes not yet written
  std::string_view big_body;  // a large response body, written from the Response without a copy
  std::string scratch;
  bool just_flushed = false;             // the last thing done was a write: no point reading speculatively
  std::uint32_t reads_without_wait = 0;  // reads in a row that found bytes waiting

 private:
  void open();
  // Phases, in run()'s order. A phase that returns false has ended the connection (after answering,
  // if it could); the synchronous ones are the hot path's, their coroutine forms the slow path's.
  Task<bool> read_head();
  void route();
  bool body_buffered();
  Task<bool> read_body();
  Task<bool> read_fixed_body(std::size_t len);
  Task<bool> read_chunked_body();
  bool handle_inline();
  Task<void> handle();
  void handle_unrouted();
  void handler_threw(const char* what);
  bool encode_response();
  void close();

  // The handler's streaming side of the connection (stream.hpp), reset per request.
  class ConnStream final : public Stream {
   public:
    explicit ConnStream(Conn& conn) : c(conn) {}
    // Whether the request used the stream at all: the hot path checks this one flag, and only a
    // request that used it pays for finish_request().
    bool touched() const noexcept { return f.touched; }
    // After the handler of a request that used the stream: answers it (unless the handler wrote its
    // own head), says whether the connection goes on, and resets the stream for the next request.
    bool finish_request();
    // A .stream_body() route: the body is left in the socket for read(); false when its declared
    // length is over the limit (the caller answers 413).
    bool begin_body();
    // After a handler that wrote its own head: whether the connection can serve another request.
    bool after_response();

    Task<Result<std::string_view>> read() override;
    bool body_complete() const noexcept override { return f.body_done; }
    std::optional<std::uint64_t> content_length() const noexcept override;
    bool has_body() const noexcept override;
    Task<Status> write_head(const Response& res, std::optional<std::uint64_t> length) override;
    bool head_written() const noexcept override { return f.head_done; }
    Task<Status> write(std::string_view piece) override;
    Task<Status> finish() override;
    Task<Result<std::size_t>> read_raw(std::span<char> buf) override;
    Task<Status> write_raw(std::string_view bytes) override;
    void cancel_raw() override;

   private:
    void body_ended(std::size_t next);
    Status read_failed();
    Conn& c;
    struct Flags {
      bool touched = false;
      bool streaming = false;  // the route streams its body
      bool body_done = true;
      bool broken = false;  // a read or write failed: the connection closes
      bool continue_sent = false;
      bool head_done = false;
      bool out_chunked = false;
      bool no_body_out = false;
      bool finished = false;
      bool raw = false;
      bool raw_cancelled = false;
      bool body_handed = false;      // a body the server read whole was returned by read()
      bool crlf_pending = false;     // the CRLF after the last chunk written goes out with the next bytes
      bool announced_close = false;  // the head written said Connection: close
    } f;
    std::uint64_t in_left = 0;       // Content-Length bytes not yet read
    std::uint64_t out_left = 0;      // Content-Length bytes not yet written
    std::int64_t body_deadline = 0;  // steady ns: the whole streamed body by then
    std::size_t pos = 0;             // unread body bytes start here in `in`
    std::optional<ChunkedDecoder> decoder;
    std::string piece;  // a decoded chunk
  };
  ConnStream stream{*this};
  std::shared_ptr<detail::DisconnectWatch> watch;  // while an async handler runs

  // TLS: the handshake before the first request (false: refused, failed or timed out), and flush()'s
  // form for a TLS connection.
  Task<bool> handshake();
  Task<bool> tls_flush(std::string_view extra);

  // Helpers of the phases.
  // Not coroutines: each picks its plain or TLS form, so that a plain connection's coroutines hold
  // no trace of TLS.
  Task<bool> flush(std::string_view extra);
  Task<bool> plain_flush(std::string_view extra);
  Task<std::size_t> read_raw_into(char* data, std::size_t size);
  template <bool kTls>
  Task<std::size_t> read_raw_as(char* data, std::size_t size);
  Task<void> refuse(int status, std::string_view why);
  bool make_room(std::size_t want, std::size_t max_total);
  Task<std::size_t> read_more();
  template <bool kTls>
  Task<std::size_t> read_more_as();
  void reparse_head();
  Task<bool> send_continue();
  void set_state(State s, std::chrono::nanoseconds timeout);
};

}  // namespace svckit::http
