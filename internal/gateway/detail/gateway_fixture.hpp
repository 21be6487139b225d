#pragma once
// Test fixture (not a product header): a gateway on 127.0.0.1 in front of svckit upstreams in the same
// process and a raw-socket upstream that records every byte it receives.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "../gateway.hpp"
#include "svckit/http/middleware.hpp"
#include "svckit/http/server.hpp"
#include "svckit/testing/raw_http_client.hpp"
#include "svckit/trace/tracer.hpp"

namespace svckit::gateway::testing {

using namespace std::chrono_literals;
using http::testing::RawClient;

// Accepts connections and records what arrives; answers each complete head with `answer`.
class RecordingUpstream {
 public:
  explicit RecordingUpstream(std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
      : answer_(std::move(answer)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~RecordingUpstream() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }
  std::string received() {
    std::lock_guard lock(mu_);
    return got_;
  }
  int connections() const { return connections_.load(); }

 private:
  void run() {
    std::vector<int> conns;
    std::vector<std::string> pending;
    while (!stop_) {
      std::vector<pollfd> fds{{fd_, POLLIN, 0}};
      for (int c : conns) fds.push_back({c, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c >= 0) {
          conns.push_back(c);
          pending.emplace_back();
          ++connections_;
        }
      }
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
        char buf[65536];
        ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
        if (n <= 0) {
          ::close(fds[i].fd);
          conns[i - 1] = -1;
          continue;
        }
        {
          std::lock_guard lock(mu_);
          got_.append(buf, static_cast<std::size_t>(n));
        }
        std::string& p = pending[i - 1];
        p.append(buf, static_cast<std::size_t>(n));
        std::size_t end;
        while ((end = p.find("\r\n\r\n")) != std::string::npos) {
          p.erase(0, end + 4);
          ::send(fds[i].fd, answer_.data(), answer_.size(), MSG_NOSIGNAL);
        }
      }
      for (std::size_t i = conns.size(); i-- > 0;)
        if (conns[i] < 0) {
          conns.erase(conns.begin() + static_cast<std::ptrdiff_t>(i));
          pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(i));
        }
    }
    for (int c : conns) ::close(c);
  }
  std::string answer_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::mutex mu_;
  std::string got_;
};

class GatewayFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("gw-test-" + std::to_string(::getpid()) + "-" + std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    std::filesystem::create_directories(dir_);
    routes_path_ = (dir_ / "routes.yaml").string();
    trace::Tracer::set_global(std::make_shared<trace::Tracer>(trace::TracerOptions{}));
  }
  void TearDown() override {
    stop_.cancel();
    if (front_) rt_.block_on(front_->drain());
    for (auto& s : upstreams_) rt_.block_on(s->drain());
    front_.reset();
    gateway_.reset();
    std::filesystem::remove_all(dir_);
    trace::Tracer::set_global(nullptr);
  }
  // An svckit upstream on a free port.
  std::uint16_t start_upstream(http::Router& router, http::ServerTlsOptions tls = {}) {  // router: one of up_routers_
    http::ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.tls = std::move(tls);
    o.limits.max_body = 8ull << 30;  // routes set their own limits
    upstreams_.push_back(std::make_unique<http::Server>(rt_, router, o, log::Logger({.level = log::Level::kOff})));
    EXPECT_TRUE(upstreams_.back()->start().ok());
    return upstreams_.back()->port();
  }
  void write_routes(const std::string& yaml) {
    std::string tmp = routes_path_ + ".tmp";
    {
      std::ofstream out(tmp);
      out << yaml;
    }
    std::filesystem::rename(tmp, routes_path_);  // as editors and config management do
  }
  void start_gateway(const std::string& yaml, GatewaySettings settings = {}, bool watch = false) {
    write_routes(yaml);
    settings.reload_interval = 20ms;
    gateway_ = std::make_unique<Gateway>(rt_, GatewayOptions{.settings = settings,
                                                             .routes_path = routes_path_,
                                                             .discovery = discovery_,
                                                             .auth = auth_,
                                                             .logger = log::Logger({.level = log::Level::kOff})});
    ASSERT_TRUE(gateway_->load().ok());
    front_router_.use(http::middleware::tracing());
    front_router_.use(http::middleware::request_id());
    gateway_->mount(front_router_);
    http::ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.tls = front_tls_;
    front_ = std::make_unique<http::Server>(rt_, front_router_, o, log::Logger({.level = log::Level::kOff}));
    ASSERT_TRUE(front_->start().ok());
    port_ = front_->port();
    if (watch) rt_.spawn(gateway_->watch(stop_));
  }
  std::string url(std::uint16_t port) const { return "http://127.0.0.1:" + std::to_string(port); }

  Runtime rt_{{.workers = 2}};
  std::array<http::Router, 3> up_routers_;
  Context stop_ = Context().with_cancel();
  std::filesystem::path dir_;
  std::string routes_path_;
  std::vector<std::unique_ptr<http::Server>> upstreams_;
  std::shared_ptr<discovery::Discovery> discovery_;  // set before start_gateway: discovery:/// names
  std::optional<auth::VerifierSettings> auth_;       // set before start_gateway: the gateway_auth section
  http::ServerTlsOptions front_tls_;                 // set before start_gateway: TLS on the public port
  std::unique_ptr<Gateway> gateway_;
  http::Router front_router_;
  std::unique_ptr<http::Server> front_;
  std::uint16_t port_ = 0;
};

}  // namespace svckit::gateway::testing
