#pragma once
// A real DNS server for a test: Debian's dnsmasq (dnsmasq-base) on 127.0.0.1 and a free port (UDP
// and TCP), authoritative for every name (unknown names are NXDOMAIN), with a hosts file the test
// rewrites and reloads (SIGHUP) and SRV records given at start. Records have a 1 s TTL. It can be
// stopped and started again on the same port (an outage). make test installs it (scripts/deps.sh
// test); elsewhere the tests that need it skip and say so.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace svckit::testkit {

class Dnsmasq {
 public:
  static constexpr const char* kBinary = "/usr/sbin/dnsmasq";

  Dnsmasq() {
    dir_ = std::filesystem::temp_directory_path() /
           ("svckit-dnsmasq-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    port_ = free_port();
    set_hosts("");
  }
  ~Dnsmasq() {
    stop();
    std::filesystem::remove_all(dir_);
  }
  static bool installed() { return ::access(kBinary, X_OK) == 0; }
  int port() const { return port_; }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::filesystem::path& dir() const { return dir_; }

  // The hosts file ("127.0.0.11 user.svc.test" lines); call reload() for a running server to see it.
  void set_hosts(const std::string& text) { std::ofstream(dir_ / "hosts") << text; }
  // SRV records as dnsmasq's --srv-host takes them: "_http._tcp.user.svc.test,pod-1.svc.test,8080,0,50".
  void set_srv(std::vector<std::string> records) { srv_ = std::move(records); }
  // Re-reads the hosts file and clears the cache.
  void reload() const {
    if (pid_ > 0) ::kill(pid_, SIGHUP);
  }

  // Starts (or restarts) dnsmasq and waits until it accepts TCP on its port; false if not within 5 s.
  bool start() {
    std::vector<std::string> args = {kBinary,
                                     "--keep-in-foreground",
                                     "--conf-file=/dev/null",
                                     "--port=" + std::to_string(port_),
                                     "--listen-address=127.0.0.1",
                                     "--bind-interfaces",
                                     "--no-resolv",
                                     "--no-hosts",
                                     "--addn-hosts=" + (dir_ / "hosts").string(),
                                     "--local=/#/",
                                     "--local-ttl=1",
                                     "--pid-file=",
                                     "--log-facility=" + (dir_ / "dnsmasq.log").string()};
    if (passwd* pw = ::getpwuid(::geteuid())) args.push_back(std::string("--user=") + pw->pw_name);
    for (const std::string& s : srv_) args.push_back("--srv-host=" + s);
    pid_ = ::fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(kBinary, argv.data());
      std::_Exit(127);
    }
    for (int i = 0; i < 100; ++i) {
      if (accepts()) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  bool accepts() const {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port_));
    bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(s);
    return ok;
  }
  // A port free for both UDP and TCP on 127.0.0.1.
  static int free_port() {
    for (;;) {
      int u = ::socket(AF_INET, SOCK_DGRAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      ::bind(u, reinterpret_cast<sockaddr*>(&a), sizeof a);
      socklen_t len = sizeof a;
      ::getsockname(u, reinterpret_cast<sockaddr*>(&a), &len);
      int t = ::socket(AF_INET, SOCK_STREAM, 0);
      bool tcp_free = ::bind(t, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      ::close(t);
      ::close(u);
      if (tcp_free) return ntohs(a.sin_port);
    }
  }
  std::filesystem::path dir_;
  int port_ = 0;
  std::vector<std::string> srv_;
  pid_t pid_ = -1;
};

}  // namespace svckit::testkit
