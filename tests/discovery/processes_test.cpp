// Discovery across real processes: three copies of hello register in a file registry; a client
// balances over them through discovery:///hello, and keeps every call succeeding while one copy is
// stopped with SIGTERM (deregistered before it stops serving: no call even needs a retry) and another
// is killed with SIGKILL (its calls are tried again elsewhere; it leaves the view within its TTL).
// HELLO_BIN and SVCKIT_SOURCE_DIR come from CTest.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>

#include "hello_fleet.hpp"
#include "svckit/discovery/file_registry.hpp"

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
    auto args = e2e::hello_args(hello_, configs_, k,
                                {"discovery.backend=file", "discovery.file.dir=" + (dir_ / "registry").string(),
                                 "discovery.file.ttl=1s", "discovery.file.heartbeat=300ms"});
    pid_t pid = e2e::spawn(args, (dir_ / ("hello-" + std::to_string(k) + ".log")).string());
    pids_.push_back(pid);
    return pid;
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
  ASSERT_TRUE(e2e::eventually([&] { return registry_->read("hello").size() == 3; }, 10s))
      << "registered: " << registry_->read("hello").size();
  client_ = std::make_unique<http::Client>(
      rt_, http::ClientOptions{.discovery = registry_, .balancer = discovery::Policy::kRoundRobin});

  // Round robin over three processes: each gets its third.
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
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(spread[e2e::hello_body(k)], 100, 10) << e2e::hello_body(k);

  // SIGTERM: deregistered first, served through the shutdown delay: no failure, and no retry.
  auto before = client_->stats();
  {
    e2e::Load term(rt_, *client_);
    std::this_thread::sleep_for(500ms);
    ::kill(hellos[0], SIGTERM);
    std::this_thread::sleep_for(2000ms);
    term.stop();
    int status = 0;
    ASSERT_EQ(::waitpid(hellos[0], &status, 0), hellos[0]);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    EXPECT_EQ(term.failed(), 0) << term.first_error();
    EXPECT_GT(term.ok(), 100);
  }
  auto after = client_->stats();
  EXPECT_EQ(after.instance_retries - before.instance_retries, 0u);
  EXPECT_EQ(registry_->read("hello").size(), 2u);

  // SIGKILL: no goodbye. Calls that meet the dead process are tried on the other; it leaves every
  // view within its TTL.
  {
    e2e::Load kill(rt_, *client_);
    std::this_thread::sleep_for(500ms);
    ::kill(hellos[1], SIGKILL);
    auto t0 = std::chrono::steady_clock::now();
    std::int64_t gone_after_ms = -1;
    if (e2e::eventually([&] { return registry_->read("hello").size() == 1; }, 5s)) gone_after_ms = e2e::ms_since(t0);
    std::this_thread::sleep_for(500ms);
    kill.stop();
    EXPECT_EQ(kill.failed(), 0) << kill.first_error();
    EXPECT_GT(kill.ok(), 100);
    EXPECT_GT(client_->stats().instance_retries, after.instance_retries) << "nothing met the dead process";
    EXPECT_GE(gone_after_ms, 0) << "the killed instance never left the registry";
    EXPECT_LT(gone_after_ms, 1000 + 1000);  // TTL + 1 s
  }
  ::waitpid(hellos[1], nullptr, 0);
}

}  // namespace
}  // namespace svckit
