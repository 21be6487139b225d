// The dns backend's wire format against hand-built packets: queries as RFC 1035 lays them out, answers
// with compression and CNAME chains, and hostile packets (pointer loops, forward pointers, lengths
// that run past the packet, oversized names) rejected as errors. A mutation sweep over a valid answer
// checks that no packet crashes the parser (under ASan, that none reads out of bounds).
#include "svckit/discovery/detail/dns_message.hpp"

#include <gtest/gtest.h>

#include <random>

#include "svckit/discovery/detail/dns_resolver.hpp"
#include "svckit/discovery/dns_wire_test.hpp"

namespace svckit::discovery::detail::dns {
namespace {

using namespace wire;

Bytes a_answer(std::uint16_t id) {
  Bytes b;
  header(b, id, kAnswer, 1, 2);
  question(b, "user-svc.ns.svc.cluster.local", type::kA);
  pointer(b, kQuestionAt);
  rr(b, type::kA, 5, 4);
  b.insert(b.end(), {10, 0, 0, 7});
  pointer(b, kQuestionAt);
  rr(b, type::kA, 3, 4);
  b.insert(b.end(), {10, 0, 0, 8});
  return b;
}

// ---- queries ---------------------------------------------------------------------------------------

TEST(DnsMessage, EncodesAQueryAsRfc1035LaysItOut) {
  auto q = encode_query(0xBEEF, "User-Svc.ns.", type::kSrv, true);
  ASSERT_TRUE(q) << q.error().to_string();
  Bytes want;
  header(want, 0xBEEF, 0x0100, 1, 0, 0, 1);  // RD, one question, one additional (OPT)
  question(want, "User-Svc.ns", type::kSrv);
  want.push_back(0);  // OPT: the root name
  rr(want, type::kOpt, 0, 0);
  want[want.size() - 8] = kEdnsPayload >> 8;  // OPT's class is the UDP payload size
  want[want.size() - 7] = kEdnsPayload & 0xFF;
  EXPECT_EQ(Bytes(q->begin(), q->end()), want);

  auto plain = encode_query(1, "a.b", type::kA, false);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->size(), 12u + 5 + 4) << "no OPT record without EDNS";
}

TEST(DnsMessage, RefusesNamesThatCannotBeSent) {
  EXPECT_FALSE(encode_query(1, "", type::kA, true));
  EXPECT_FALSE(encode_query(1, ".", type::kA, true));
  EXPECT_FALSE(encode_query(1, "a..b", type::kA, true));
  EXPECT_FALSE(encode_query(1, "a.b..", type::kA, true));
  EXPECT_FALSE(encode_query(1, std::string(64, 'a') + ".b", type::kA, true));
  EXPECT_TRUE(encode_query(1, std::string(63, 'a') + ".b", type::kA, true));
  std::string long_name;
  for (int i = 0; i < 4; ++i) long_name += std::string(63, 'x') + ".";  // 256 octets on the wire
  EXPECT_FALSE(encode_query(1, long_name, type::kA, true));
  EXPECT_FALSE(encode_query(1, "a\\.b", type::kA, true));
}

// ---- answers ---------------------------------------------------------------------------------------

TEST(DnsMessage, ParsesAnAnswerWithCompressedNames) {
  Bytes b = a_answer(77);
  auto m = parse_bytes(b);
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->id, 77);
  EXPECT_TRUE(m->response);
  EXPECT_FALSE(m->truncated);
  EXPECT_EQ(m->rcode, rcode::kNoError);
  ASSERT_EQ(m->questions.size(), 1u);
  EXPECT_EQ(m->questions[0].name, "user-svc.ns.svc.cluster.local");
  ASSERT_EQ(m->answers.size(), 2u);
  EXPECT_EQ(m->answers[0].name, "user-svc.ns.svc.cluster.local");
  EXPECT_EQ(address_text(m->answers[0]), "10.0.0.7");
  EXPECT_EQ(address_text(m->answers[1]), "10.0.0.8");
  std::uint32_t ttl = UINT32_MAX;
  EXPECT_EQ(chase(*m, "USER-svc.ns.svc.cluster.local.", type::kA, ttl).size(), 2u);
  EXPECT_EQ(ttl, 3u) << "the smallest TTL of the records used";
}

TEST(DnsMessage, MatchesAnswersToTheirQuestion) {
  auto m = parse_bytes(a_answer(77));
  ASSERT_TRUE(m);
  EXPECT_TRUE(answers(*m, 77, "User-Svc.NS.svc.cluster.local.", type::kA)) << "names match without regard to case";
  EXPECT_FALSE(answers(*m, 78, "user-svc.ns.svc.cluster.local", type::kA)) << "another id";
  EXPECT_FALSE(answers(*m, 77, "user-svc.ns.svc.cluster.local", type::kAaaa)) << "another type";
  EXPECT_FALSE(answers(*m, 77, "other.ns.svc.cluster.local", type::kA)) << "another name";
  Bytes query = a_answer(77);
  query[2] &= 0x7F;  // QR clear: a query, not an answer
  auto q = parse_bytes(query);
  ASSERT_TRUE(q);
  EXPECT_FALSE(answers(*q, 77, "user-svc.ns.svc.cluster.local", type::kA));
  Bytes formerr;
  header(formerr, 77, 0x8181, 0, 0);  // FORMERR without a question, as old servers answer EDNS
  auto f = parse_bytes(formerr);
  ASSERT_TRUE(f);
  EXPECT_TRUE(answers(*f, 77, "user-svc.ns.svc.cluster.local", type::kA));
  Bytes empty_ok;
  header(empty_ok, 77, kAnswer, 0, 0);
  EXPECT_FALSE(answers(*parse_bytes(empty_ok), 77, "user-svc.ns.svc.cluster.local", type::kA))
      << "a NOERROR answer must carry its question";
}

TEST(DnsMessage, ParsesSrvCnameAndSoaRecords) {
  Bytes b;
  header(b, 9, 0x8580, 1, 2, 1, 1);
  question(b, "_http._tcp.web.test", type::kSrv);  // 12..36
  pointer(b, kQuestionAt);
  rr(b, type::kSrv, 30, 6 + 3 + 2);  // target: "p1" then a pointer to "web.test" in the question
  u16(b, 0);
  u16(b, 60);
  u16(b, 8080);
  b.insert(b.end(), {2, 'p', '1'});
  pointer(b, kQuestionAt + 11);  // "web.test" after "_http._tcp."
  // An alias: cname.test → web.test.
  name(b, "cname.test");
  rr(b, type::kCname, 7, 2);
  pointer(b, kQuestionAt + 11);
  // Authority: an SOA whose MINIMUM (4) is below its TTL (50).
  pointer(b, kQuestionAt + 11);
  rr(b, type::kSoa, 50, 2 + 2 + 20);
  pointer(b, kQuestionAt + 11);
  pointer(b, kQuestionAt + 11);
  for (std::uint32_t v : {1u, 2u, 3u, 4u, 4u}) u32(b, v);
  // Additional: an OPT record, which is skipped.
  b.push_back(0);
  rr(b, type::kOpt, 0, 0);
  auto m = parse_bytes(b);
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_TRUE(m->authoritative);
  ASSERT_EQ(m->answers.size(), 2u);
  const Record& srv = m->answers[0];
  EXPECT_EQ(srv.type, type::kSrv);
  EXPECT_EQ(srv.weight, 60);
  EXPECT_EQ(srv.port, 8080);
  EXPECT_EQ(srv.target, "p1.web.test");
  EXPECT_EQ(m->answers[1].target, "web.test");
  ASSERT_EQ(m->authority.size(), 1u);
  EXPECT_EQ(m->authority[0].negative_ttl, 4u);
  EXPECT_TRUE(m->additional.empty()) << "OPT is not a record the backend uses";
}

TEST(DnsMessage, FollowsCnameChainsWithinTheAnswerAndStopsOnLoops) {
  Bytes b;
  header(b, 1, kAnswer, 1, 3);
  question(b, "svc.test", type::kA);
  pointer(b, kQuestionAt);
  rr(b, type::kCname, 9, 9);
  name(b, "lb.test");
  name(b, "lb.test");
  rr(b, type::kCname, 20, 10);
  name(b, "end.test");
  name(b, "end.test");
  rr(b, type::kA, 30, 4);
  b.insert(b.end(), {192, 0, 2, 1});
  auto m = parse_bytes(b);
  ASSERT_TRUE(m) << m.error().to_string();
  std::uint32_t ttl = UINT32_MAX;
  auto found = chase(*m, "svc.test", type::kA, ttl);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(address_text(*found[0]), "192.0.2.1");
  EXPECT_EQ(ttl, 9u) << "the chain's TTLs count";

  Bytes loop;
  header(loop, 1, kAnswer, 1, 2);
  question(loop, "a.test", type::kA);
  name(loop, "a.test");
  rr(loop, type::kCname, 9, 8);
  name(loop, "b.test");
  name(loop, "b.test");
  rr(loop, type::kCname, 9, 8);
  name(loop, "a.test");
  auto l = parse_bytes(loop);
  ASSERT_TRUE(l);
  ttl = UINT32_MAX;
  EXPECT_TRUE(chase(*l, "a.test", type::kA, ttl).empty());
}

TEST(DnsMessage, ATruncatedAnswerKeepsItsQuestionOnly) {
  Bytes b;
  header(b, 5, 0x8380, 1, 30);  // TC, and far fewer records than announced
  question(b, "big.test", type::kA);
  pointer(b, kQuestionAt);
  rr(b, type::kA, 1, 4);
  auto m = parse_bytes(b);
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_TRUE(m->truncated);
  EXPECT_TRUE(m->answers.empty());
  EXPECT_TRUE(answers(*m, 5, "big.test", type::kA));
}

TEST(DnsMessage, ReadsHostileLabelsSoTheyCannotPassForOtherNames) {
  Bytes b;
  header(b, 1, kAnswer, 1, 0);
  b.insert(b.end(), {3, 'a', '.', 'b', 4, 't', 'e', 's', 't', 0});  // one label "a.b", then "test"
  u16(b, type::kA);
  u16(b, kClassIn);
  auto m = parse_bytes(b);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->questions[0].name, "a\\046b.test");
  EXPECT_FALSE(answers(*m, 1, "a.b.test", type::kA));
}

TEST(DnsMessage, ATtlWithTheTopBitSetIsZero) {
  Bytes b;
  header(b, 1, kAnswer, 1, 1);
  question(b, "t.test", type::kA);
  pointer(b, kQuestionAt);
  rr(b, type::kA, 0x80000001u, 4);
  b.insert(b.end(), {1, 2, 3, 4});
  auto m = parse_bytes(b);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->answers[0].ttl, 0u);  // RFC 2181 8
}

// ---- malformed packets -----------------------------------------------------------------------------

void expect_rejected(const Bytes& b, std::string_view why_contains) {
  auto m = parse_bytes(b);
  ASSERT_FALSE(m) << "accepted a malformed packet (" << why_contains << ")";
  EXPECT_NE(m.error().message().find(why_contains), std::string_view::npos) << m.error().to_string();
}

TEST(DnsMessage, RejectsCompressionPointerLoops) {
  Bytes self;  // a name that is a pointer to itself
  header(self, 1, kAnswer, 1, 0);
  pointer(self, kQuestionAt);
  expect_rejected(self, "does not point backwards");

  Bytes two;  // "a" then a pointer back to the "a": a loop through one label
  header(two, 1, kAnswer, 1, 0);
  two.insert(two.end(), {1, 'a'});
  pointer(two, kQuestionAt);
  expect_rejected(two, "does not point backwards");

  Bytes pair;  // the answer's name points at the question's, whose tail points at the answer's
  header(pair, 1, kAnswer, 1, 1);
  pair.insert(pair.end(), {1, 'q'});
  pointer(pair, 20);  // forward, into the answer
  u16(pair, type::kA);
  u16(pair, kClassIn);
  pair.insert(pair.end(), {1, 'r'});  // offset 20
  pointer(pair, kQuestionAt);
  rr(pair, type::kA, 1, 4);
  pair.insert(pair.end(), {1, 2, 3, 4});
  expect_rejected(pair, "does not point backwards");
}

TEST(DnsMessage, RejectsNamesOverTheLimits) {
  // A chain of backward pointers, each link a label of 63 and a pointer to the link before, kept in
  // the data of a record of an unknown type; the next record's name is the last link: 321 octets.
  Bytes b;
  header(b, 1, kAnswer, 0, 2);
  b.push_back(0);  // the first record: the root, type 99, its data the links
  Bytes links;
  const std::size_t data_at = b.size() + 10;
  std::size_t prev = data_at;
  links.push_back(63);
  links.insert(links.end(), 63, 'x');
  links.push_back(0);
  for (int i = 0; i < 4; ++i) {
    std::size_t here = data_at + links.size();
    links.push_back(63);
    links.insert(links.end(), 63, 'y');
    pointer(links, std::uint16_t(prev));
    prev = here;
  }
  rr(b, 99, 1, std::uint16_t(links.size()));
  b.insert(b.end(), links.begin(), links.end());
  pointer(b, std::uint16_t(prev));
  rr(b, type::kA, 1, 4);
  b.insert(b.end(), {1, 2, 3, 4});
  expect_rejected(b, "over 255 octets");

  Bytes label;  // a length byte of 0x40: an unknown (extended) label type
  header(label, 1, kAnswer, 1, 0);
  label.push_back(0x40);
  label.insert(label.end(), 64, 'z');
  label.push_back(0);
  u16(label, type::kA);
  u16(label, kClassIn);
  expect_rejected(label, "unknown label type");
}

TEST(DnsMessage, RejectsLengthsThatRunPastThePacket) {
  Bytes shorter;
  header(shorter, 1, kAnswer, 1, 0);
  shorter.resize(11);
  expect_rejected(shorter, "shorter than its header");

  Bytes label;
  header(label, 1, kAnswer, 1, 0);
  label.insert(label.end(), {10, 'a', 'b'});
  expect_rejected(label, "past its bounds");

  Bytes q;
  header(q, 1, kAnswer, 1, 0);
  name(q, "a.test");
  u16(q, type::kA);  // no class
  expect_rejected(q, "question cut short");

  Bytes rdata = a_answer(1);
  rdata.resize(rdata.size() - 2);  // the last A record's data cut
  expect_rejected(rdata, "runs past the packet");

  Bytes count = a_answer(1);
  count[7] = 3;  // three answers announced, two there
  expect_rejected(count, "past its bounds");

  Bytes ptr;
  header(ptr, 1, kAnswer, 1, 0);
  ptr.insert(ptr.end(), {1, 'a', 0xC0});
  expect_rejected(ptr, "pointer cut short");

  Bytes a5;
  header(a5, 1, kAnswer, 1, 1);
  question(a5, "t.test", type::kA);
  pointer(a5, kQuestionAt);
  rr(a5, type::kA, 1, 5);
  a5.insert(a5.end(), {1, 2, 3, 4, 5});
  expect_rejected(a5, "not 4 octets");

  Bytes srv;  // SRV data announced as 8 octets: the target's name runs past it
  header(srv, 1, kAnswer, 1, 1);
  question(srv, "_a._tcp.t", type::kSrv);
  pointer(srv, kQuestionAt);
  rr(srv, type::kSrv, 1, 8);
  u16(srv, 0);
  u16(srv, 0);
  u16(srv, 80);
  name(srv, "target.test");
  expect_rejected(srv, "past its bounds");

  Bytes srv_short;
  header(srv_short, 1, kAnswer, 1, 1);
  question(srv_short, "_a._tcp.t", type::kSrv);
  pointer(srv_short, kQuestionAt);
  rr(srv_short, type::kSrv, 1, 3);
  srv_short.insert(srv_short.end(), {0, 0, 0});
  expect_rejected(srv_short, "");

  Bytes cname;  // CNAME data longer than its name
  header(cname, 1, kAnswer, 1, 1);
  question(cname, "c.test", type::kCname);
  pointer(cname, kQuestionAt);
  rr(cname, type::kCname, 1, 6);
  pointer(cname, kQuestionAt);
  cname.insert(cname.end(), {0, 0, 0, 0});
  expect_rejected(cname, "longer than its content");

  Bytes questions;
  header(questions, 1, kAnswer, 2, 0);
  question(questions, "a.test", type::kA);
  question(questions, "b.test", type::kA);
  expect_rejected(questions, "more than one question");
}

// Every single-byte change and every cut of a valid answer parses or is refused: no crash, no read
// out of bounds (ASan), no endless loop.
TEST(DnsMessage, SurvivesEveryMutationOfAnAnswer) {
  Bytes b;
  header(b, 3, kAnswer, 1, 2, 0, 1);
  question(b, "_http._tcp.web.test", type::kSrv);
  pointer(b, kQuestionAt);
  rr(b, type::kSrv, 30, 6 + 5);
  u16(b, 0);
  u16(b, 1);
  u16(b, 80);
  b.insert(b.end(), {2, 'p', '1'});
  pointer(b, kQuestionAt + 11);
  pointer(b, kQuestionAt);
  rr(b, type::kCname, 30, 2);
  pointer(b, kQuestionAt + 11);
  b.insert(b.end(), {2, 'p', '1'});
  pointer(b, kQuestionAt + 11);
  rr(b, type::kA, 30, 4);
  b.insert(b.end(), {127, 0, 0, 1});
  ASSERT_TRUE(parse_bytes(b)) << parse_bytes(b).error().to_string();

  std::size_t parsed = 0, refused = 0;
  for (std::size_t cut = 0; cut < b.size(); ++cut) {
    Bytes shorter(b.begin(), b.begin() + long(cut));
    (parse_bytes(shorter) ? parsed : refused)++;
  }
  EXPECT_EQ(refused, b.size()) << "every cut of this answer is missing something";
  std::mt19937 rng(12345);
  for (std::size_t i = 0; i < b.size(); ++i) {
    for (int v : {0x00, 0x01, 0x3F, 0x40, 0x80, 0xC0, 0xFF}) {
      Bytes m = b;
      m[i] = std::uint8_t(v);
      (parse_bytes(m) ? parsed : refused)++;
    }
  }
  for (int round = 0; round < 20000; ++round) {
    Bytes m = b;
    int flips = 1 + int(rng() % 4);
    for (int f = 0; f < flips; ++f) m[rng() % m.size()] = std::uint8_t(rng());
    (parse_bytes(m) ? parsed : refused)++;
  }
  EXPECT_GT(refused, b.size());
  EXPECT_GT(parsed, 0u);
}

}  // namespace
}  // namespace svckit::discovery::detail::dns
