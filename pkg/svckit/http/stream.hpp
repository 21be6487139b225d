#pragma once
// The connection under a request, for handlers that stream: a request body read piece by piece
// (routes marked .stream_body(): the server reads no body before the handler), a response written
// piece by piece (any route), and the raw byte stream after a `101 Switching Protocols` (Upgrade).
// A proxy is built from these: req.stream() is set for every request a server hands to a handler.
//
// ```cpp
//   Task<void> echo(http::Request& req, http::Response& res) {
//     http::Stream& s = *req.stream();
//     res.status = 200;
//     res.set_header("Content-Type", "application/octet-stream");
//     if (!(co_await s.write_head(res, std::nullopt)).ok()) co_return;   // chunked (HTTP/1.1)
//     for (;;) {
//       Result<std::string_view> piece = co_await s.read();
//       if (!piece || piece->empty()) break;                             // an error, or the end
//       if (!(co_await s.write(*piece)).ok()) co_return;
//     }
//     static_cast<void>(co_await s.finish());
//   }
//   // router.post("/echo", echo).stream_body().body_limit(1ull << 30);
// ```
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "svckit/core/status.hpp"
#include "svckit/core/task.hpp"

namespace svckit::http {

class Response;

class Stream {
 public:
  virtual ~Stream() = default;

  // ---- the request body (routes with .stream_body()) ----
  // The next piece of the body, decoded from its framing (Content-Length or chunked; trailers are
  // validated and dropped), valid until the next call; empty at the end. `Expect: 100-continue` is
  // answered with the first call. Errors: 413 RESOURCE_EXHAUSTED past the route's body limit,
  // 400 for a malformed chunk, 408 DEADLINE_EXCEEDED when no byte came for http.body_timeout,
  // CANCELLED when the client went away. A body the handler does not read to the end closes the
  // connection after the response.
  virtual Task<Result<std::string_view>> read() = 0;
  // True once read() returned the end (or the request had no body).
  virtual bool body_complete() const noexcept = 0;
  // The body's framing as the client sent it: its Content-Length, or nullopt when chunked (or none:
  // see has_body()).
  virtual std::optional<std::uint64_t> content_length() const noexcept = 0;
  virtual bool has_body() const noexcept = 0;

  // ---- the response ----
  // Writes res's status line and headers now (res.body is ignored), framed by `length`: a
  // Content-Length, or nullopt for chunked (HTTP/1.1) or close-delimited (HTTP/1.0). The server adds
  // Date, Server and Connection; res must not carry Content-Length, Transfer-Encoding or
  // Connection. For HEAD, 1xx, 204 and 304 no body follows (a HEAD answer keeps the length given).
  // Status 101 switches the connection to raw bytes (read_raw / write_raw) and closes it when the
  // handler returns. After write_head the server writes nothing else for this request.
  virtual Task<Status> write_head(const Response& res, std::optional<std::uint64_t> length) = 0;
  virtual bool head_written() const noexcept = 0;
  // One piece of the body, framed as write_head said (a chunk when chunked); a piece past a
  // Content-Length is an error.
  virtual Task<Status> write(std::string_view piece) = 0;
  // Ends the body (the last chunk); the connection stays open for the next request only if every
  // byte promised was written and the request body was read to its end.
  virtual Task<Status> finish() = 0;

  // ---- after 101 Switching Protocols ----
  // Bytes from the client (those that arrived with the request's head first): how many were read
  // into buf, 0 at the client's end of stream; an error when the connection failed or cancel_raw()
  // ended the wait.
  virtual Task<Result<std::size_t>> read_raw(std::span<char> buf) = 0;
  virtual Task<Status> write_raw(std::string_view bytes) = 0;
  // Ends a pending read_raw or write_raw with CANCELLED (from the connection's loop).
  virtual void cancel_raw() = 0;
};

}  // namespace svckit::http
