#pragma once
// Test helper (not installed): sockets bound to a free port on 127.0.0.1, for tests that need a port
// before a server takes it (a config that names it) or a socket that swallows what is sent to it.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

namespace svckit::testkit {

struct BoundSocket {
  int fd = -1;
  std::uint16_t port = 0;
};

// A socket of `type` (SOCK_STREAM, SOCK_DGRAM) bound to 127.0.0.1 on a port the kernel picked; the
// caller owns fd.
inline BoundSocket bind_loopback(int type = SOCK_STREAM) {
  BoundSocket out;
  out.fd = ::socket(AF_INET, type, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(out.fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(out.fd, reinterpret_cast<sockaddr*>(&a), &len);
  out.port = ntohs(a.sin_port);
  return out;
}

// A port free now (bound, then released): nothing listens there until someone binds it.
inline std::uint16_t free_port(int type = SOCK_STREAM) {
  BoundSocket s = bind_loopback(type);
  ::close(s.fd);
  return s.port;
}

}  // namespace svckit::testkit
