#pragma once
// A real etcd for a test: Debian's etcd-server started on free 127.0.0.1 ports with a temporary data
// folder, stoppable and restartable on the same ports and data (an outage). make test installs it
// (scripts/deps.sh test); elsewhere, without etcd, the tests that need it skip and say so.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "svckit/testing/ports.hpp"

namespace svckit::testkit {

class EtcdServer {
 public:
  EtcdServer() {
    dir_ = std::filesystem::temp_directory_path() / ("svckit-etcd-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    client_port_ = testkit::free_port();
    peer_port_ = testkit::free_port();
  }
  ~EtcdServer() {
    stop();
    std::filesystem::remove_all(dir_);
  }
  static bool installed() { return std::system("command -v etcd >/dev/null 2>&1") == 0; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(client_port_); }

  // Starts (or restarts) etcd and waits until it answers /health; false if it did not within 15 s.
  bool start() {
    std::string client = "http://127.0.0.1:" + std::to_string(client_port_);
    std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
    std::vector<std::string> args = {"etcd",
                                     "--name",
                                     "t",
                                     "--data-dir",
                                     (dir_ / "data").string(),
                                     "--logger",
                                     "zap",
                                     "--log-level",
                                     "error",
                                     "--listen-client-urls",
                                     client,
                                     "--advertise-client-urls",
                                     client,
                                     "--listen-peer-urls",
                                     peer,
                                     "--initial-advertise-peer-urls",
                                     peer,
                                     "--initial-cluster",
                                     "t=" + peer,
                                     "--initial-cluster-state",
                                     "new"};
    std::string log = (dir_ / "etcd.log").string();
    pid_ = ::fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      if (FILE* out = std::fopen(log.c_str(), "a")) {
        ::dup2(fileno(out), 1);
        ::dup2(fileno(out), 2);
      }
      ::execvp("etcd", argv.data());
      std::_Exit(127);
    }
    std::string probe = "curl -sf -m 1 -o /dev/null " + url() + "/health";
    for (int i = 0; i < 150; ++i) {
      if (std::system(probe.c_str()) == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // etcdctl against this server ("put /k v", "compact 5"...): its exit code.
  int ctl(const std::string& args) const {
    return std::system(("ETCDCTL_API=3 etcdctl --endpoints=" + url() + " " + args + " >/dev/null 2>&1").c_str());
  }

 private:
  std::filesystem::path dir_;
  int client_port_ = 0, peer_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace svckit::testkit
