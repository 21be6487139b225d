// The dns backend's stub resolver against scripted servers on 127.0.0.1 that answer as hostile or
// broken servers do: answers to other ids and questions, garbage, truncation, SERVFAIL, FORMERR to
// EDNS, silence, a closed port. Then the lookups on top: SRV targets looked up when the additional
// section lacks them, the search list stopped by a failure part-way, negative TTLs.
#include "svckit/discovery/detail/dns_transport.hpp"

#include <gtest/gtest.h>

#include <set>

#include "svckit/core/runtime.hpp"
#include "svckit/discovery/detail/dns_resolver.hpp"
#include "svckit/discovery/dns_wire_test.hpp"
#include "svckit/testing/ports.hpp"

using namespace std::chrono_literals;

namespace svckit::discovery::detail::dns {
namespace {

using namespace wire;
using Seen = FakeDns::Seen;

class DnsTransportTest : public ::testing::Test {
 protected:
  Result<std::vector<Message>> ask(std::vector<Server> servers, std::vector<Query> queries, Duration timeout = 300ms,
                                   int attempts = 1, Context ctx = Context()) {
    TransportOptions o{std::move(servers), timeout, attempts};
    return rt_.block_on(exchange(ctx, o, queries, counters_));
  }
  ResolverConfig config(std::vector<Server> servers, std::vector<std::string> search = {}, int ndots = 1) {
    return ResolverConfig{{std::move(servers), 300ms, 1}, std::move(search), ndots, true, true};
  }

  Runtime rt_{{.workers = 1}};
  TransportCounters counters_;
};

// The bytes of a loop: a question whose name points at itself.
Bytes loop_packet(std::uint16_t id) {
  Bytes b;
  header(b, id, kAnswer, 1, 0);
  pointer(b, kQuestionAt);
  u16(b, type::kA);
  u16(b, kClassIn);
  return b;
}

TEST_F(DnsTransportTest, DropsAnswersToOtherQueriesAndTakesTheRightOne) {
  FakeDns dns([](const Seen& s) {
    Bytes wrong_id = Reply(s.query).a(s.query.questions[0].name, {10, 9, 9, 9}).done();
    wrong_id[0] ^= 0xFF;
    Message other = s.query;
    other.questions[0].name = "other.test";
    Bytes wrong_question = Reply(other).a("other.test", {10, 9, 9, 8}).done();
    Bytes right = Reply(s.query).a(s.query.questions[0].name, {10, 0, 0, 7}).done();
    return std::vector<Bytes>{wrong_id, wrong_question, loop_packet(s.query.id), Bytes{1, 2, 3}, right};
  });
  auto got = ask({dns.server()}, {{"svc.test", type::kA}});
  ASSERT_TRUE(got) << got.error().to_string();
  ASSERT_EQ(got->size(), 1u);
  ASSERT_EQ((*got)[0].answers.size(), 1u);
  EXPECT_EQ(address_text((*got)[0].answers[0]), "10.0.0.7");
  EXPECT_EQ(counters_.dropped.load(), 4u);
}

TEST_F(DnsTransportTest, AServerThatSendsOnlyGarbageIsAFailureNotACrash) {
  FakeDns dns([](const Seen& s) { return std::vector<Bytes>{loop_packet(s.query.id)}; });
  auto got = ask({dns.server()}, {{"svc.test", type::kA}}, 200ms, 2);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code(), Code::kUnavailable);
  EXPECT_NE(got.error().message().find("malformed"), std::string_view::npos) << got.error().to_string();
  EXPECT_EQ(dns.seen().size(), 2u) << "attempts: two rounds over the one server";
}

TEST_F(DnsTransportTest, ATruncatedAnswerIsAskedAgainOverTcp) {
  FakeDns dns([](const Seen& s) {
    if (!s.tcp) return std::vector<Bytes>{Reply(s.query, 0x8380).done()};  // TC, no records
    Reply r(s.query);
    for (std::uint8_t i = 1; i <= 100; ++i) r.a(s.query.questions[0].name, {10, 1, 0, i});
    return std::vector<Bytes>{r.done()};
  });
  auto got = ask({dns.server()}, {{"big.test", type::kA}});
  ASSERT_TRUE(got) << got.error().to_string();
  EXPECT_EQ((*got)[0].answers.size(), 100u);
  EXPECT_EQ(counters_.tcp.load(), 1u);
  auto seen = dns.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE(seen[1].tcp);
}

TEST_F(DnsTransportTest, SilenceAndServfailLeaveTheQueryToTheNextServer) {
  FakeDns silent([](const Seen&) { return std::vector<Bytes>{}; });
  FakeDns failing([](const Seen& s) { return std::vector<Bytes>{error_reply(s.query, rcode::kServFail)}; });
  FakeDns good([](const Seen& s) {
    return std::vector<Bytes>{Reply(s.query).a(s.query.questions[0].name, {10, 0, 0, 1}).done()};
  });
  auto got =
      ask({silent.server(), failing.server(), good.server()}, {{"svc.test", type::kA}, {"svc.test", type::kAaaa}});
  ASSERT_TRUE(got) << got.error().to_string();
  EXPECT_EQ(got->size(), 2u);
  EXPECT_EQ(counters_.timeouts.load(), 1u);
  EXPECT_EQ(counters_.server_errors.load(), 2u);
  EXPECT_EQ(silent.seen().size(), 2u) << "both queries of the batch on one socket";
  EXPECT_EQ(good.seen().size(), 2u);

  auto none = ask({silent.server(), failing.server()}, {{"svc.test", type::kA}});
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message().find("SERVFAIL"), std::string_view::npos) << none.error().to_string();
}

TEST_F(DnsTransportTest, FormerrToEdnsIsAskedAgainWithoutIt) {
  FakeDns old([](const Seen& s) {
    bool edns = s.raw[11] != 0;  // ARCOUNT: the OPT record
    if (edns) return std::vector<Bytes>{error_reply(s.query, rcode::kFormErr, false)};
    return std::vector<Bytes>{Reply(s.query).a(s.query.questions[0].name, {10, 0, 0, 2}).done()};
  });
  auto got = ask({old.server()}, {{"svc.test", type::kA}});
  ASSERT_TRUE(got) << got.error().to_string();
  auto seen = old.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_NE(seen[0].raw[11], 0);
  EXPECT_EQ(seen[1].raw[11], 0);
}

TEST_F(DnsTransportTest, QueryIdsAndSourcePortsAreRandom) {
  FakeDns dns([](const Seen& s) { return std::vector<Bytes>{Reply(s.query).done()}; });
  for (int i = 0; i < 64; ++i) ASSERT_TRUE(ask({dns.server()}, {{"svc.test", type::kA}}));
  std::set<std::uint16_t> ids, ports;
  for (const Seen& s : dns.seen()) {
    ids.insert(s.query.id);
    ports.insert(s.source_port);
  }
  EXPECT_GE(ids.size(), 60u);
  EXPECT_GE(ports.size(), 32u) << "a fresh socket, and so a fresh port, per exchange";
}

TEST_F(DnsTransportTest, AClosedPortOrTheCallersDeadlineEndsTheTry) {
  // Nothing listens there: ICMP port unreachable.
  auto refused = ask({Server{"127.0.0.1", testkit::free_port(SOCK_DGRAM)}}, {{"svc.test", type::kA}}, 10s);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("refused"), std::string_view::npos) << refused.error().to_string();
  EXPECT_EQ(counters_.timeouts.load(), 0u) << "refused, not waited out";

  FakeDns silent([](const Seen&) { return std::vector<Bytes>{}; });
  auto late = ask({silent.server()}, {{"svc.test", type::kA}}, 10s, 1, Context().with_timeout(200ms));
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code(), Code::kDeadlineExceeded) << late.error().to_string();
}

// ---- lookups ---------------------------------------------------------------------------------------

TEST_F(DnsTransportTest, SrvTargetsMissingFromTheAdditionalSectionAreLookedUp) {
  FakeDns dns([](const Seen& s) {
    const Question& q = s.query.questions[0];
    if (q.type == type::kSrv) {
      return std::vector<Bytes>{Reply(s.query)
                                    .srv(q.name, 0, 10, 8080, "p1.web.test", 30)
                                    .srv(q.name, 0, 20, 8081, "p2.web.test", 30)
                                    .srv(q.name, 0, 20, 8082, "", 30)                 // ".": not available
                                    .srv(q.name, 1, 90, 8083, "backup.web.test", 30)  // not the lowest
                                    .srv(q.name, 0, 20, 8084, "gone.web.test", 30)    // no address
                                    .a("p1.web.test", {10, 0, 0, 1}, 20, 2)
                                    .done()};
    }
    if (q.name == "p2.web.test" && q.type == type::kA)
      return std::vector<Bytes>{Reply(s.query).a(q.name, {10, 0, 0, 2}, 9).done()};
    if (q.name == "p2.web.test" || q.name == "gone.web.test") return std::vector<Bytes>{Reply(s.query).done()};
    return std::vector<Bytes>{error_reply(s.query, rcode::kRefused)};
  });
  auto cfg = config({dns.server()});
  cfg.ipv6 = false;
  auto got = rt_.block_on(lookup_srv(Context(), cfg, "_http._tcp.web.test.", counters_));
  ASSERT_TRUE(got) << got.error().to_string();
  EXPECT_TRUE(got->found);
  ASSERT_EQ(got->targets.size(), 2u);
  EXPECT_EQ(got->targets[0].host, "p1.web.test");
  EXPECT_EQ(got->targets[0].addresses, (std::vector<std::string>{"10.0.0.1"}));
  EXPECT_EQ(got->targets[1].host, "p2.web.test");
  EXPECT_EQ(got->targets[1].addresses, (std::vector<std::string>{"10.0.0.2"}));
  EXPECT_EQ(got->targets[1].weight, 20);
  EXPECT_EQ(got->ttl, 9u) << "the smallest TTL of the SRV records and the addresses used";
  for (const Seen& s : dns.seen()) EXPECT_NE(s.query.questions[0].name, "backup.web.test");
  for (const Seen& s : dns.seen()) EXPECT_NE(s.query.questions[0].name, "p1.web.test") << "from the additional section";
}

TEST_F(DnsTransportTest, TheSearchListStopsAtAFailureAndSkipsNames) {
  std::atomic<bool> fail_first{true};
  FakeDns dns([&](const Seen& s) {
    const Question& q = s.query.questions[0];
    if (q.name == "svc.a.test" && fail_first) return std::vector<Bytes>{error_reply(s.query, rcode::kServFail)};
    if (q.name == "svc.a.test")
      return std::vector<Bytes>{Reply(s.query, 0x8183).soa("a.test", 30, 7).done()};  // NXDOMAIN, SOA minimum 7
    if (q.name == "svc.b.test" && q.type == type::kA)
      return std::vector<Bytes>{Reply(s.query).a(q.name, {10, 0, 0, 3}, 40).done()};
    return std::vector<Bytes>{Reply(s.query, 0x8183).done()};
  });
  auto cfg = config({dns.server()}, {"a.test", "b.test"});
  auto failed = rt_.block_on(lookup_addresses(Context(), cfg, "svc", counters_));
  ASSERT_FALSE(failed) << "svc.a.test could not be asked: svc.b.test's answer must not stand for svc";
  EXPECT_EQ(failed.error().code(), Code::kUnavailable);

  fail_first = false;
  auto found = rt_.block_on(lookup_addresses(Context(), cfg, "svc", counters_));
  ASSERT_TRUE(found) << found.error().to_string();
  EXPECT_EQ(found->name, "svc.b.test");
  EXPECT_EQ(found->addresses, (std::vector<std::string>{"10.0.0.3"}));
  EXPECT_EQ(found->ttl, 40u);

  auto none = rt_.block_on(lookup_addresses(Context(), config({dns.server()}, {"a.test"}, 1), "svc.", counters_));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->addresses.empty());
  EXPECT_EQ(none->ttl, 0u) << "no SOA: no negative TTL";
  auto negative = rt_.block_on(lookup_addresses(Context(), config({dns.server()}), "svc.a.test.", counters_));
  ASSERT_TRUE(negative);
  EXPECT_TRUE(negative->addresses.empty());
  EXPECT_EQ(negative->ttl, 7u) << "the SOA's minimum (RFC 2308)";
}

}  // namespace
}  // namespace svckit::discovery::detail::dns
