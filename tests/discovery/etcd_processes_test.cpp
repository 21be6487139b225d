// Discovery across real processes and a real etcd (started by the test on free ports): three copies
// of hello register in etcd with 2 s leases, and a client follows discovery:///hello through an
// EtcdRegistry while several threads keep calling it.
// - Round robin gives each copy its third; SIGTERM deregisters a copy before it stops accepting, so no
//   call fails and none is even retried.
// - kill -9: the copy leaves every watcher's view within its lease TTL + 1 s, and no call fails (the
//   calls that met it are idempotent GETs, tried again on another copy).
// - etcd stopped for 10 s and started again on its data: the client keeps calling the last set it
//   knew without a failure, and afterwards registrations and watches come back by themselves (a
//   fourth copy started during the outage appears, every key is in etcd again and stays).
// HELLO_BIN and SVCKIT_SOURCE_DIR come from CTest.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "hello_fleet.hpp"
#include "svckit/discovery_etcd/etcd_registry.hpp"
#include "svckit/testing/discovery_seen.hpp"
#include "svckit/testing/etcd_fixture.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace svckit {
namespace {

using Ids = testkit::Seen::Ids;
constexpr auto kTtl = 2s;  // the shortest lease etcd grants

bool has(const Ids& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

class EtcdProcessesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* bin = std::getenv("HELLO_BIN");
    const char* src = std::getenv("SVCKIT_SOURCE_DIR");
    ASSERT_TRUE(bin && src) << "HELLO_BIN and SVCKIT_SOURCE_DIR must be set (ctest sets them)";
    if (!testkit::EtcdServer::installed()) GTEST_SKIP() << "etcd is not installed (make test installs etcd-server)";
    hello_ = bin;
    configs_ = fs::path(src) / "configs";
    dir_ = fs::temp_directory_path() / ("svckit-discovery-etcd-e2e-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    etcd_ = std::make_unique<testkit::EtcdServer>();
    ASSERT_TRUE(etcd_->start()) << "etcd did not start";
    registry_ = open();
    view_watch_ = registry_->watch("hello", [this](const std::vector<discovery::Instance>& set) { view_.add(set); });
  }
  void TearDown() override {
    for (pid_t p : pids_) {
      ::kill(p, SIGKILL);
      ::waitpid(p, nullptr, 0);
    }
    client_.reset();
    view_watch_.reset();
    if (registry_) registry_->close();
    registry_.reset();
    etcd_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  std::shared_ptr<discovery::EtcdRegistry> open() {
    discovery::EtcdOptions o;
    o.endpoints = {etcd_->url()};
    o.lease_ttl = kTtl;
    o.backoff_min = 50ms;
    o.backoff_max = 500ms;
    return discovery::EtcdRegistry::create(rt_, o);
  }

  pid_t start_hello(int k) {
    auto args = e2e::hello_args(
        hello_, configs_, k,
        {"discovery.backend=etcd", "discovery.etcd.endpoints=" + etcd_->url(), "discovery.etcd.lease_ttl=2s",
         "discovery.etcd.backoff_min=50ms", "discovery.etcd.backoff_max=500ms"});
    pid_t pid = e2e::spawn(args, (dir_ / ("hello-" + std::to_string(k) + ".log")).string());
    pids_.push_back(pid);
    return pid;
  }

  // Starts hello-0..2 and the client once all three are in the view.
  std::vector<pid_t> start_three() {
    std::vector<pid_t> pids;
    for (int k = 0; k < 3; ++k) pids.push_back(start_hello(k));
    bool all = view_.wait_for([](const Ids& s) { return s == Ids{"hello-0", "hello-1", "hello-2"}; }, 15s);
    EXPECT_TRUE(all) << "in the view: " << view_.last().size();
    client_ = std::make_unique<http::Client>(
        rt_, http::ClientOptions{.discovery = registry_, .balancer = discovery::Policy::kRoundRobin});
    return pids;
  }

  // The instances etcd holds now, as a fresh registry lists them.
  Ids listed() {
    auto r = open();
    auto set = rt_.block_on(r->instances(Context().with_timeout(5s), "hello"));
    r->close();
    Ids out;
    if (set)
      for (auto& i : *set) out.push_back(i.id);
    return out;
  }

  // Waits (bounded) for a child to exit; its wait status, or -1.
  static int reap(pid_t pid, std::chrono::milliseconds limit) {
    int status = -1;
    bool done = e2e::eventually([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, limit);
    return done ? status : -1;
  }

  std::string hello_;
  fs::path configs_, dir_;
  std::vector<pid_t> pids_;
  Runtime rt_{{.workers = 1}};
  std::unique_ptr<testkit::EtcdServer> etcd_;
  std::shared_ptr<discovery::EtcdRegistry> registry_;
  testkit::Seen view_;
  std::unique_ptr<discovery::Watch> view_watch_;
  std::unique_ptr<http::Client> client_;
};

TEST_F(EtcdProcessesTest, RoundRobinSharesAndSigtermCostsNoFailureAndNoRetry) {
  auto hellos = start_three();
  ASSERT_TRUE(client_);

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

  // hello-0's own address, to call it directly once it has left the view.
  auto set = rt_.block_on(registry_->instances(Context().with_timeout(5s), "hello"));
  ASSERT_TRUE(set && !set->empty() && (*set)[0].id == "hello-0");
  auto endpoint = (*set)[0].endpoint("http");
  ASSERT_TRUE(endpoint);
  std::string direct = "http://" + std::string(*endpoint) + "/hello";

  auto before = client_->stats();
  e2e::Load load(rt_, *client_);
  std::this_thread::sleep_for(500ms);
  auto t0 = std::chrono::steady_clock::now();
  ::kill(hellos[0], SIGTERM);
  ASSERT_TRUE(view_.wait_for([](const Ids& s) { return !has(s, "hello-0"); }, 5s)) << "never deregistered";
  auto left_ms = e2e::ms_since(t0);
  // Out of the view, and still serving: deregistration came before it stopped accepting.
  http::Client plain(rt_);
  auto still = rt_.block_on(plain.get(Context().with_timeout(1s), direct));
  EXPECT_TRUE(still && still->status == 200) << (still ? std::to_string(still->status) : still.error().to_string());
  int status = reap(hellos[0], 10s);
  auto exited_ms = e2e::ms_since(t0);
  std::this_thread::sleep_for(500ms);
  load.stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_LT(left_ms, exited_ms);
  EXPECT_EQ(load.failed(), 0) << load.first_error();
  EXPECT_GT(load.ok(), 100);
  auto retries = client_->stats().instance_retries - before.instance_retries;
  EXPECT_EQ(retries, 0u);
  EXPECT_EQ(listed(), (Ids{"hello-1", "hello-2"}));
  std::printf("round robin over 300 calls: %d / %d / %d\n", spread[e2e::hello_body(0)], spread[e2e::hello_body(1)],
              spread[e2e::hello_body(2)]);
  std::printf(
      "SIGTERM: %d calls, %d failed, %llu instance retries; out of the view after %lld ms, exited after %lld ms\n",
      load.ok() + load.failed(), load.failed(), static_cast<unsigned long long>(retries),
      static_cast<long long>(left_ms), static_cast<long long>(exited_ms));
}

TEST_F(EtcdProcessesTest, AKilledInstanceLeavesEveryViewWithinItsLeaseAndNoCallFails) {
  auto hellos = start_three();
  ASSERT_TRUE(client_);
  // Watchers of their own (each registry has its own connection and watch stream), beside view_.
  std::vector<std::shared_ptr<discovery::EtcdRegistry>> registries;
  std::vector<std::unique_ptr<testkit::Seen>> seen;
  std::vector<std::unique_ptr<discovery::Watch>> watches;
  for (int w = 0; w < 3; ++w) {
    registries.push_back(open());
    auto& s = *seen.emplace_back(std::make_unique<testkit::Seen>());
    watches.push_back(
        registries.back()->watch("hello", [&s](const std::vector<discovery::Instance>& set) { s.add(set); }));
    ASSERT_TRUE(s.wait_for([](const Ids& ids) { return ids.size() == 3; }, 5s));
  }
  std::vector<testkit::Seen*> watchers = {&view_};
  for (auto& s : seen) watchers.push_back(s.get());

  auto before = client_->stats();
  e2e::Load load(rt_, *client_);
  std::this_thread::sleep_for(1s);
  ::kill(hellos[1], SIGKILL);
  auto t0 = std::chrono::steady_clock::now();
  bool left_all = true;
  for (testkit::Seen* w : watchers)
    left_all = w->wait_for([](const Ids& ids) { return !has(ids, "hello-1"); }, 6s) && left_all;
  auto left_ms = e2e::ms_since(t0);  // when the last watcher had dropped it
  std::this_thread::sleep_for(500ms);
  load.stop();
  watches.clear();
  for (auto& r : registries) r->close();
  reap(hellos[1], 5s);

  EXPECT_TRUE(left_all) << "a watcher still sees the killed instance";
  EXPECT_LE(left_ms, std::chrono::duration_cast<std::chrono::milliseconds>(kTtl + 1s).count());
  EXPECT_EQ(load.failed(), 0) << load.first_error();
  EXPECT_GT(load.ok(), 100);
  auto retries = client_->stats().instance_retries - before.instance_retries;
  EXPECT_GT(retries, 0u) << "no call met the killed instance";
  std::printf(
      "kill -9: %d calls, %d failed, %llu tried again on another instance; out of all 4 views after %lld ms "
      "(lease TTL %lld s)\n",
      load.ok() + load.failed(), load.failed(), static_cast<unsigned long long>(retries),
      static_cast<long long>(left_ms), static_cast<long long>(kTtl.count()));
}

TEST_F(EtcdProcessesTest, AnEtcdOutageCostsNoCallAndRegistrationsAndWatchesComeBack) {
  start_three();
  ASSERT_TRUE(client_);
  e2e::Load load(rt_, *client_);
  std::this_thread::sleep_for(1s);
  std::size_t sets_before = view_.count();
  int ok_before = load.ok();

  etcd_->stop();
  auto down = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(5s);
  start_hello(3);  // registers once etcd is back, on its own retries
  std::this_thread::sleep_for(5s);
  int ok_during = load.ok() - ok_before;
  std::size_t sets_during = view_.count();
  auto outage_ms = e2e::ms_since(down);
  ASSERT_TRUE(etcd_->start()) << "etcd did not start again";
  auto up = std::chrono::steady_clock::now();

  bool four = view_.wait_for([](const Ids& s) { return s == Ids{"hello-0", "hello-1", "hello-2", "hello-3"}; }, 20s);
  auto visible_ms = e2e::ms_since(up);
  bool called = e2e::eventually([&] { return load.by_body()[e2e::hello_body(3)] > 0; }, 5s);
  Ids keys = listed();
  std::this_thread::sleep_for(kTtl + 1s);  // past a lease: the registrations are being renewed again
  Ids keys_later = listed();
  load.stop();

  EXPECT_EQ(sets_during, sets_before) << "the view changed during the outage";
  EXPECT_GT(ok_during, 100) << "calls went on during the outage";
  EXPECT_TRUE(four) << "the view after the outage has " << view_.last().size() << " instances";
  EXPECT_TRUE(called) << "no call reached the instance that started during the outage";
  EXPECT_EQ(keys, (Ids{"hello-0", "hello-1", "hello-2", "hello-3"}));
  EXPECT_EQ(keys_later, (Ids{"hello-0", "hello-1", "hello-2", "hello-3"}));
  EXPECT_EQ(load.failed(), 0) << load.first_error();
  std::printf(
      "etcd down %lld ms: %d calls during it, %d failed in the whole run (%d calls); the instance started "
      "during the outage was in the view %lld ms after etcd was back\n",
      static_cast<long long>(outage_ms), ok_during, load.failed(), load.ok() + load.failed(),
      static_cast<long long>(visible_ms));
}

}  // namespace
}  // namespace svckit
