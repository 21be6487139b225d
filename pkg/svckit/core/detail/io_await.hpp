#pragma once
// Internal: Asio waits as awaitables for svckit coroutines: readiness of a socket or descriptor
// (HTTP server and client, the PostgreSQL driver's libpq socket), a TCP connect, an accept. Each
// resumes its coroutine from the Asio handler, on the loop that owns the I/O object.
// Included from .cpp files only: it pulls in Asio. A standard header comes first: Asio decides how it
// allocates handler memory from libstdc++'s config macros, and a translation unit that includes Asio
// before any of them decides differently from the rest (docs/architecture.md).
// clang-format off
#include <coroutine>
#include <system_error>
#include <asio/ip/tcp.hpp>
// clang-format on

namespace svckit::detail {

// Waits until io is readable or writable (what), or the wait is cancelled. IO is any Asio object
// with async_wait(wait_type, handler): asio::ip::tcp::socket, asio::posix::stream_descriptor.
template <class IO>
struct WaitAwaiter {
  IO& io;
  typename IO::wait_type what;
  std::error_code ec{};
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    io.async_wait(what, [this, h](const std::error_code& e) {
      ec = e;
      h.resume();
    });
  }
  std::error_code await_resume() const noexcept { return ec; }
};
// Spelled out because aggregate deduction is C++20 that clang (clang-tidy, the fuzz build) lacks
// before 17; g++ would deduce without it.
template <class IO>
WaitAwaiter(IO&, typename IO::wait_type) -> WaitAwaiter<IO>;

struct ConnectAwaiter {
  asio::ip::tcp::socket& sock;
  asio::ip::tcp::endpoint endpoint;
  std::error_code ec{};
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    sock.async_connect(endpoint, [this, h](const std::error_code& e) {
      ec = e;
      h.resume();
    });
  }
  std::error_code await_resume() const noexcept { return ec; }
};

struct AcceptAwaiter {
  asio::ip::tcp::acceptor& acceptor;
  asio::ip::tcp::socket& sock;
  std::error_code ec{};
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    acceptor.async_accept(sock, [this, h](const std::error_code& e) {
      ec = e;
      h.resume();
    });
  }
  std::error_code await_resume() const noexcept { return ec; }
};

}  // namespace svckit::detail
