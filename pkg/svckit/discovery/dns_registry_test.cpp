// The dns backend against a real DNS server, dnsmasq, that the tests start on 127.0.0.1: A and AAAA
// records with configured ports, SRV records with priorities and weights, the search list and ndots
// from an injected resolv.conf, truncated answers fetched over TCP, a set that changes live within
// its TTL, an outage sat out on the last set, empty answers believed only when confirmed, the cache,
// and a watch that never blocks its loop.
#include "svckit/discovery/dns_registry.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "svckit/testing/discovery_seen.hpp"
#include "svckit/testing/dnsmasq_fixture.hpp"
#include "svckit/testing/ports.hpp"

using namespace std::chrono_literals;

namespace svckit::discovery {
namespace {

using testkit::Seen;
using Ids = std::vector<std::string>;

class DnsRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testkit::Dnsmasq::installed()) GTEST_SKIP() << "dnsmasq is not installed (make test installs dnsmasq-base)";
    dns_ = std::make_unique<testkit::Dnsmasq>();
    resolv_ = (dns_->dir() / "resolv.conf").string();
    set_resolv_conf("search ns.svc.test svc.test\noptions ndots:5\n");
  }
  void TearDown() override { dns_.reset(); }
  void set_resolv_conf(const std::string& text) { std::ofstream(resolv_) << text; }
  // Options for the test's dnsmasq; min_refresh is 200 ms unless the test sets it (the records' TTL is
  // 1 s, so that is when sets are asked for again).
  std::shared_ptr<DnsRegistry> open(DnsOptions o = {}) {
    o.servers = {dns_->server()};
    o.resolv_conf = resolv_;
    o.timeout = 300ms;
    o.attempts = 1;
    if (o.min_refresh == DnsOptions{}.min_refresh) o.min_refresh = 200ms;
    o.backoff_min = 50ms;
    o.backoff_max = 300ms;
    auto r = DnsRegistry::create(rt_, o);
    EXPECT_TRUE(r) << r.error().to_string();
    return *r;
  }
  Result<std::vector<Instance>> get(DnsRegistry& r, const std::string& service) {
    return rt_.block_on(r.instances(Context().with_timeout(5s), service));
  }
  Ids ids(DnsRegistry& r, const std::string& service) {
    auto set = get(r, service);
    EXPECT_TRUE(set) << set.error().to_string();
    Ids out;
    if (set)
      for (auto& i : *set) out.push_back(i.id);
    return out;
  }

  Runtime rt_{{.workers = 1}};
  std::unique_ptr<testkit::Dnsmasq> dns_;
  std::string resolv_;
};

TEST_F(DnsRegistryTest, AddressModeGivesEachAAndAaaaRecordTheConfiguredPorts) {
  dns_->set_hosts("127.0.0.12 user-svc.ns.svc.test\n127.0.0.11 user-svc.ns.svc.test\n::1 user-svc.ns.svc.test\n");
  ASSERT_TRUE(dns_->start());
  auto r = open({.ports = {"http:8080", "grpc:9090"}});
  auto set = get(*r, "user-svc");
  ASSERT_TRUE(set) << set.error().to_string();
  ASSERT_EQ(set->size(), 3u);
  EXPECT_EQ((*set)[0].id, "127.0.0.11:8080");
  EXPECT_EQ((*set)[1].id, "127.0.0.12:8080");
  EXPECT_EQ((*set)[2].id, "[::1]:8080");
  EXPECT_EQ((*set)[2].name, "user-svc");
  EXPECT_EQ((*set)[2].endpoint("grpc"), "[::1]:9090");
  EXPECT_EQ((*set)[0].endpoints, (std::vector<std::string>{"http://127.0.0.11:8080", "grpc://127.0.0.11:9090"}));
  EXPECT_EQ((*set)[0].metadata.at("dns_name"), "user-svc.ns.svc.test") << "found through the search list";

  auto v4 = open({.ports = {"http:8080"}, .family = DnsFamily::kIPv4});
  EXPECT_EQ(ids(*v4, "user-svc"), (Ids{"127.0.0.11:8080", "127.0.0.12:8080"}));
  auto v6 = open({.ports = {"http:8080"}, .family = DnsFamily::kIPv6});
  EXPECT_EQ(ids(*v6, "user-svc"), (Ids{"[::1]:8080"}));
  EXPECT_TRUE(ids(*r, "nobody").empty()) << "NXDOMAIN everywhere on the search list: no instances";
}

TEST_F(DnsRegistryTest, TheSearchListAndNdotsApplyAsInGlibc) {
  dns_->set_hosts(
      "127.0.0.21 api.svc.test\n"     // found through the second search domain
      "127.0.0.22 api.ns.svc.test\n"  // the first one wins when it exists
      "127.0.0.23 web.svc.test\n"
      "127.0.0.24 db\n");
  ASSERT_TRUE(dns_->start());
  auto r = open();
  EXPECT_EQ(ids(*r, "api"), (Ids{"127.0.0.22:8080"}));
  EXPECT_EQ(ids(*r, "web"), (Ids{"127.0.0.23:8080"}));
  EXPECT_EQ(ids(*r, "db"), (Ids{"127.0.0.24:8080"})) << "as it is, after the search list";

  auto absolute = open({.name = "{service}.svc.test."});
  EXPECT_EQ(ids(*absolute, "api"), (Ids{"127.0.0.21:8080"})) << "a trailing dot: no search list";
  EXPECT_TRUE(ids(*absolute, "db").empty());

  // ndots:1 and a name with a dot: as it is first, so api.svc.test is not api.svc.test.ns.svc.test.
  set_resolv_conf("search ns.svc.test\n");
  auto dotted = open({.name = "{service}.svc.test"});
  EXPECT_EQ(ids(*dotted, "api"), (Ids{"127.0.0.21:8080"}));
  EXPECT_EQ(dotted->ndots(), 1);
  EXPECT_EQ(dotted->search(), (Ids{"ns.svc.test"}));
}

TEST_F(DnsRegistryTest, SrvModeTakesPortsAndWeightsFromTheLowestPriority) {
  dns_->set_hosts(
      "127.0.0.31 pod-1.user-svc.ns.svc.test\n"
      "127.0.0.32 pod-2.user-svc.ns.svc.test\n"
      "127.0.0.33 pod-3.user-svc.ns.svc.test\n");
  dns_->set_srv({"_http._tcp.user-svc.ns.svc.test,pod-1.user-svc.ns.svc.test,8080,0,60",
                 "_http._tcp.user-svc.ns.svc.test,pod-2.user-svc.ns.svc.test,8081,0,40",
                 "_http._tcp.user-svc.ns.svc.test,pod-3.user-svc.ns.svc.test,8082,1,100",  // a backup
                 "_grpc-api._tcp.user-svc.ns.svc.test,pod-1.user-svc.ns.svc.test,9090,0,0",
                 "_grpc-api._tcp.user-svc.ns.svc.test,pod-2.user-svc.ns.svc.test,9091,0,0"});
  ASSERT_TRUE(dns_->start());
  auto r = open({.mode = DnsMode::kSrv, .srv_ports = {"http", "grpc:grpc-api"}});
  auto set = get(*r, "user-svc");
  ASSERT_TRUE(set) << set.error().to_string();
  ASSERT_EQ(set->size(), 2u) << "priority 1 is only for when priority 0 has nothing";
  EXPECT_EQ((*set)[0].id, "127.0.0.31:8080");
  EXPECT_EQ((*set)[0].weight, 60u);
  EXPECT_EQ((*set)[0].endpoints, (std::vector<std::string>{"http://127.0.0.31:8080", "grpc://127.0.0.31:9090"}));
  EXPECT_EQ((*set)[0].metadata.at("dns_name"), "pod-1.user-svc.ns.svc.test");
  EXPECT_EQ((*set)[1].id, "127.0.0.32:8081");
  EXPECT_EQ((*set)[1].weight, 40u);
  EXPECT_EQ((*set)[1].endpoint("grpc"), "127.0.0.32:9091");
  EXPECT_TRUE(ids(*r, "nobody").empty());
}

TEST_F(DnsRegistryTest, ATruncatedAnswerIsFetchedOverTcp) {
  std::string hosts;
  for (int i = 1; i <= 120; ++i) hosts += "127.0.1." + std::to_string(i) + " big.svc.test\n";
  dns_->set_hosts(hosts);
  ASSERT_TRUE(dns_->start());
  auto r = open({.family = DnsFamily::kIPv4});
  auto set = get(*r, "big");
  ASSERT_TRUE(set) << set.error().to_string();
  EXPECT_EQ(set->size(), 120u) << "more than a 1232-byte datagram holds";
  EXPECT_GE(r->stats().tcp_queries, 1u);
}

TEST_F(DnsRegistryTest, AWatchSeesTheSetChangeWithinTheTtl) {
  dns_->set_hosts("127.0.0.41 shop.svc.test\n");
  ASSERT_TRUE(dns_->start());
  auto r = open({.family = DnsFamily::kIPv4});
  Seen seen;
  auto w = r->watch("shop", [&](const std::vector<Instance>& set) { seen.add(set); });
  ASSERT_TRUE(seen.wait_for([](const Ids& s) { return s == Ids{"127.0.0.41:8080"}; }, 5s));
  std::this_thread::sleep_for(2500ms);  // records of TTL 1 s asked for again, unchanged
  EXPECT_EQ(seen.count(), 1u) << "an unchanged set is not delivered again";
  EXPECT_GE(r->stats().lookups, 2u);

  dns_->set_hosts("127.0.0.42 shop.svc.test\n127.0.0.41 shop.svc.test\n");
  auto t0 = std::chrono::steady_clock::now();
  dns_->reload();
  ASSERT_TRUE(seen.wait_for([](const Ids& s) { return s == Ids{"127.0.0.41:8080", "127.0.0.42:8080"}; }, 5s));
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, 3s) << "within the 1 s TTL and a lookup";
  std::printf("dns: a new record reached the watcher %lld ms after dnsmasq reloaded (TTL 1 s)\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));

  dns_->set_hosts("127.0.0.42 shop.svc.test\n");
  dns_->reload();
  EXPECT_TRUE(seen.wait_for([](const Ids& s) { return s == Ids{"127.0.0.42:8080"}; }, 5s));
  std::lock_guard lock(seen.mu);
  for (const auto& s : seen.sets) EXPECT_TRUE(std::is_sorted(s.begin(), s.end())) << "ordered by id";
}

TEST_F(DnsRegistryTest, WatchersKeepTheLastSetThroughAnOutage) {
  dns_->set_hosts("127.0.0.51 cart.svc.test\n");
  ASSERT_TRUE(dns_->start());
  auto r = open({.family = DnsFamily::kIPv4});
  Seen seen;
  auto w = r->watch("cart", [&](const std::vector<Instance>& set) { seen.add(set); });
  ASSERT_TRUE(seen.wait_for([](const Ids& s) { return s == Ids{"127.0.0.51:8080"}; }, 5s));
  dns_->stop();
  std::this_thread::sleep_for(3s);  // three TTLs
  EXPECT_EQ(seen.count(), 1u) << "no server: the watcher keeps its set";
  EXPECT_GT(r->stats().lookup_failures, 0u);
  EXPECT_EQ(ids(*r, "cart"), (Ids{"127.0.0.51:8080"})) << "instances() too, from its last answer";

  dns_->set_hosts("127.0.0.52 cart.svc.test\n");
  ASSERT_TRUE(dns_->start());
  EXPECT_TRUE(seen.wait_for([](const Ids& s) { return s == Ids{"127.0.0.52:8080"}; }, 5s))
      << "retried with backoff until the server is back";
}

TEST_F(DnsRegistryTest, AnEmptyAnswerIsBelievedOnlyWhenConfirmed) {
  dns_->set_hosts("127.0.0.61 pay.svc.test\n");
  ASSERT_TRUE(dns_->start());
  auto r = open({.family = DnsFamily::kIPv4, .min_refresh = 2s});
  Seen seen;
  auto w = r->watch("pay", [&](const std::vector<Instance>& set) { seen.add(set); });
  ASSERT_TRUE(seen.wait_for([](const Ids& s) { return s == Ids{"127.0.0.61:8080"}; }, 5s));

  // A blip: the name disappears, and is back before the confirming lookup, min_refresh later.
  dns_->set_hosts("");
  dns_->reload();
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (r->stats().empty_held == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(r->stats().empty_held, 1u) << "the empty answer was seen and held";
  dns_->set_hosts("127.0.0.61 pay.svc.test\n");
  dns_->reload();
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(seen.count(), 1u) << "the blip never reached the watcher";

  // Gone for good: believed when the second answer agrees.
  auto t0 = std::chrono::steady_clock::now();
  dns_->set_hosts("");
  dns_->reload();
  ASSERT_TRUE(seen.wait_for([](const Ids& s) { return s.empty(); }, 8s));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 2s) << "not before min_refresh";
  EXPECT_GE(r->stats().empty_held, 2u);
}

TEST_F(DnsRegistryTest, InstancesAnswersFromTheCacheWhileFresh) {
  dns_->set_hosts("127.0.0.71 inv.svc.test\n");
  ASSERT_TRUE(dns_->start());
  auto r = open({.family = DnsFamily::kIPv4, .min_refresh = 30s, .max_refresh = 60s});
  EXPECT_EQ(ids(*r, "inv"), (Ids{"127.0.0.71:8080"}));
  auto queries = r->stats().queries;
  dns_->set_hosts("127.0.0.72 inv.svc.test\n");
  dns_->reload();
  EXPECT_EQ(ids(*r, "inv"), (Ids{"127.0.0.71:8080"})) << "fresh for min_refresh, though the TTL is 1 s";
  EXPECT_EQ(r->stats().queries, queries) << "no query for a fresh set";
  auto names = rt_.block_on(r->services(Context()));
  ASSERT_TRUE(names);
  EXPECT_EQ(*names, (Ids{"inv"}));

  auto bad = get(*r, "not a name");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), Code::kInvalidArgument);
  Seen seen;
  auto w = r->watch("not a name", [&](const std::vector<Instance>& set) { seen.add(set); });
  EXPECT_TRUE(seen.wait_for([](const Ids& s) { return s.empty(); }, 2s)) << "a watch of it: the empty set";
}

TEST_F(DnsRegistryTest, AWatchNeverBlocksItsLoop) {
  // A server that swallows queries: every lookup waits out its timeouts.
  testkit::BoundSocket sink = testkit::bind_loopback(SOCK_DGRAM);
  DnsOptions o;
  o.servers = {"127.0.0.1:" + std::to_string(sink.port)};
  o.resolv_conf = resolv_;
  o.timeout = 2s;
  o.attempts = 2;
  auto r = DnsRegistry::create(rt_, o);
  ASSERT_TRUE(r);
  Seen seen;
  auto w = (*r)->watch("slow", [&](const std::vector<Instance>& set) { seen.add(set); });
  // The runtime has one loop, and the watch's lookup is on it for the next 4 s (and more).
  auto t0 = std::chrono::steady_clock::now();
  int ticks = rt_.block_on([]() -> Task<int> {
    int n = 0;
    for (int i = 0; i < 20; ++i) {
      Status st = co_await sleep_for(10ms);
      if (st.ok()) ++n;
    }
    co_return n;
  }());
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(ticks, 20);
  EXPECT_LT(took, 1500ms) << "twenty 10 ms sleeps on the watch's loop, while its lookup waits";
  auto quick = rt_.block_on((*r)->instances(Context().with_timeout(200ms), "slow"));
  ASSERT_FALSE(quick);
  EXPECT_EQ(quick.error().code(), Code::kDeadlineExceeded) << "bounded by the caller's deadline";
  EXPECT_EQ(seen.count(), 0u) << "no answer yet: nothing delivered";
  w.reset();
  (*r)->close();
  ::close(sink.fd);
}

}  // namespace
}  // namespace svckit::discovery
