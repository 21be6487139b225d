// The etcd registry against a real etcd 3.4 the test starts: whole sets through list and watch,
// prefixes that do not bleed into each other, leases that expire when their owner stops renewing,
// and an etcd outage that watchers sit out on their last set and registrations survive.
#include "svckit/discovery_etcd/etcd_registry.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>

#include "svckit/testing/discovery_seen.hpp"
#include "svckit/testing/etcd_fixture.hpp"
#include "svckit/testing/tcp_proxy.hpp"

using namespace std::chrono_literals;

namespace svckit::discovery {
namespace {

Instance inst(std::string service, std::string id, int port) {
  Instance i;
  i.id = std::move(id);
  i.name = std::move(service);
  i.endpoints = {"http://127.0.0.1:" + std::to_string(port)};
  return i;
}

using testkit::Seen;

using Ids = std::vector<std::string>;

class EtcdRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testkit::EtcdServer::installed()) GTEST_SKIP() << "etcd is not installed (make test installs etcd-server)";
    etcd_ = std::make_unique<testkit::EtcdServer>();
    ASSERT_TRUE(etcd_->start()) << "etcd did not start";
  }
  void TearDown() override { etcd_.reset(); }
  std::shared_ptr<EtcdRegistry> open(std::chrono::seconds ttl = 10s) {
    EtcdOptions o;
    o.endpoints = {etcd_->url()};
    o.lease_ttl = ttl;
    o.backoff_min = 50ms;
    o.backoff_max = 500ms;
    return EtcdRegistry::create(rt_, o);
  }
  Status reg(EtcdRegistry& r, const Instance& i) {
    return rt_.block_on(r.register_instance(Context().with_timeout(5s), i));
  }
  Ids ids(EtcdRegistry& r, const std::string& service) {
    auto set = rt_.block_on(r.instances(Context().with_timeout(5s), service));
    Ids out;
    if (set)
      for (auto& i : *set) out.push_back(i.id);
    return out;
  }

  Runtime rt_{{.workers = 1}};
  std::unique_ptr<testkit::EtcdServer> etcd_;
};

TEST_F(EtcdRegistryTest, ListsAndWatchesWholeSetsWithinTheServicePrefixOnly) {
  auto r = open();
  Seen seen;
  auto w = r->watch("user", [&](const std::vector<Instance>& set) { seen.add(set); });
  ASSERT_TRUE(seen.wait_for([](auto& s) { return s.empty(); }, 5s));
  ASSERT_TRUE(reg(*r, inst("user", "u1", 8001)).ok());
  ASSERT_TRUE(reg(*r, inst("user", "u2", 8002)).ok());
  ASSERT_TRUE(reg(*r, inst("user", "u3", 8003)).ok());
  ASSERT_TRUE(reg(*r, inst("user-admin", "a1", 8004)).ok());  // /svc/user-admin/ is not /svc/user/
  EXPECT_TRUE(seen.wait_for([](auto& s) { return s == Ids{"u1", "u2", "u3"}; }, 5s));
  EXPECT_EQ(ids(*r, "user"), (Ids{"u1", "u2", "u3"}));
  EXPECT_EQ(ids(*r, "user-admin"), (Ids{"a1"}));
  auto names = rt_.block_on(r->services(Context().with_timeout(5s)));
  ASSERT_TRUE(names);
  EXPECT_EQ(*names, (Ids{"user", "user-admin"}));

  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(rt_.block_on(r->deregister(Context().with_timeout(5s), inst("user", "u2", 8002))).ok());
  EXPECT_TRUE(seen.wait_for([](auto& s) { return s == Ids{"u1", "u3"}; }, 5s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s) << "a watch sees a change as it happens";
  EXPECT_EQ(reg(*r, inst("user", "", 1)).code(), Code::kInvalidArgument);
}

TEST_F(EtcdRegistryTest, AnOwnerThatStopsRenewingLeavesWithItsLease) {
  auto owner = open(2s);
  auto watcher = open();
  ASSERT_TRUE(reg(*owner, inst("user", "doomed", 8001)).ok());
  Seen seen;
  auto w = watcher->watch("user", [&](const std::vector<Instance>& set) { seen.add(set); });
  ASSERT_TRUE(seen.wait_for([](auto& s) { return s == Ids{"doomed"}; }, 5s));
  std::this_thread::sleep_for(3s);  // renewed past its TTL
  EXPECT_EQ(ids(*watcher, "user"), (Ids{"doomed"}));
  owner->close();  // no deregistration: as a process that died
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(seen.wait_for([](auto& s) { return s.empty(); }, 6s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s + 2s) << "gone within the TTL (and etcd's lease check)";
}

TEST_F(EtcdRegistryTest, WatchersAndRegistrationsSitOutAnEtcdOutage) {
  auto owner = open(3s);
  auto watcher = open();
  ASSERT_TRUE(reg(*owner, inst("user", "u1", 8001)).ok());
  Seen seen;
  auto w = watcher->watch("user", [&](const std::vector<Instance>& set) { seen.add(set); });
  ASSERT_TRUE(seen.wait_for([](auto& s) { return s == Ids{"u1"}; }, 5s));
  std::size_t before = seen.count();
  etcd_->stop();
  std::this_thread::sleep_for(6s);  // longer than the owner's lease
  EXPECT_EQ(seen.count(), before) << "the watcher kept its last set through the outage";
  ASSERT_TRUE(etcd_->start());
  // The lease ran out during the outage (etcd restores leases with a fresh TTL, or drops them): either
  // way the owner's registration is there again, and the watch follows new changes.
  ASSERT_TRUE(reg(*owner, inst("user", "u2", 8002)).ok());
  EXPECT_TRUE(seen.wait_for([](auto& s) { return s == Ids{"u1", "u2"}; }, 10s)) << seen.count();
  std::this_thread::sleep_for(4s);  // past another TTL: renewals work again
  EXPECT_EQ(ids(*watcher, "user"), (Ids{"u1", "u2"}));
  EXPECT_GT(watcher->stats().watch_errors, 0u);
}

// The store's revision now, from etcdctl's JSON answer.
std::int64_t store_revision(const testkit::EtcdServer& etcd) {
  std::string cmd = "ETCDCTL_API=3 etcdctl --endpoints=" + etcd.url() + " get /svc -w json 2>/dev/null";
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    ::pclose(p);
  }
  // No std::regex: GCC 12 warns inside it under the sanitizers, and warnings are errors.
  auto at = out.find("\"revision\":");
  return at == std::string::npos ? 0 : std::atoll(out.c_str() + at + 11);
}

TEST_F(EtcdRegistryTest, AWatchResumesAfterABreakAndListsAgainWhenItsHistoryWasCompacted) {
  // The watcher reaches etcd through a proxy the test can cut; the registrant reaches it directly.
  std::uint16_t port = static_cast<std::uint16_t>(std::stoi(etcd_->url().substr(etcd_->url().rfind(':') + 1)));
  testkit::TcpProxy proxy(port);
  EtcdOptions o;
  o.endpoints = {"http://127.0.0.1:" + std::to_string(proxy.port())};
  o.backoff_min = 50ms;
  o.backoff_max = 200ms;
  auto watcher = EtcdRegistry::create(rt_, o);
  auto owner = open();
  ASSERT_TRUE(reg(*owner, inst("user", "a", 8001)).ok());
  Seen seen;
  auto w = watcher->watch("user", [&](const std::vector<Instance>& set) { seen.add(set); });
  ASSERT_TRUE(seen.wait_for([](auto& s) { return s == Ids{"a"}; }, 5s));
  const auto lists = watcher->stats().lists;

  // A break: what changed meanwhile arrives when the watch resumes from its revision, unlisted.
  proxy.cut();
  ASSERT_TRUE(reg(*owner, inst("user", "b", 8002)).ok());
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(seen.last(), Ids{"a"});
  proxy.restore();
  ASSERT_TRUE(seen.wait_for([](auto& s) { return s == Ids{"a", "b"}; }, 5s));
  EXPECT_EQ(watcher->stats().lists, lists) << "a resumed watch listed again";
  EXPECT_GT(watcher->stats().watch_errors, 0u);

  // A break during which that history is compacted away: etcd cancels the resumed watch, the
  // watcher lists again and has the whole set right.
  proxy.cut();
  ASSERT_TRUE(reg(*owner, inst("user", "c", 8003)).ok());
  ASSERT_TRUE(rt_.block_on(owner->deregister(Context().with_timeout(5s), inst("user", "a", 8001))).ok());
  std::int64_t rev = store_revision(*etcd_);
  ASSERT_GT(rev, 0);
  ASSERT_EQ(etcd_->ctl("compact " + std::to_string(rev)), 0);
  proxy.restore();
  ASSERT_TRUE(seen.wait_for([](auto& s) { return s == Ids{"b", "c"}; }, 5s)) << "after the compaction";
  EXPECT_GE(watcher->stats().compactions, 1u);
  EXPECT_GT(watcher->stats().lists, lists);
  {
    // Never a set with a deleted instance once the listing came.
    std::lock_guard lock(seen.mu);
    EXPECT_EQ(seen.sets.back(), (Ids{"b", "c"}));
  }
  watcher->close();
}

}  // namespace
}  // namespace svckit::discovery
