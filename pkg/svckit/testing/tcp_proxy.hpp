#pragma once
// Test helper (not installed): a TCP proxy on 127.0.0.1 in front of one port, that a test can cut
// (every connection through it closed, new ones refused) and restore, to break a client's link to a
// server that itself stays up. Blocking sockets on threads of its own; bounded by the test.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace svckit::testkit {

class TcpProxy {
 public:
  explicit TcpProxy(std::uint16_t target) : target_(target) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a = loopback(0);
    ::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listener_, 64);
    socklen_t len = sizeof a;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~TcpProxy() {
    stop_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    acceptor_.join();
    ::close(listener_);
    cut();
    std::lock_guard lock(mu_);
    for (auto& t : pumps_) t.join();
    for (int fd : fds_) ::close(fd);
  }
  std::uint16_t port() const { return port_; }

  // Closes every connection through the proxy and refuses new ones until restore().
  void cut() {
    cut_ = true;
    std::lock_guard lock(mu_);
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
  }
  void restore() { cut_ = false; }

 private:
  static sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    return a;
  }
  void accept_loop() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      if (cut_) {
        ::close(client);
        continue;
      }
      int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a = loopback(target_);
      if (::connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(client);
        ::close(server);
        continue;
      }
      std::lock_guard lock(mu_);
      fds_.push_back(client);
      fds_.push_back(server);
      pumps_.emplace_back([client, server] { pump(client, server); });
      pumps_.emplace_back([client, server] { pump(server, client); });
    }
  }
  // Copies from one socket to the other until either side ends; then ends both directions.
  static void pump(int from, int to) {
    char buf[16384];
    for (;;) {
      ssize_t n = ::read(from, buf, sizeof buf);
      if (n <= 0) break;
      for (ssize_t off = 0; off < n;) {
        ssize_t w = ::send(to, buf + off, static_cast<std::size_t>(n - off), MSG_NOSIGNAL);
        if (w <= 0) {
          n = -1;
          break;
        }
        off += w;
      }
      if (n < 0) break;
    }
    ::shutdown(from, SHUT_RDWR);
    ::shutdown(to, SHUT_RDWR);
  }

  std::uint16_t target_;
  std::uint16_t port_ = 0;
  int listener_ = -1;
  std::atomic<bool> stop_{false}, cut_{false};
  std::mutex mu_;
  std::vector<int> fds_;  // closed when the proxy goes (the pumps only shut them down)
  std::vector<std::thread> pumps_;
  std::thread acceptor_;
};

}  // namespace svckit::testkit
