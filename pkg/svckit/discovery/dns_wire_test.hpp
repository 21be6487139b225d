#pragma once
// Test helper (not installed): DNS packets built by hand, byte by byte, and a scripted DNS server on
// 127.0.0.1 (UDP and TCP on one port, its own thread) whose handler decides, per query, which packets
// go back: right answers, wrong ones, garbage, or nothing.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "svckit/discovery/detail/dns_config.hpp"
#include "svckit/discovery/detail/dns_message.hpp"
#include "svckit/testing/ports.hpp"

namespace svckit::discovery::detail::dns::wire {

using Bytes = std::vector<std::uint8_t>;

inline void u16(Bytes& b, std::uint16_t v) {
  b.push_back(std::uint8_t(v >> 8));
  b.push_back(std::uint8_t(v));
}
inline void u32(Bytes& b, std::uint32_t v) {
  u16(b, std::uint16_t(v >> 16));
  u16(b, std::uint16_t(v));
}
inline void header(Bytes& b, std::uint16_t id, std::uint16_t flags, std::uint16_t qd, std::uint16_t an,
                   std::uint16_t ns = 0, std::uint16_t ar = 0) {
  u16(b, id);
  u16(b, flags);
  u16(b, qd);
  u16(b, an);
  u16(b, ns);
  u16(b, ar);
}
// Uncompressed labels, ending with the root.
inline void name(Bytes& b, std::string_view dotted) {
  while (!dotted.empty()) {
    auto dot = dotted.find('.');
    std::string_view label = dotted.substr(0, dot);
    b.push_back(std::uint8_t(label.size()));
    b.insert(b.end(), label.begin(), label.end());
    dotted = dot == std::string_view::npos ? std::string_view() : dotted.substr(dot + 1);
  }
  b.push_back(0);
}
inline void pointer(Bytes& b, std::uint16_t offset) {
  u16(b, std::uint16_t(0xC000 | offset));
}
inline void question(Bytes& b, std::string_view n, std::uint16_t qtype) {
  name(b, n);
  u16(b, qtype);
  u16(b, kClassIn);
}
// A record's fixed part after its owner name.
inline void rr(Bytes& b, std::uint16_t t, std::uint32_t ttl, std::uint16_t rdlength) {
  u16(b, t);
  u16(b, kClassIn);
  u32(b, ttl);
  u16(b, rdlength);
}

inline constexpr std::uint16_t kAnswer = 0x8180;  // QR, RD, RA, NOERROR
inline constexpr std::uint16_t kQuestionAt = 12;  // offset of the question's name

inline Result<Message> parse_bytes(const Bytes& b) {
  return parse(std::span<const std::uint8_t>(b.data(), b.size()));
}

// An answer to `q` being built: the question copied, records added, counts set by done().
struct Reply {
  Bytes b;
  std::uint16_t an = 0, ns = 0, ar = 0;
  std::uint16_t flags;
  explicit Reply(const Message& q, std::uint16_t flags_ = kAnswer) : flags(flags_) {
    header(b, q.id, flags, 1, 0);
    question(b, q.questions.at(0).name, q.questions.at(0).type);
  }
  Reply& a(std::string_view owner, std::initializer_list<std::uint8_t> address, std::uint32_t ttl = 60,
           int section = 0) {
    name(b, owner);
    rr(b, address.size() == 4 ? type::kA : type::kAaaa, ttl, std::uint16_t(address.size()));
    b.insert(b.end(), address);
    count(section);
    return *this;
  }
  Reply& srv(std::string_view owner, std::uint16_t priority, std::uint16_t weight, std::uint16_t port,
             std::string_view target, std::uint32_t ttl = 60) {
    name(b, owner);
    Bytes t;
    name(t, target);
    rr(b, type::kSrv, ttl, std::uint16_t(6 + t.size()));
    u16(b, priority);
    u16(b, weight);
    u16(b, port);
    b.insert(b.end(), t.begin(), t.end());
    count(0);
    return *this;
  }
  Reply& soa(std::string_view owner, std::uint32_t ttl, std::uint32_t minimum) {
    name(b, owner);
    rr(b, type::kSoa, ttl, 1 + 1 + 20);
    b.insert(b.end(), {0, 0});  // mname and rname: the root
    for (std::uint32_t v : {1u, 2u, 3u, 4u, minimum}) u32(b, v);
    count(1);
    return *this;
  }
  Bytes done() const {
    Bytes out = b;
    out[2] = std::uint8_t(flags >> 8);
    out[3] = std::uint8_t(flags);
    out[6] = std::uint8_t(an >> 8);
    out[7] = std::uint8_t(an);
    out[8] = std::uint8_t(ns >> 8);
    out[9] = std::uint8_t(ns);
    out[10] = std::uint8_t(ar >> 8);
    out[11] = std::uint8_t(ar);
    return out;
  }

 private:
  void count(int section) { ++(section == 0 ? an : section == 1 ? ns : ar); }
};

// A header-only answer with an rcode (SERVFAIL, FORMERR...) and the question, or without it.
inline Bytes error_reply(const Message& q, std::uint8_t rc, bool with_question = true) {
  Bytes b;
  header(b, q.id, std::uint16_t(0x8180 | rc), with_question ? 1 : 0, 0);
  if (with_question) question(b, q.questions.at(0).name, q.questions.at(0).type);
  return b;
}

// A server on 127.0.0.1 that hands every query to `handler` and sends back what it returns (nothing:
// no answer). Queries it could not parse are not handed on.
class FakeDns {
 public:
  struct Seen {
    Message query;
    Bytes raw;
    bool tcp = false;
    std::uint16_t source_port = 0;
  };
  using Handler = std::function<std::vector<Bytes>(const Seen& query)>;

  explicit FakeDns(Handler handler) : handler_(std::move(handler)) {
    // A port free for both UDP and TCP: the kernel's free UDP port may be another test's TCP port.
    for (;;) {
      testkit::BoundSocket u = testkit::bind_loopback(SOCK_DGRAM);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(u.port);
      int t = ::socket(AF_INET, SOCK_STREAM, 0);
      int one = 1;
      ::setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (::bind(t, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(t, 16) == 0) {
        udp_ = u.fd;
        tcp_ = t;
        port_ = u.port;
        break;
      }
      ::close(t);
      ::close(u.fd);
    }
    thread_ = std::thread([this] { run(); });
  }
  ~FakeDns() {
    stop_ = true;
    thread_.join();
    ::close(udp_);
    ::close(tcp_);
  }
  Server server() const { return Server{"127.0.0.1", std::uint16_t(port_)}; }
  std::vector<Seen> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  void run() {
    while (!stop_) {
      pollfd fds[2] = {{udp_, POLLIN, 0}, {tcp_, POLLIN, 0}};
      if (::poll(fds, 2, 20) <= 0) continue;
      if (fds[0].revents & POLLIN) serve_udp();
      if (fds[1].revents & POLLIN) serve_tcp();
    }
  }
  std::vector<Bytes> handle(Seen s) {
    auto m = parse_bytes(s.raw);
    if (!m || m->questions.empty()) return {};
    s.query = *m;
    {
      std::lock_guard lock(mu_);
      seen_.push_back(s);
    }
    return handler_(s);
  }
  void serve_udp() {
    Bytes buf(65536);
    sockaddr_in from{};
    socklen_t len = sizeof from;
    ssize_t n = ::recvfrom(udp_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n <= 0) return;
    buf.resize(std::size_t(n));
    for (const Bytes& out : handle(Seen{{}, buf, false, ntohs(from.sin_port)}))
      ::sendto(udp_, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
  }
  static bool read_all(int fd, std::uint8_t* p, std::size_t n) {
    while (n > 0) {
      ssize_t r = ::read(fd, p, n);
      if (r <= 0) return false;
      p += r;
      n -= std::size_t(r);
    }
    return true;
  }
  void serve_tcp() {
    int c = ::accept(tcp_, nullptr, nullptr);
    if (c < 0) return;
    std::uint8_t len[2];
    if (read_all(c, len, 2)) {
      Bytes buf((std::size_t(len[0]) << 8) | len[1]);
      if (read_all(c, buf.data(), buf.size())) {
        for (const Bytes& out : handle(Seen{{}, buf, true, 0})) {
          Bytes framed = {std::uint8_t(out.size() >> 8), std::uint8_t(out.size())};
          framed.insert(framed.end(), out.begin(), out.end());
          (void)!::write(c, framed.data(), framed.size());
        }
      }
    }
    ::close(c);
  }

  Handler handler_;
  int udp_ = -1, tcp_ = -1, port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<Seen> seen_;
  std::thread thread_;
};

}  // namespace svckit::discovery::detail::dns::wire
