// What crosses the gateway, field by field (detail/headers.hpp): the forwarded fields written in wire
// form, Connection-named fields dropped both ways, and the reused buffers.
#include "detail/headers.hpp"

#include <gtest/gtest.h>

#include "svckit/http/parser.hpp"

namespace svckit::gateway::detail {
namespace {

struct FakeRequest {
  FakeRequest(std::string text, std::string_view peer) : raw(std::move(text)) {
    std::size_t consumed = 0, scanned = 0;
    http::ParseError e;
    auto r = http::parse_request_head(raw.data(), raw.size(), {}, head, consumed, scanned, e);
    EXPECT_EQ(r, http::ParseResult::kComplete) << raw;
    req.set_head(&head);
    req.set_remote_address(peer);
  }
  std::string raw;
  http::RequestHead head;
  http::Request req;
};

std::string forwarded(const FakeRequest& f, const ForwardInfo& info) {
  std::string out = "kept: yes\r\n";  // appended to, never replaced
  upstream_request_headers(f.req, info, out);
  return out;
}

TEST(ForwardedFields, UntrustedPeerClaimsAreDroppedAndHopByHopFieldsStayBehind) {
  FakeRequest f(
      "GET /a HTTP/1.1\r\nHost: api.example\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: 5\r\n"
      "X-Forwarded-For: 6.6.6.6\r\nForwarded: for=6.6.6.6\r\nX-User-Id: admin\r\ntraceparent: 00-x\r\n"
      "Accept: */*\r\n\r\n",
      "10.1.2.3");
  const Headers identity{{"X-User-Id", "u1"}};
  EXPECT_EQ(forwarded(f, {.request_id = "rid", .identity = &identity}),
            "kept: yes\r\nAccept: */*\r\nX-Forwarded-For: 10.1.2.3\r\nX-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: api.example\r\nForwarded: for=10.1.2.3;host=api.example;proto=http\r\n"
            "X-Request-Id: rid\r\nX-User-Id: u1\r\n");
}

TEST(ForwardedFields, TrustedPeerChainsAreExtendedAndHostKeptWhenPreserved) {
  FakeRequest f(
      "GET /a HTTP/1.1\r\nHost: api.example:8443\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2\r\n"
      "X-Forwarded-Proto: https\r\nX-Forwarded-Proto: http\r\nForwarded: for=1.1.1.1\r\nX-Real-IP: 1.1.1.1\r\n"
      "Authorization: Bearer t\r\nUpgrade: websocket\r\n\r\n",
      "::1");
  EXPECT_EQ(forwarded(f, {.trusted_peer = true, .preserve_host = true, .upgrade = true, .drop_authorization = true}),
            "kept: yes\r\nX-Real-IP: 1.1.1.1\r\nHost: api.example:8443\r\n"
            "X-Forwarded-For: 1.1.1.1, 2.2.2.2, ::1\r\nX-Forwarded-Proto: https\r\n"
            "X-Forwarded-Host: api.example:8443\r\n"
            "Forwarded: for=1.1.1.1, for=\"[::1]\";host=api.example:8443;proto=http\r\n"
            "Connection: Upgrade\r\nUpgrade: websocket\r\n");
}

TEST(ForwardedFields, WireFormParsesBackIntoPairs) {
  const Headers got = parse_wire_headers("A: 1\r\nB-Long-Name: x: y\r\nEmpty: \r\n");
  EXPECT_EQ(got, (Headers{{"A", "1"}, {"B-Long-Name", "x: y"}, {"Empty", ""}}));
  EXPECT_TRUE(parse_wire_headers("").empty());
}

TEST(ConnectionTokensTest, NamesFromEveryConnectionFieldCaseInsensitively) {
  const Headers fields{{"connection", " Keep-Alive ,\tX-A"}, {"X-A", "1"}, {"Connection", "x-b"}, {"CONNECTION", ""}};
  const ConnectionTokens t = connection_tokens(fields);  // views of `fields`
  EXPECT_TRUE(t.contains("keep-alive"));
  EXPECT_TRUE(t.contains("x-a"));
  EXPECT_TRUE(t.contains("X-B"));
  EXPECT_FALSE(t.contains("x"));
  EXPECT_FALSE(t.contains(""));
  ConnectionTokens many;
  for (int i = 0; i < 6; ++i) many.add_field(i == 5 ? "late" : "other");
  EXPECT_TRUE(many.contains("late"));  // past the fields kept inline
  EXPECT_TRUE(hop_by_hop("X-A", t));
  EXPECT_TRUE(hop_by_hop("Proxy-Authorization", {}));
  EXPECT_FALSE(hop_by_hop("Accept", t));
}

TEST(ConnectionTokensTest, ResponseFieldsNamedByConnectionAreNotCopied) {
  http::Response res;
  copy_response_headers({{"Connection", "keep-alive, X-Hop"}, {"X-Hop", "1"}, {"Content-Length", "3"}, {"X-Kept", "2"}},
                        200, res);
  ASSERT_EQ(res.headers().size(), 1u);
  EXPECT_EQ(res.headers()[0], (std::pair<std::string, std::string>{"X-Kept", "2"}));
}

TEST(ReusedBuffers, ABufferComesBackEmptyWithItsRoom) {
  std::string b = take_buffer();
  EXPECT_TRUE(b.empty());
  b.assign(300, 'x');
  const char* data = b.data();
  give_back_buffer(std::move(b));
  std::string again = take_buffer();
  EXPECT_TRUE(again.empty());
  EXPECT_EQ(again.data(), data);  // the same storage, no new allocation
  give_back_buffer(std::move(again));
}

}  // namespace
}  // namespace svckit::gateway::detail
