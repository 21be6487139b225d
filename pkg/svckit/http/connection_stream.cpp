// The streaming side of a server connection (stream.hpp, detail/server_conn.hpp): a request body
// read by the handler piece by piece, a response written by it piece by piece, and raw bytes after a
// 101. The body's pieces are read into the connection's buffer after the head, which is reused for
// every piece, so a body of any size costs one buffer.
#include <charconv>
#include <cstring>

#include "svckit/core/detail/io_await.hpp"
#include "svckit/http/detail/server_conn.hpp"

namespace svckit::http {

namespace {
constexpr std::size_t kStreamRoom = 64 * 1024;  // buffer room after the head for a streamed body
}  // namespace

bool Server::Conn::ConnStream::finish_request() {
  bool keep;
  if (f.head_done) {
    keep = after_response();
  } else {
    if (!f.body_done) c.res.close = true;  // a streamed body left unread is still in the socket
    keep = c.encode_response();
  }
  f = Flags{};
  in_left = out_left = 0;
  return keep;
}

bool Server::Conn::ConnStream::begin_body() {
  const RequestHead& h = c.head;
  if (h.has_content_length && h.content_length > c.body_limit) return false;  // read_body() answers 413
  f.touched = true;
  f.streaming = true;
  f.body_done = !h.chunked && (!h.has_content_length || h.content_length == 0);
  if (f.body_done) return true;
  in_left = h.chunked ? 0 : h.content_length;
  if (h.chunked) decoder.emplace(c.body_limit);
  // body_timeout bounds the whole body, from now, as it does a body the server reads itself: a
  // deadline per wait would let a client trickling a byte a second hold the handler for ever.
  body_deadline = detail::now_ns() + c.srv.options_.body_timeout.count();
  // Room for the pieces after the head, made now: once the handler runs, its views of the head must
  // not move.
  std::size_t have = c.end - c.body_start;
  if (c.cap - c.body_start < kStreamRoom + have) {
    const char* before = c.in.get();
    std::size_t before_start = c.start;
    c.make_room(kStreamRoom, c.cap + 2 * kStreamRoom);
    if (c.in.get() != before || c.start != before_start) c.reparse_head();
  }
  pos = c.body_start;
  return true;
}

std::optional<std::uint64_t> Server::Conn::ConnStream::content_length() const noexcept {
  if (c.head.has_content_length) return c.head.content_length;
  return std::nullopt;
}

bool Server::Conn::ConnStream::has_body() const noexcept {
  return c.head.chunked || (c.head.has_content_length && c.head.content_length > 0);
}

void Server::Conn::ConnStream::body_ended(std::size_t next) {
  f.body_done = true;
  c.next_start = next;
  // The client's next bytes would be a new request: watch for it leaving again.
  if (c.watch) c.watch->arm(c.watch);
}

Status Server::Conn::ConnStream::read_failed() {
  f.broken = true;
  f.body_done = false;
  if (c.timed_out && !c.srv.draining_)
    return Status(Code::kDeadlineExceeded, "BODY_TIMEOUT", "request body not received in time").with_http_status(408);
  return Status(Code::kCancelled, "CLIENT_CLOSED", "the client closed the connection during the request body");
}

Task<Result<std::string_view>> Server::Conn::ConnStream::read() {
  f.touched = true;
  if (!f.streaming) {
    // The server read the whole body before the handler: it is one piece.
    if (f.body_handed || c.req.body().empty()) co_return std::string_view();
    f.body_handed = true;
    co_return c.req.body();
  }
  if (f.body_done) co_return std::string_view();
  if (f.broken) co_return std::unexpected(Status(Code::kFailedPrecondition, "the request body failed before"));
  if (c.head.expect_continue && !f.continue_sent) {
    f.continue_sent = true;
    if (!co_await c.send_continue()) co_return std::unexpected(read_failed());
  }
  // The piece handed out last time is consumed: keep only what follows it.
  if (pos > c.body_start) {
    std::size_t rest = c.end - pos;
    if (rest > 0) std::memmove(c.in.get() + c.body_start, c.in.get() + pos, rest);
    c.end = c.body_start + rest;
    pos = c.body_start;
  }
  for (;;) {
    if (decoder) {
      if (c.end > pos) {
        piece.clear();
        std::size_t used = 0;
        ParseError perr;
        ParseResult r = decoder->feed(c.in.get() + pos, c.end - pos, piece, used, perr);
        pos += used;
        if (r == ParseResult::kError) {
          f.broken = true;
          f.body_done = false;
          co_return std::unexpected(
              perr.status == 413
                  ? Status(Code::kResourceExhausted, "BODY_TOO_LARGE", "request body too large").with_http_status(413)
                  : Status::from_http(perr.status, perr.reason));
        }
        if (r == ParseResult::kComplete) body_ended(pos);
        if (!piece.empty() || f.body_done) co_return std::string_view(piece);
        // All of it was framing: compact and read more.
        std::size_t rest = c.end - pos;
        if (rest > 0) std::memmove(c.in.get() + c.body_start, c.in.get() + pos, rest);
        c.end = c.body_start + rest;
        pos = c.body_start;
      }
    } else if (c.end > pos) {
      auto n = static_cast<std::size_t>(std::min<std::uint64_t>(in_left, c.end - pos));
      std::string_view out(c.in.get() + pos, n);
      pos += n;
      in_left -= n;
      if (in_left == 0) body_ended(pos);
      co_return out;
    }
    c.state = State::kBody;
    c.deadline = body_deadline;
    std::size_t got = co_await c.read_more();
    c.state = State::kHandling;
    c.deadline = 0;
    if (got == 0) co_return std::unexpected(read_failed());
  }
}

Task<Status> Server::Conn::ConnStream::write_head(const Response& res, std::optional<std::uint64_t> length) {
  f.touched = true;
  if (f.head_done) co_return Status(Code::kFailedPrecondition, "the response head was written already");
  f.head_done = true;
  const RequestHead& h = c.head;
  f.raw = res.status == 101;
  f.no_body_out = f.raw || h.method == Method::kHead || res.status < 200 || res.status == 204 || res.status == 304;
  const bool keep = h.keep_alive && !res.close && !c.srv.draining_ && !f.raw;
  std::string& out = c.out;
  out += detail::status_line(res.status, c.scratch);
  out += detail::date_header();
  if (!c.srv.options_.server_name.empty()) {
    out += "Server: ";
    out += c.srv.options_.server_name;
    out += "\r\n";
  }
  for (auto& [k, v] : res.headers()) {
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  if (!f.raw && res.status >= 200 && res.status != 204 && res.status != 304) {
    if (length) {
      out += "Content-Length: ";
      detail::append_uint(out, *length);
      out += "\r\n";
      out_left = f.no_body_out ? 0 : *length;
    } else if (!f.no_body_out && h.version_minor >= 1) {
      out += "Transfer-Encoding: chunked\r\n";
      f.out_chunked = true;
    } else if (!f.no_body_out) {
      out_left = ~std::uint64_t{0};  // HTTP/1.0: the body ends when the connection closes
    }
  }
  if (!f.raw) {
    f.announced_close = !keep || (!length && !f.out_chunked && !f.no_body_out);
    if (f.announced_close)
      out += "Connection: close\r\n";
    else if (h.version_minor == 0)
      out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
  if (f.raw && c.watch) {
    c.watch->watching = false;  // the client's bytes are the tunnel's now
    std::error_code ec;
    c.sock.cancel(ec);
  }
  if (!co_await c.flush({})) {
    f.broken = true;
    co_return Status(Code::kCancelled, "CLIENT_CLOSED", "the client closed the connection");
  }
  c.state = State::kHandling;
  c.deadline = 0;
  co_return Status();
}

Task<Status> Server::Conn::ConnStream::write(std::string_view data) {
  if (!f.head_done || f.finished || f.raw) co_return Status(Code::kFailedPrecondition, "no response body is open");
  if (data.empty() || f.no_body_out) co_return Status();
  if (f.out_chunked) {
    if (f.crlf_pending) c.out += "\r\n";
    char size[20];
    auto r = std::to_chars(size, size + sizeof size, data.size(), 16);
    c.out.append(size, r.ptr);
    c.out += "\r\n";
    f.crlf_pending = true;
  } else {
    if (data.size() > out_left) {
      f.broken = true;
      co_return Status(Code::kInternal, "response body longer than its Content-Length");
    }
    if (out_left != ~std::uint64_t{0}) out_left -= data.size();
  }
  bool ok = co_await c.flush(data);
  c.state = State::kHandling;
  c.deadline = 0;
  if (!ok) {
    f.broken = true;
    co_return Status(Code::kCancelled, "CLIENT_CLOSED", "the client closed the connection");
  }
  co_return Status();
}

Task<Status> Server::Conn::ConnStream::finish() {
  if (!f.head_done || f.raw) co_return Status(Code::kFailedPrecondition, "no response body is open");
  if (f.finished) co_return Status();
  f.finished = true;
  if (!f.out_chunked || f.no_body_out) co_return Status();
  if (f.crlf_pending) c.out += "\r\n";
  f.crlf_pending = false;
  c.out += "0\r\n\r\n";
  bool ok = co_await c.flush({});
  c.state = State::kHandling;
  c.deadline = 0;
  if (!ok) {
    f.broken = true;
    co_return Status(Code::kCancelled, "CLIENT_CLOSED", "the client closed the connection");
  }
  co_return Status();
}

bool Server::Conn::ConnStream::after_response() {
  const bool complete = f.finished && !f.broken && !f.raw && (f.out_chunked || f.no_body_out || out_left == 0);
  // A head that promised keep-alive (written before a drain began) is kept to: the client may already
  // be writing its next request, which the drain answers with Connection: close. Closing here would
  // leave that request unanswered.
  const bool keep = complete && f.body_done && c.head.keep_alive && !c.res.close && !f.announced_close;
  c.big_body = {};
  c.start = c.next_start;
  if (c.start >= c.end) c.start = c.end = 0;
  return keep;
}

Task<Result<std::size_t>> Server::Conn::ConnStream::read_raw(std::span<char> buf) {
  if (!f.raw) co_return std::unexpected(Status(Code::kFailedPrecondition, "the connection was not switched (101)"));
  if (buf.empty()) co_return std::size_t{0};
  // Bytes the client sent with its head (a first frame) come first.
  if (c.end > c.body_start) {
    std::size_t n = std::min(buf.size(), c.end - c.body_start);
    std::memcpy(buf.data(), c.in.get() + c.body_start, n);
    c.body_start += n;
    co_return n;
  }
  std::size_t got = co_await c.read_raw_into(buf.data(), buf.size());
  if (got > 0) co_return got;
  if (c.timed_out) co_return std::unexpected(Status(Code::kCancelled, "the connection was closed by the server"));
  if (f.raw_cancelled) co_return std::unexpected(Status(Code::kCancelled, "cancelled"));
  co_return std::size_t{0};
}

Task<Status> Server::Conn::ConnStream::write_raw(std::string_view bytes) {
  if (!f.raw) co_return Status(Code::kFailedPrecondition, "the connection was not switched (101)");
  bool ok = co_await c.flush(bytes);
  c.state = State::kHandling;
  c.deadline = 0;
  if (!ok) co_return Status(Code::kCancelled, "CLIENT_CLOSED", "the client connection failed");
  co_return Status();
}

void Server::Conn::ConnStream::cancel_raw() {
  f.raw_cancelled = true;
  std::error_code ec;
  c.sock.cancel(ec);
  if (c.poller) c.poller->cancel(c.rw);
}

}  // namespace svckit::http
