#pragma once
// Shared by the discovery end-to-end tests: copies of cmd/hello started as real processes (each with
// its own instance id and message, registering in whatever registry the extra --set items name), a
// wait-until, and a load of discovery:///hello/hello calls from several threads that counts what the
// callers saw.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "svckit/http/client.hpp"

namespace svckit::e2e {

// Forks and execs argv (searched in PATH) with stdout and stderr appended to `log`.
inline pid_t spawn(std::vector<std::string> args, const std::string& log) {
  pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (FILE* out = std::fopen(log.c_str(), "a")) {
      ::dup2(fileno(out), 1);
      ::dup2(fileno(out), 2);
    }
    ::execvp(argv[0], argv.data());
    std::_Exit(127);
  }
  return pid;
}

// hello's command line for copy `k` (instance id and message hello-<k>): loopback, ephemeral ports,
// one worker, readiness every 100 ms, a 500 ms shutdown delay; `sets` adds the registry's settings.
inline std::vector<std::string> hello_args(const std::string& bin, const std::filesystem::path& configs, int k,
                                           const std::vector<std::string>& sets) {
  std::vector<std::string> args = {bin, "--config-dir", configs.string()};
  std::vector<std::string> all = {"http.host=127.0.0.1",
                                  "http.port=0",
                                  "admin.port=0",
                                  "app.workers=1",
                                  "app.shutdown_delay=500ms",
                                  "admin.readiness_interval=100ms",
                                  "log.level=warn",
                                  "hello.message=hello-" + std::to_string(k),
                                  "discovery.instance_id=hello-" + std::to_string(k)};
  all.insert(all.end(), sets.begin(), sets.end());
  for (auto& s : all) {
    args.push_back("--set");
    args.push_back(s);
  }
  return args;
}

// hello's answer for copy k.
inline std::string hello_body(int k) {
  return "{\"msg\":\"hello-" + std::to_string(k) + "\"}";
}

template <class F>
bool eventually(F f, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return f();
}

inline std::int64_t ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
}

// `threads` callers, each calling `url` back to back (a `deadline` each) until stop().
class Load {
 public:
  Load(Runtime& rt, http::Client& client, std::string url = "discovery:///hello/hello", int threads = 4,
       std::chrono::milliseconds deadline = std::chrono::milliseconds(2000))
      : rt_(rt), client_(client), url_(std::move(url)), deadline_(deadline) {
    for (int t = 0; t < threads; ++t) threads_.emplace_back([this] { run(); });
  }
  ~Load() { stop(); }
  Load(const Load&) = delete;
  Load& operator=(const Load&) = delete;

  void stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
  int ok() const { return ok_.load(); }
  int failed() const { return failed_.load(); }
  std::map<std::string, int> by_body() {
    std::lock_guard lock(mu_);
    return by_body_;
  }
  std::string first_error() {
    std::lock_guard lock(mu_);
    return errors_.empty() ? std::string() : errors_.front();
  }

 private:
  void run() {
    while (!stop_) {
      auto r = rt_.block_on([this]() -> Task<Result<http::ClientResponse>> {
        Context ctx = Context().with_timeout(deadline_);  // named: see docs/architecture.md on GCC 12
        auto res = co_await client_.get(ctx, url_);
        co_return res;
      }());
      std::lock_guard lock(mu_);
      if (r && r->status == 200) {
        ++ok_;
        ++by_body_[r->body];
      } else {
        ++failed_;
        errors_.push_back(r ? "HTTP " + std::to_string(r->status) : r.error().to_string());
      }
    }
  }

  Runtime& rt_;
  http::Client& client_;
  std::string url_;
  std::chrono::milliseconds deadline_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0}, failed_{0};
  std::mutex mu_;
  std::map<std::string, int> by_body_;
  std::vector<std::string> errors_;
  std::vector<std::thread> threads_;  // last: started once the rest is in place
};

}  // namespace svckit::e2e
