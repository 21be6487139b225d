// Discovery across real processes: three copies of hello register in a file registry; a client
// balances over them through discovery:///hello, and keeps every call succeeding while one copy is
// stopped with SIGTERM (deregistered before it stops serving: no call even needs a retry) and another
// is killed with SIGKILL (its calls are tried again elsewhere; it leaves the view within its TTL).
// HELLO_BIN and SVCKIT_SOURCE_DIR come from CTest.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <thread>

#include "svckit/discovery/file_registry.hpp"
#include "svckit/http/client.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace svckit {
namespace {

class ProcessesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* bin = std::getenv("HELLO_BIN");
    const char* src = std::getenv("SVCKIT_SOURCE_DIR");
    ASSERT_TRUE(bin && src) << "HELLO_BIN and SVCKIT_SOURCE_DIR must be set (ctest sets them)";
    hello_ = bin;
    configs_ = fs::path(src) / "configs";
    dir_ = fs::temp_directory_path() / ("svckit-discovery-e2e-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "registry");
    auto r = discovery::FileRegistry::open({.dir = (dir_ / "registry").string(), .ttl = 1s, .heartbeat = 300ms});
    ASSERT_TRUE(r);
    registry_ = *r;
  }
  void TearDown() override {
    for (pid_t p : pids_) {
      ::kill(p, SIGKILL);
      ::waitpid(p, nullptr, 0);
    }
    client_.reset();
    registry_.reset();
    fs::remove_all(dir_);
  }

  pid_t start_hello(int k) {
    std::vector<std::string> args = {hello_,
                                     "--config-dir",
                                     configs_.string(),
                                     "--set",
                                     "http.host=127.0.0.1",
                                     "--set",
                                     "http.port=0",
                                     "--set",
                                     "admin.port=0",
                                     "--set",
                                     "app.workers=1",
                                     "--set",
                                     "app.shutdown_delay=500ms",
                                     "--set",
                                     "admin.readiness_interval=100ms",
                                     "--set",
                                     "log.level=warn",
                                     "--set",
                                     "hello.message=hello-" + std::to_string(k),
                                     "--set",
                                     "discovery.backend=file",
                                     "--set",
                                     "discovery.file.dir=" + (dir_ / "registry").string(),
                                     "--set",
                                     "discovery.file.ttl=1s",
                                     "--set",
                                     "discovery.file.heartbeat=300ms",
                                     "--set",
                                     "discovery.instance_id=hello-" + std::to_string(k)};
    std::string log = (dir_ / ("hello-" + std::to_string(k) + ".log")).string();
    pid_t pid = ::fork();
    if (pid == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      FILE* out = std::fopen(log.c_str(), "w");
      if (out) {
        ::dup2(fileno(out), 1);
        ::dup2(fileno(out), 2);
      }
      ::execv(hello_.c_str(), argv.data());
      std::_Exit(127);
    }
    pids_.push_back(pid);
    return pid;
  }

  template <class F>
  static bool eventually(F f, std::chrono::milliseconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (f()) return true;
      std::this_thread::sleep_for(20ms);
    }
    return f();
  }

  // `threads` callers, each calling discovery:///hello/hello back to back for `length`.
  struct Load {
    std::atomic<int> ok{0}, failed{0};
    std::mutex mu;
    std::map<std::string, int> by_body;
    std::vector<std::string> errors;
  };
  void run_load(Load& load, std::chrono::milliseconds length, int threads = 4) {
    auto until = std::chrono::steady_clock::now() + length;
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&] {
        while (std::chrono::steady_clock::now() < until) {
          auto r = rt_.block_on([&]() -> Task<Result<http::ClientResponse>> {
            Context ctx = Context().with_timeout(2s);  // named: see docs/architecture.md on GCC 12
            auto res = co_await client_->get(ctx, "discovery:///hello/hello");
            co_return res;
          }());
          std::lock_guard lock(load.mu);
          if (r && r->status == 200) {
            ++load.ok;
            ++load.by_body[r->body];
          } else {
            ++load.failed;
            load.errors.push_back(r ? "HTTP " + std::to_string(r->status) : r.error().to_string());
          }
        }
      });
    for (auto& t : ts) t.join();
  }

  std::string hello_;
  fs::path configs_, dir_;
  std::vector<pid_t> pids_;
  Runtime rt_{{.workers = 1}};
  std::shared_ptr<discovery::FileRegistry> registry_;
  std::unique_ptr<http::Client> client_;
};

TEST_F(ProcessesTest, ClientsBalanceAndNoticeNothingWhenInstancesStopOrDie) {
  std::vector<pid_t> hellos;
  for (int k = 0; k < 3; ++k) hellos.push_back(start_hello(k));
  ASSERT_TRUE(eventually([&] { return registry_->read("hello").size() == 3; }, 10s))
      << "registered: " << registry_->read("hello").size();
  client_ = std::make_unique<http::Client>(
      rt_, http::ClientOptions{.discovery = registry_, .balancer = discovery::Policy::kRoundRobin});

  // Round robin over three processes: each gets its third.
  Load warm;
  auto spread = rt_.block_on([&]() -> Task<std::map<std::string, int>> {
    std::map<std::string, int> n;
    for (int k = 0; k < 300; ++k) {
      Context ctx = Context().with_timeout(2s);
      auto r = co_await client_->get(ctx, "discovery:///hello/hello");
      std::string body = r ? r->body : r.error().to_string();
      ++n[body];
    }
    co_return n;
  }());
  for (int k = 0; k < 3; ++k) {
    std::string body = "{\"msg\":\"hello-" + std::to_string(k) + "\"}";
    EXPECT_NEAR(spread[body], 100, 10) << body;
  }

  // SIGTERM: deregistered first, served through the shutdown delay: no failure, and no retry.
  auto before = client_->stats();
  Load term;
  std::thread stopper([&] {
    std::this_thread::sleep_for(500ms);
    ::kill(hellos[0], SIGTERM);
  });
  run_load(term, 2500ms);
  stopper.join();
  int status = 0;
  ASSERT_EQ(::waitpid(hellos[0], &status, 0), hellos[0]);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(term.failed.load(), 0) << (term.errors.empty() ? "" : term.errors.front());
  EXPECT_GT(term.ok.load(), 100);
  auto after = client_->stats();
  EXPECT_EQ(after.instance_retries - before.instance_retries, 0u);
  EXPECT_EQ(registry_->read("hello").size(), 2u);

  // SIGKILL: no goodbye. Calls that meet the dead process are tried on the other; it leaves every
  // view within its TTL.
  Load kill;
  std::atomic<std::int64_t> gone_after_ms{-1};
  std::thread killer([&] {
    std::this_thread::sleep_for(500ms);
    ::kill(hellos[1], SIGKILL);
    auto t0 = std::chrono::steady_clock::now();
    if (eventually([&] { return registry_->read("hello").size() == 1; }, 5s))
      gone_after_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  });
  run_load(kill, 3000ms);
  killer.join();
  EXPECT_EQ(kill.failed.load(), 0) << (kill.errors.empty() ? "" : kill.errors.front());
  EXPECT_GT(kill.ok.load(), 100);
  EXPECT_GT(client_->stats().instance_retries, after.instance_retries) << "nothing met the dead process";
  EXPECT_GE(gone_after_ms.load(), 0) << "the killed instance never left the registry";
  EXPECT_LT(gone_after_ms.load(), 1000 + 1000);  // TTL + 1 s
  ::waitpid(hellos[1], nullptr, 0);
}

}  // namespace
}  // namespace svckit
