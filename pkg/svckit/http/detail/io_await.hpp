#pragma once
// Internal: Asio socket operations as awaitables for svckit coroutines (server and client). Included
// from .cpp files only: it pulls in Asio.
#include <asio/ip/tcp.hpp>
#include <coroutine>
#include <system_error>

namespace svckit::http::detail {

// Waits until the socket is readable or writable (or the wait is cancelled).
struct WaitAwaiter {
  asio::ip::tcp::socket& sock;
  asio::ip::tcp::socket::wait_type what;
  std::error_code ec;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    sock.async_wait(what, [this, h](const std::error_code& e) {
      ec = e;
      h.resume();
    });
  }
  std::error_code await_resume() const noexcept { return ec; }
};

struct ConnectAwaiter {
  asio::ip::tcp::socket& sock;
  asio::ip::tcp::endpoint endpoint;
  std::error_code ec;
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
  std::error_code ec;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    acceptor.async_accept(sock, [this, h](const std::error_code& e) {
      ec = e;
      h.resume();
    });
  }
  std::error_code await_resume() const noexcept { return ec; }
};

}  // namespace svckit::http::detail
