#pragma once
// Test helper shared by the HTTP tests (not installed): a raw-socket client.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>

namespace svckit::http::testing {

using namespace std::chrono_literals;

// A deliberately dumb client: raw bytes in, raw bytes out, so tests control framing exactly.
class RawClient {
 public:
  explicit RawClient(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) ADD_FAILURE() << "connect failed";
  }
  ~RawClient() { ::close(fd_); }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }
  // Bytes and FIN in one segment (MSG_MORE holds the bytes back until the FIN goes with them).
  void send_with_fin(std::string_view s) {
    ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL | MSG_MORE);
    ::shutdown(fd_, SHUT_WR);
  }
  void send(std::string_view s) {
    while (!s.empty()) {
      ssize_t n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      s.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  // Reads until `done(buffer)` or EOF or the timeout; returns what arrived.
  template <class F>
  std::string read_until(F done, std::chrono::milliseconds timeout = 5000ms) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done(buf_)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char tmp[65536];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) {
        eof_ = true;
        break;
      }
      buf_.append(tmp, static_cast<std::size_t>(n));
    }
    return buf_;
  }
  struct Response {
    int status = 0;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
  };
  // Reads one whole response (Content-Length framed) from the stream.
  std::optional<Response> response(std::chrono::milliseconds timeout = 5000ms, bool head_request = false) {
    read_until([](const std::string& b) { return b.find("\r\n\r\n") != std::string::npos; }, timeout);
    auto end = buf_.find("\r\n\r\n");
    if (end == std::string::npos) return std::nullopt;
    Response r;
    r.status = std::stoi(buf_.substr(9, 3));
    std::size_t pos = buf_.find("\r\n") + 2;
    while (pos < end) {
      auto eol = buf_.find("\r\n", pos);
      auto line = buf_.substr(pos, eol - pos);
      auto colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (auto& ch : name) ch = static_cast<char>(std::tolower(ch));
      r.headers[name] = line.substr(colon + 2);
      pos = eol + 2;
    }
    std::size_t len = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
    if (r.status == 100 || head_request) len = 0;  // a HEAD response announces a length it does not send
    read_until([&](const std::string& b) { return b.size() >= end + 4 + len; }, timeout);
    r.body = buf_.substr(end + 4, len);
    buf_.erase(0, end + 4 + len);
    return r;
  }
  // True when the server closed the connection (EOF within the timeout).
  bool closed(std::chrono::milliseconds timeout = 3000ms) {
    read_until([&](const std::string&) { return eof_; }, timeout);
    return eof_;
  }

 private:
  int fd_;
  std::string buf_;
  bool eof_ = false;
};

}  // namespace svckit::http::testing
