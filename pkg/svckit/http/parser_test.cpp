#include "svckit/http/parser.hpp"

#include <gtest/gtest.h>

#include <string>

namespace svckit::http {
namespace {

struct Parsed {
  ParseResult result;
  RequestHead head;
  std::size_t consumed = 0;
  ParseError error;
};

Parsed parse(const std::string& raw, ParserLimits limits = {}) {
  Parsed p;
  std::size_t scanned = 0;
  p.result = parse_request_head(raw.data(), raw.size(), limits, p.head, p.consumed, scanned, p.error);
  return p;
}

int status_of(const std::string& raw, ParserLimits limits = {}) {
  auto p = parse(raw, limits);
  return p.result == ParseResult::kError ? p.error.status : (p.result == ParseResult::kComplete ? 0 : -1);
}

TEST(ParserTest, SimpleGetIsZeroCopy) {
  std::string raw = "GET /users/42?x=1&y=2 HTTP/1.1\r\nHost: example.com\r\nX-Thing:  v a l  \r\n\r\nNEXT";
  auto p = parse(raw);
  ASSERT_EQ(p.result, ParseResult::kComplete) << p.error.reason;
  EXPECT_EQ(p.consumed, raw.size() - 4);
  EXPECT_EQ(p.head.method, Method::kGet);
  EXPECT_EQ(p.head.path, "/users/42");
  EXPECT_EQ(p.head.query, "x=1&y=2");
  EXPECT_EQ(p.head.version_minor, 1);
  EXPECT_TRUE(p.head.keep_alive);
  EXPECT_EQ(p.head.header("HOST"), "example.com");
  EXPECT_EQ(p.head.header("x-thing"), "v a l");  // OWS trimmed, inner spaces kept
  EXPECT_EQ(p.head.header("missing"), "");
  // Views point into the caller's buffer.
  EXPECT_GE(p.head.path.data(), raw.data());
  EXPECT_LT(p.head.path.data(), raw.data() + raw.size());
}

TEST(ParserTest, IncrementalByteByByte) {
  std::string raw = "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
  RequestHead head;
  std::size_t consumed = 0, scanned = 0;
  ParseError err;
  std::size_t head_len = raw.find("\r\n\r\n") + 4;
  for (std::size_t n = 1; n <= raw.size(); ++n) {
    auto r = parse_request_head(raw.data(), n, {}, head, consumed, scanned, err);
    if (n < head_len) {
      ASSERT_EQ(r, ParseResult::kIncomplete) << n;
    } else {
      ASSERT_EQ(r, ParseResult::kComplete) << n;
      EXPECT_EQ(consumed, head_len);
      EXPECT_EQ(head.content_length, 5u);
      break;
    }
  }
}

TEST(ParserTest, KeepAliveRules) {
  EXPECT_FALSE(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").head.keep_alive);
  EXPECT_TRUE(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, keep-alive\r\n\r\n").head.keep_alive);
  EXPECT_FALSE(parse("GET / HTTP/1.0\r\n\r\n").head.keep_alive);  // 1.0: Host optional, close by default
  EXPECT_TRUE(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").head.keep_alive);
}

TEST(ParserTest, LeadingEmptyLinesAreIgnored) {
  std::string raw = "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";  // views point into it: keep it alive
  auto p = parse(raw);
  ASSERT_EQ(p.result, ParseResult::kComplete);
  EXPECT_EQ(p.head.path, "/");
}

TEST(ParserTest, ExpectContinue) {
  auto p = parse("PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_EQ(p.result, ParseResult::kComplete);
  EXPECT_TRUE(p.head.expect_continue);
  EXPECT_EQ(status_of("PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nExpect: teapot\r\n\r\n"), 417);
}

// Each row: a request and the status it must be refused with (0: accepted).
struct Case {
  const char* name;
  std::string raw;
  int status;
};

// RFC 9110 §10.1.1: a server MUST ignore 100-continue in an HTTP/1.0 request.
TEST(ParserTest, ExpectContinueIgnoredInHttp10) {
  auto p = parse("PUT /f HTTP/1.0\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_EQ(p.result, ParseResult::kComplete);
  EXPECT_FALSE(p.head.expect_continue);
}

// RFC 9112 §3.2.2: absolute-form routes by its path, and its authority replaces Host.
TEST(ParserTest, AbsoluteFormReplacesHost) {
  std::string raw = "GET http://abs.example:8080/v1/x?q=1 HTTP/1.1\r\nHost: other.example\r\n\r\n";
  auto p = parse(raw);
  ASSERT_EQ(p.result, ParseResult::kComplete);
  EXPECT_EQ(p.head.path, "/v1/x");
  EXPECT_EQ(p.head.query, "q=1");
  EXPECT_EQ(p.head.header("Host"), "abs.example:8080");
  EXPECT_EQ(p.head.header_count, 1u);

  std::string bare = "OPTIONS https://abs.example HTTP/1.1\r\nHost: abs.example\r\n\r\n";
  auto b = parse(bare);
  ASSERT_EQ(b.result, ParseResult::kComplete);
  EXPECT_EQ(b.head.path, "/");
  EXPECT_EQ(b.head.query, "");

  std::string http10 = "GET http://abs.example/x HTTP/1.0\r\n\r\n";  // Host optional: one is supplied
  auto h = parse(http10);
  ASSERT_EQ(h.result, ParseResult::kComplete);
  EXPECT_EQ(h.head.header("Host"), "abs.example");
}

// RFC 9112 §3.2.3, §3.2.4: authority-form is CONNECT's only form, asterisk-form OPTIONS's only.
TEST(ParserTest, TargetFormsBoundToTheirMethods) {
  std::string connect = "CONNECT abs.example:443 HTTP/1.1\r\nHost: abs.example:443\r\n\r\n";
  auto c = parse(connect);
  ASSERT_EQ(c.result, ParseResult::kComplete);
  EXPECT_EQ(c.head.method, Method::kConnect);
  EXPECT_EQ(c.head.path, "abs.example:443");
  std::string options = "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n";
  auto o = parse(options);
  ASSERT_EQ(o.result, ParseResult::kComplete);
  EXPECT_EQ(o.head.target, "*");

  const Case cases[] = {
      {"CONNECT origin-form", "CONNECT /x HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"CONNECT without port", "CONNECT abs.example HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"CONNECT bad port", "CONNECT abs.example:4x3 HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"authority-form for GET", "GET abs.example:80 HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"asterisk for GET", "GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"absolute-form without authority", "GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"absolute-form with userinfo", "GET http://u@abs.example/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"absolute-form bad scheme", "GET 1http://abs.example/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"absolute-form still needs Host in 1.1", "GET http://abs.example/ HTTP/1.1\r\n\r\n", 400},
  };
  for (auto& k : cases) EXPECT_EQ(status_of(k.raw), k.status) << k.name;
}

// RFC 9112 §3.2: a Host field with an invalid value is answered 400.
TEST(ParserTest, InvalidHostValueIs400) {
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a.example/evil\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: user@a.example\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.0\r\nHost: a?b\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), 0);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: xn--bcher-kva.example:80\r\n\r\n"), 0);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost:\r\n\r\n"), 0);  // empty: a target URI without authority
}

TEST(ParserTest, LimitsAndSmugglingDefences) {
  ParserLimits small;
  small.max_request_line = 64;
  small.max_header_bytes = 256;
  small.max_headers = 4;
  small.max_body = 1000;
  const Case cases[] = {
      {"content-length and transfer-encoding",
       "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"duplicate content-length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", 400},
      {"conflicting content-length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
       400},
      {"content-length list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\n", 400},
      {"signed content-length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\n", 400},
      {"huge content-length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", 400},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n  continued\r\n\r\n", 400},
      {"space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400},
      {"invalid name char", "GET / HTTP/1.1\r\nHost: h\r\nX(A): 1\r\n\r\n", 400},
      {"bare CR in value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r2\r\n\r\n", 400},
      {"bare CR in request line", "GET / HTTP/1.1\rX\r\nHost: h\r\n\r\n", 400},
      {"bare LF", "GET / HTTP/1.1\nHost: h\r\n\r\n", 400},
      {"NUL in value", std::string("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\0b\r\n\r\n", 38), 400},
      {"TE gzip", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
      {"TE chunked twice", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400},
      {"TE gzip then chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
      {"TE chunked not last", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400},
      {"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"missing host", "GET / HTTP/1.1\r\n\r\n", 400},
      {"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
      {"lowercase version", "GET / http/1.1\r\nHost: h\r\n\r\n", 400},
      {"space in target", "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"no target", "GET  HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"relative target", "GET a HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"request line too long", "GET /" + std::string(100, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n", 414},
      {"too many headers", "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 431},
      {"header block too big", "GET / HTTP/1.1\r\nHost: h\r\nA: " + std::string(300, 'x') + "\r\n\r\n", 431},
      {"body over limit", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1001\r\n\r\n", 413},
      {"body at limit", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n", 0},
      {"four headers", "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 0},
  };
  for (auto& c : cases) EXPECT_EQ(status_of(c.raw, small), c.status) << c.name;
}

TEST(ParserTest, OversizeRequestLineIsRefusedBeforeItEnds) {
  ParserLimits limits;
  limits.max_request_line = 100;
  // No line end yet, already over the limit: answer 414 without waiting for more.
  EXPECT_EQ(status_of("GET /" + std::string(200, 'a'), limits), 414);
  // Under the limit and incomplete: wait.
  EXPECT_EQ(status_of("GET /" + std::string(50, 'a'), limits), -1);
  limits.max_header_bytes = 300;
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(400, 'a'), limits), 431);
}

TEST(ResponseParserTest, SameStrictnessReportedAs502) {
  auto parse_response = [](const std::string& raw, ResponseHead& head) {
    std::size_t consumed = 0;
    ParseError err;
    auto r = parse_response_head(raw.data(), raw.size(), {}, head, consumed, err);
    return r == ParseResult::kError ? err.status : (r == ParseResult::kComplete ? 0 : -1);
  };
  ResponseHead head;
  std::string ok = "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nX-A:  b \r\n\r\nabc";
  ASSERT_EQ(parse_response(ok, head), 0);
  EXPECT_EQ(head.status, 404);
  EXPECT_EQ(head.reason, "Not Found");
  EXPECT_EQ(head.content_length, 3u);
  EXPECT_EQ(head.header("x-a"), "b");
  EXPECT_TRUE(head.keep_alive);
  std::string gz = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n";
  ASSERT_EQ(parse_response(gz, head), 0);
  EXPECT_FALSE(head.keep_alive);  // body runs to the close
  std::string old = "HTTP/1.0 200 OK\r\n\r\n";
  ASSERT_EQ(parse_response(old, head), 0);
  EXPECT_FALSE(head.keep_alive);
  const char* bad[] = {
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
      "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
      "HTTP/1.1 20 OK\r\n\r\n",
      "HTTP/2 200 OK\r\n\r\n",
  };
  for (const char* raw : bad) EXPECT_EQ(parse_response(raw, head), 502) << raw;
}

// Found by the http_response fuzzer: a control character in the reason phrase reached the caller, and
// a bare CR in the status line made the parser skip the byte after it and read on as a header field.
TEST(ResponseParserTest, StatusLineHasNoControlCharactersOrBareCr) {
  ResponseHead head;
  std::size_t consumed = 0;
  ParseError err;
  const std::string bad[] = {
      std::string("HTTP/1.1 100 Co\x88\x8e\0\0F\xd9OK\r\n\r\n", 27),
      "HTTP/1.1 200 O\x01K\r\n\r\n",
      "HTTP/1.1 200 O\rKX-Injected: 1\r\n\r\n",
      "HTTP/1.1 200\rXX-Injected: 1\r\n\r\n",
  };
  for (const auto& raw : bad) {
    EXPECT_EQ(parse_response_head(raw.data(), raw.size(), {}, head, consumed, err), ParseResult::kError) << raw;
    EXPECT_EQ(err.status, 502);
  }
  std::string ok = "HTTP/1.1 200 Fine\t\xc3\xa9 \r\n\r\n";  // HTAB and obs-text are allowed
  ASSERT_EQ(parse_response_head(ok.data(), ok.size(), {}, head, consumed, err), ParseResult::kComplete);
  EXPECT_EQ(head.reason, "Fine\t\xc3\xa9 ");
}

std::pair<ParseResult, std::string> decode(const std::string& body, std::uint64_t max = 1 << 20,
                                           std::size_t* consumed_out = nullptr, ParseError* err_out = nullptr) {
  ChunkedDecoder d(max);
  std::string out;
  std::size_t consumed = 0;
  ParseError err;
  auto r = d.feed(body.data(), body.size(), out, consumed, err);
  if (consumed_out) *consumed_out = consumed;
  if (err_out) *err_out = err;
  return {r, out};
}

TEST(ChunkedTest, DecodesWithExtensionsAndTrailers) {
  std::string body = "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\nGET /next";
  std::size_t consumed = 0;
  auto [r, out] = decode(body, 1 << 20, &consumed);
  EXPECT_EQ(r, ParseResult::kComplete);
  EXPECT_EQ(out, "hello world");
  EXPECT_EQ(body.substr(consumed), "GET /next");  // pipelined bytes are left alone
}

TEST(ChunkedTest, ByteByByte) {
  std::string body = "A\r\n0123456789\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n";
  ChunkedDecoder d(1 << 20);
  std::string out;
  ParseError err;
  ParseResult r = ParseResult::kIncomplete;
  for (char ch : body) {
    std::size_t consumed = 0;
    r = d.feed(&ch, 1, out, consumed, err);
    ASSERT_NE(r, ParseResult::kError) << err.reason;
  }
  EXPECT_EQ(r, ParseResult::kComplete);
  EXPECT_EQ(out, "0123456789abcdefghijklmnopqrstuvwxyz");
}

TEST(ChunkedTest, RejectsMalformedAndOversize) {
  const std::pair<const char*, int> bad[] = {
      {"x\r\nhello\r\n0\r\n\r\n", 400},                    // not hex
      {"-5\r\nhello\r\n0\r\n\r\n", 400},                   // sign
      {"5\r\nhelloXX\r\n0\r\n\r\n", 400},                  // data longer than size
      {"5\nhello\r\n0\r\n\r\n", 400},                      // bare LF after size
      {"5\r\nhello\r\n0\r\nBad Trailer: x\r\n\r\n", 400},  // invalid trailer name
      {"ffffffffffffffff\r\n", 400},                       // 16 hex digits: overflow guard
      {"\r\n", 400},                                       // empty size
  };
  for (auto& [body, status] : bad) {
    ParseError err;
    auto [r, out] = decode(body, 1 << 20, nullptr, &err);
    EXPECT_EQ(r, ParseResult::kError) << body;
    EXPECT_EQ(err.status, status) << body;
  }
  ParseError err;
  auto [r, out] = decode("400\r\n", 1000, nullptr, &err);  // 1024 > 1000
  EXPECT_EQ(r, ParseResult::kError);
  EXPECT_EQ(err.status, 413);
}

}  // namespace
}  // namespace svckit::http
