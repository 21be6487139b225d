// UpgradedConnection: the raw bytes of a client connection after a 101 (svckit/http/stream.hpp),
// through the same transport as the exchange that upgraded it (plain or TLS).
#include <algorithm>
#include <cstring>

#include "svckit/core/detail/io_await.hpp"
#include "svckit/http/detail/client_exchange.hpp"

namespace svckit::http {

UpgradedConnection::UpgradedConnection(std::shared_ptr<ClientConn> conn) : conn_(std::move(conn)) {}

UpgradedConnection::~UpgradedConnection() {
  std::error_code e;
  if (conn_) conn_->sock.close(e);
}

Task<Result<std::size_t>> UpgradedConnection::read(std::span<char> buf) {
  ClientConn& c = *conn_;
  if (c.end > c.start) {  // what came with the 101
    std::size_t n = std::min(buf.size(), c.end - c.start);
    std::memcpy(buf.data(), c.buf.get() + c.start, n);
    c.start += n;
    co_return n;
  }
  for (;;) {
    std::error_code e;
    ClientConn::Wait want;
    std::size_t n = c.read_some(buf.data(), buf.size(), e, want);
    if (e == asio::error::would_block) {
      e = co_await svckit::detail::WaitAwaiter{c.sock, want};
      if (cancelled_) co_return std::unexpected(Status(Code::kCancelled, "cancelled"));
      if (e) co_return std::unexpected(Status(Code::kUnavailable, "upgraded connection: " + e.message()));
      continue;
    }
    if (e == asio::error::eof) co_return std::size_t{0};
    if (e) co_return std::unexpected(Status(Code::kUnavailable, "upgraded connection: " + e.message()));
    co_return n;
  }
}

Task<Status> UpgradedConnection::write(std::string_view data) {
  ClientConn& c = *conn_;
  while (!data.empty()) {
    std::error_code e;
    ClientConn::Wait want;
    std::size_t n = c.write_some(data.data(), data.size(), e, want);
    if (e == asio::error::would_block) {
      e = co_await svckit::detail::WaitAwaiter{c.sock, want};
      if (cancelled_) co_return Status(Code::kCancelled, "cancelled");
      if (e) co_return Status(Code::kUnavailable, "upgraded connection: " + e.message());
      continue;
    }
    if (e) co_return Status(Code::kUnavailable, "upgraded connection: " + e.message());
    data.remove_prefix(n);
  }
  co_return Status();
}

void UpgradedConnection::cancel() {
  cancelled_ = true;
  std::error_code e;
  conn_->sock.cancel(e);
}

}  // namespace svckit::http
