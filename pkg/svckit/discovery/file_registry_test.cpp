// The file backend with real processes where it matters: a registrant killed with SIGKILL (a death
// test's child, which dies without any clean-up) leaves every watcher's view within its TTL; many
// writers at once never produce a file a reader cannot decode.
#include "svckit/discovery/file_registry.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "svckit/core/runtime.hpp"
#include "svckit/testing/discovery_seen.hpp"

namespace svckit::discovery {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

Instance inst(std::string id, int port, std::string service = "user-svc") {
  Instance i;
  i.id = std::move(id);
  i.name = std::move(service);
  i.endpoints = {"http://127.0.0.1:" + std::to_string(port)};
  return i;
}

// The sets a watch delivered, and a wait for one that satisfies a predicate.
using testkit::Seen;

class FileRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A death test's child (a re-executed copy of this binary) works in its parent's folder.
    if (const char* inherited = std::getenv("SVCKIT_REGISTRY_TEST_DIR")) {
      dir_ = inherited;
      child_ = true;
      return;
    }
    dir_ = fs::temp_directory_path() / ("svckit-registry-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override {
    if (child_) return;
    ::unsetenv("SVCKIT_REGISTRY_TEST_DIR");
    fs::remove_all(dir_);
  }
  FileRegistryOptions options(std::chrono::milliseconds ttl = 1000ms, std::chrono::milliseconds beat = 200ms) {
    FileRegistryOptions o;
    o.dir = dir_.string();
    o.ttl = ttl;
    o.heartbeat = beat;
    o.scan_interval = 50ms;
    return o;
  }
  std::shared_ptr<FileRegistry> open(FileRegistryOptions o) {
    auto r = FileRegistry::open(std::move(o));
    EXPECT_TRUE(r) << r.error().to_string();
    return r ? *r : nullptr;
  }
  fs::path dir_;
  bool child_ = false;
};

TEST_F(FileRegistryTest, AnotherRegistryOnTheFolderSeesRegistrationsComeAndGo) {
  auto a = open(options());
  auto b = open(options());  // as another process would
  Seen seen;
  auto w = b->watch("user-svc", [&](const std::vector<Instance>& set) { seen.add(set); });
  ASSERT_TRUE(seen.wait_for([](auto& s) { return s.empty(); }, 2s));
  ASSERT_TRUE(a->add(inst("u1", 8001)).ok());
  ASSERT_TRUE(a->add(inst("u2", 8002)).ok());
  ASSERT_TRUE(a->add(inst("x1", 8003, "user-svc-admin")).ok());  // another service: not in this set
  EXPECT_TRUE(seen.wait_for(
      [](auto& s) {
        return s == std::vector<std::string>{"u1", "u2"};
      },
      2s))
      << seen.last().size();
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(a->remove(inst("u1", 8001)).ok());
  EXPECT_TRUE(seen.wait_for([](auto& s) { return s == std::vector<std::string>{"u2"}; }, 2s));
  // Deregistering is seen through inotify at once, not at the next expiry scan.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(b->read("user-svc").size(), 1u);
  EXPECT_EQ(b->stats().bad_files, 0u);
}

TEST_F(FileRegistryTest, HeartbeatsKeepAnInstanceAliveBeyondItsTtl) {
  auto a = open(options(400ms, 100ms));
  ASSERT_TRUE(a->add(inst("u1", 8001)).ok());
  std::this_thread::sleep_for(1200ms);  // three TTLs
  EXPECT_EQ(a->read("user-svc").size(), 1u);
  EXPECT_GE(a->stats().writes, 5u);
}

TEST_F(FileRegistryTest, AnInstanceKilledWithSigkillLeavesTheViewWithinItsTtl) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  ::setenv("SVCKIT_REGISTRY_TEST_DIR", dir_.c_str(), 1);
  auto watcher = open(options());
  Seen seen;
  auto w = watcher->watch("user-svc", [&](const std::vector<Instance>& set) { seen.add(set); });
  // The child registers, heartbeats for a while, and dies without any clean-up.
  EXPECT_EXIT(
      {
        auto child = FileRegistry::open(options());
        if (!child || !(*child)->add(inst("doomed", 8009)).ok()) std::_Exit(3);
        std::this_thread::sleep_for(500ms);
        std::raise(SIGKILL);
      },
      ::testing::KilledBySignal(SIGKILL), "");
  auto died = std::chrono::steady_clock::now();
  ASSERT_TRUE(fs::exists(dir_ / "user-svc" / "doomed.json"));  // no one removed it
  EXPECT_TRUE(seen.wait_for([](auto& s) { return s.empty(); }, 3s));
  // Gone within the TTL since its last heartbeat, plus a scan.
  EXPECT_LT(std::chrono::steady_clock::now() - died, 1000ms + 50ms + 300ms);
  bool saw_it = false;
  {
    std::lock_guard lock(seen.mu);
    for (auto& s : seen.sets) saw_it = saw_it || s == std::vector<std::string>{"doomed"};
  }
  EXPECT_TRUE(saw_it) << "the child's registration was never seen";
}

TEST_F(FileRegistryTest, ManyWritersAtOnceNeverLeaveAHalfWrittenFile) {
  constexpr int kWriters = 8, kEach = 20;
  std::vector<std::shared_ptr<FileRegistry>> writers;
  for (int k = 0; k < kWriters; ++k) writers.push_back(open(options(2000ms, 50ms)));  // fast heartbeats
  auto reader = open(options(2000ms, 50ms));
  std::vector<std::thread> threads;
  for (int k = 0; k < kWriters; ++k)
    threads.emplace_back([&, k] {
      for (int n = 0; n < kEach; ++n)
        EXPECT_TRUE(writers[k]->add(inst("w" + std::to_string(k * 100 + n), 9000 + n)).ok());
    });
  // Read continuously while they write and heartbeat.
  std::size_t max_seen = 0;
  for (int r = 0; r < 40; ++r) {
    max_seen = std::max(max_seen, reader->read("user-svc").size());
    std::this_thread::sleep_for(10ms);
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < 20; ++r) {
    EXPECT_EQ(reader->read("user-svc").size(), std::size_t(kWriters * kEach));
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(reader->stats().bad_files, 0u);
}

TEST_F(FileRegistryTest, RefusesWhatCannotBeAFileAndSkipsFilesItCannotRead) {
  auto a = open(options());
  EXPECT_EQ(a->add(inst("../evil", 8001)).code(), Code::kInvalidArgument);
  EXPECT_EQ(a->add(inst(".hidden", 8001)).code(), Code::kInvalidArgument);
  EXPECT_EQ(a->add(inst("u1", 8001, "a/b")).code(), Code::kInvalidArgument);
  ASSERT_TRUE(a->add(inst("u1", 8001)).ok());
  std::ofstream(dir_ / "user-svc" / "garbage.json") << "{not json";
  std::ofstream(dir_ / "user-svc" / "other.json")
      << R"({"instance":{"id":"o","name":"elsewhere","endpoints":["http://127.0.0.1:1"]},"heartbeat_unix_ms":1,"ttl_ms":1})";
  auto set = a->read("user-svc");
  ASSERT_EQ(set.size(), 1u);
  EXPECT_EQ(set[0].id, "u1");
  EXPECT_EQ(a->stats().bad_files, 2u);
}

TEST_F(FileRegistryTest, AnUnusableFolderFailsTheOpen) {
  std::ofstream(dir_.string() + "-file") << "x";  // a file where the folder should be
  FileRegistryOptions o = options();
  o.dir = dir_.string() + "-file";
  auto r = FileRegistry::open(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kFailedPrecondition);
  fs::remove(o.dir);
}

TEST_F(FileRegistryTest, CoroutineFormsRunOffTheLoop) {
  Runtime rt(RuntimeOptions{.workers = 1});
  auto a = open(options());
  Instance u1 = inst("u1", 8001);
  auto got = rt.block_on([&]() -> Task<Result<std::vector<Instance>>> {
    Status st = co_await a->register_instance(Context(), u1);
    if (!st.ok()) co_return std::unexpected(st);
    auto set = co_await a->instances(Context(), "user-svc");
    co_await a->deregister(Context(), u1);
    co_return set;
  }());
  ASSERT_TRUE(got) << got.error().to_string();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0], u1);
  EXPECT_TRUE(a->read("user-svc").empty());
}

}  // namespace
}  // namespace svckit::discovery
