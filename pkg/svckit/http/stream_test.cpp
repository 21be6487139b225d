// Streaming on both sides: request bodies read by the handler piece by piece (.stream_body()),
// responses written piece by piece, the raw connection after a 101, and the client's awaitable body
// source, head callback, body sink and upgraded connection.
#include "svckit/http/stream.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <thread>

#include "svckit/core/notifier.hpp"
#include "svckit/http/client.hpp"
#include "svckit/http/server.hpp"
#include "svckit/testing/raw_http_client.hpp"
#include "svckit/testing/upgrade_echo.hpp"

using namespace std::chrono_literals;

namespace svckit::http {
namespace {

using testing::RawClient;

// Counts the body's bytes as they come and answers with the count and the largest piece seen.
Task<void> count_body(Request& req, Response& res) {
  std::uint64_t total = 0;
  std::size_t largest = 0;
  for (;;) {
    Result<std::string_view> piece = co_await req.stream()->read();
    if (!piece) {
      res.error(piece.error());
      co_return;
    }
    if (piece->empty()) break;
    total += piece->size();
    largest = std::max(largest, piece->size());
  }
  res.text(200, std::to_string(total) + " " + (largest <= 128 * 1024 ? "bounded" : "unbounded"));
}

// Echoes the body back as it arrives: chunked, or with the request's length when it had one.
Task<void> echo_stream(Request& req, Response& res) {
  Stream& s = *req.stream();
  res.status = 200;
  res.set_header("Content-Type", "application/octet-stream");
  if (!(co_await s.write_head(res, s.content_length())).ok()) co_return;
  for (;;) {
    Result<std::string_view> piece = co_await s.read();
    if (!piece || piece->empty()) break;
    if (!(co_await s.write(*piece)).ok()) co_return;
  }
  static_cast<void>(co_await s.finish());
}

class StreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.post("/count", count_body).stream_body().body_limit(64ull << 20);
    router_.post("/limited", count_body).stream_body().body_limit(100);
    router_.post("/echo", echo_stream).stream_body().body_limit(64ull << 20);
    router_.get("/pieces", [](Request& req, Response& res) -> Task<void> {
      res.status = 200;
      if (!(co_await req.stream()->write_head(res, std::nullopt)).ok()) co_return;
      for (int i = 0; i < 3; ++i)
        if (!(co_await req.stream()->write("piece" + std::to_string(i) + ";")).ok()) co_return;
      static_cast<void>(co_await req.stream()->finish());
    });
    router_.get("/ws", testkit::upgrade_echo("echo"));
    router_.get("/after", [](Request&, Response& res) { res.text(200, "after"); });
    // Writes its head (4 bytes long), then its body when the test says.
    router_.get("/slow", [this](Request& req, Response& res) -> Task<void> {
      res.status = 200;
      if (!(co_await req.stream()->write_head(res, std::uint64_t{4})).ok()) co_return;
      co_await finish_body_.wait();
      if (!(co_await req.stream()->write("done")).ok()) co_return;
      static_cast<void>(co_await req.stream()->finish());
    });
    ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    server_ = std::make_unique<Server>(rt_, router_, o, log::Logger({.level = log::Level::kOff}));
    ASSERT_TRUE(server_->start().ok());
    port_ = server_->port();
  }
  void TearDown() override { rt_.block_on(server_->drain()); }
  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }

  Runtime rt_{{.workers = 1}};
  Router router_;
  Notifier finish_body_;
  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
};

TEST_F(StreamTest, ContentLengthBodyIsReadInBoundedPiecesAndTheConnectionIsReused) {
  RawClient c(port_);
  std::string body(3 << 20, 'x');
  c.send("POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  auto r = c.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, std::to_string(body.size()) + " bounded");
  c.send("GET /after HTTP/1.1\r\nHost: t\r\n\r\n");
  r = c.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "after");
}

// body_timeout bounds a streamed body as a whole, as it bounds one the server reads: a client that
// trickles a byte now and then is not kept for ever (a slow-body attack on a proxy).
TEST_F(StreamTest, AStreamedBodyTrickledSlowlyEndsAtTheBodyTimeout) {
  ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.body_timeout = 500ms;
  Server server(rt_, router_, o, log::Logger({.level = log::Level::kOff}));
  ASSERT_TRUE(server.start().ok());
  RawClient c(server.port());
  c.send("POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n");
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    for (int i = 0; i < 90 && !stop; ++i) {
      std::this_thread::sleep_for(100ms);
      c.send("0123456789");
    }
  });
  auto t0 = std::chrono::steady_clock::now();
  auto r = c.response(2500ms);
  stop = true;
  trickle.join();
  ASSERT_TRUE(r) << "no answer within 2.5 s: the trickle keeps the body open";
  EXPECT_EQ(r->status, 408);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
  rt_.block_on(server.drain());
}

// A client that stops reading a streamed answer is dropped once a write waits write_timeout: the
// handler's write fails, and the connection closes instead of waiting again to flush what is left.
TEST_F(StreamTest, AReaderThatStopsReadingAStreamedAnswerIsDroppedAtTheWriteTimeout) {
  Router router;  // the fixture's is frozen by its server
  router.get("/endless", [](Request& req, Response& res) -> Task<void> {
    res.status = 200;
    if (!(co_await req.stream()->write_head(res, std::nullopt)).ok()) co_return;
    const std::string piece(64 * 1024, 'z');
    while ((co_await req.stream()->write(piece)).ok()) {
    }
  });
  ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.write_timeout = 300ms;
  Server server(rt_, router, o, log::Logger({.level = log::Level::kOff}));
  ASSERT_TRUE(server.start().ok());
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string req = "GET /endless HTTP/1.1\r\nHost: t\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), ssize_t(req.size()));
  // Never reading. (The kernel may keep sending what was queued after the server closed; what
  // counts is that the server let the connection go.)
  for (int i = 0; i < 20 && server.connections() == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server.connections(), 1u);
  bool closed = false;
  for (int i = 0; i < 100 && !closed; ++i) {
    std::this_thread::sleep_for(50ms);
    closed = server.connections() == 0;
  }
  ::close(fd);
  EXPECT_TRUE(closed) << "still open 5 s after the client stopped reading";
  rt_.block_on(server.drain());
}

TEST_F(StreamTest, ChunkedBodyIsDecodedAndAPipelinedRequestAfterItIsServed) {
  RawClient c(port_);
  c.send(
      "POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
      "GET /after HTTP/1.1\r\nHost: t\r\n\r\n");
  auto r = c.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "11 bounded");
  r = c.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "after");
}

TEST_F(StreamTest, LimitsAndBadChunksAreRefused) {
  {
    RawClient c(port_);  // a declared length over the limit: 413 before the handler
    c.send("POST /limited HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n");
    auto r = c.response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
  }
  {
    RawClient c(port_);  // chunked past the limit: the handler's read fails with 413, the connection closes
    c.send("POST /limited HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string("FF\r\n") +
           std::string(255, 'a') + "\r\n0\r\n\r\n");
    auto r = c.response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_TRUE(c.closed());
  }
  {
    RawClient c(port_);
    c.send("POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nhello\r\n0\r\n\r\n");
    auto r = c.response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_TRUE(c.closed());
  }
}

TEST_F(StreamTest, ExpectContinueIsAnsweredAtTheFirstRead) {
  RawClient c(port_);
  c.send("POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  auto interim = c.response();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  c.send("hello");
  auto r = c.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "5 bounded");
}

TEST_F(StreamTest, StreamedResponsesKeepTheirFraming) {
  RawClient c(port_);
  c.send("GET /pieces HTTP/1.1\r\nHost: t\r\n\r\n");
  std::string got = c.read_until([](const std::string& b) { return b.find("0\r\n\r\n") != std::string::npos; });
  EXPECT_NE(got.find("Transfer-Encoding: chunked\r\n"), std::string::npos) << got;
  EXPECT_NE(got.find("7\r\npiece0;\r\n7\r\npiece1;\r\n7\r\npiece2;\r\n0\r\n\r\n"), std::string::npos) << got;
  EXPECT_EQ(got.find("Content-Length"), std::string::npos);

  RawClient c2(port_);  // a Content-Length echo keeps its length
  c2.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nabcd");
  auto r = c2.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->headers["content-length"], "4");
  EXPECT_EQ(r->body, "abcd");
  c2.send("GET /after HTTP/1.1\r\nHost: t\r\n\r\n");  // and the connection goes on
  r = c2.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "after");

  RawClient c3(port_);  // HTTP/1.0 without a length: delimited by the close
  c3.send("GET /pieces HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(c3.closed());
  std::string all = c3.read_until([](const std::string&) { return false; }, 100ms);
  EXPECT_NE(all.find("\r\n\r\npiece0;piece1;piece2;"), std::string::npos) << all;
}

// A streamed head written before a drain began promised keep-alive: the client's next request on
// that connection is answered (with Connection: close), not met by a silent close after the body.
TEST_F(StreamTest, AHeadThatPromisedKeepAliveBeforeADrainGetsTheNextRequestAnswered) {
  RawClient c(port_);
  c.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
  std::string head = c.read_until([](const std::string& b) { return b.find("\r\n\r\n") != std::string::npos; });
  ASSERT_EQ(head.find("Connection: close"), std::string::npos) << head;  // keep-alive, as promised
  std::thread drainer([this] { rt_.block_on(server_->drain()); });
  struct JoinAtExit {
    std::thread& t;
    ~JoinAtExit() { t.join(); }
  } join_at_exit{drainer};
  std::this_thread::sleep_for(50ms);  // the drain has begun
  finish_body_.notify();
  auto first = c.response();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->body, "done");
  EXPECT_EQ(first->headers["connection"], "");
  c.send("GET /after HTTP/1.1\r\nHost: t\r\n\r\n");  // sent on the promise
  auto r = c.response();
  ASSERT_TRUE(r) << "the request sent on a keep-alive promise was not answered";
  EXPECT_EQ(r->body, "after");
  EXPECT_EQ(r->headers["connection"], "close");
}

TEST_F(StreamTest, AfterA101TheConnectionCarriesRawBytesBothWays) {
  RawClient c(port_);
  c.send("GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nearly");
  std::string got = c.read_until([](const std::string& b) { return b.find("early") != std::string::npos; });
  EXPECT_EQ(got.rfind("HTTP/1.1 101 ", 0), 0u) << got;
  c.send("more bytes");
  got = c.read_until([](const std::string& b) { return b.find("more bytes") != std::string::npos; });
  EXPECT_NE(got.find("more bytes"), std::string::npos);
  c.shutdown_write();
  EXPECT_TRUE(c.closed());
}

Task<void> client_streams(Client& client, std::string url, std::string* echoed, std::string* head_seen, Status* out) {
  ClientRequest req;
  req.method = Method::kPost;
  req.url = std::move(url);
  int pieces = 0;
  std::string chunk(100000, 'z');
  req.body_source = [&pieces, &chunk]() -> Task<Result<std::string_view>> {
    if (pieces++ == 5) co_return std::string_view();
    co_return std::string_view(chunk);
  };
  req.body_length = 500000;
  req.on_head = [head_seen](const ClientResponse& r) -> Task<Status> {
    *head_seen = std::to_string(r.status) + " " + (r.content_length ? std::to_string(*r.content_length) : "none");
    co_return Status();
  };
  req.body_sink = [echoed](std::string_view piece) -> Task<Status> {
    echoed->append(piece);
    co_return Status();
  };
  Result<ClientResponse> res = co_await client.send(Context().with_timeout(5s), std::move(req));
  *out = res ? Status() : res.error();
}

TEST_F(StreamTest, ClientStreamsBothWaysWithBackpressure) {
  Client client(rt_, {.observe = false});
  std::string echoed, head;
  Status st;
  rt_.block_on(client_streams(client, url("/echo"), &echoed, &head, &st));
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(head, "200 500000");
  EXPECT_EQ(echoed.size(), 500000u);
  EXPECT_EQ(client.idle_connections(), 1u);  // framing verified: the connection is kept
}

Task<void> client_upgrades(Client& client, std::string url, std::string* got, Status* out) {
  ClientRequest req;
  req.url = std::move(url);
  req.headers = {{"Upgrade", "echo"}, {"Connection", "Upgrade"}};
  Result<ClientResponse> res = co_await client.send(Context().with_timeout(5s), std::move(req));
  if (!res) {
    *out = res.error();
    co_return;
  }
  if (!res->upgraded) {
    *out = Status(Code::kInternal, "no upgraded connection for " + std::to_string(res->status));
    co_return;
  }
  *out = co_await res->upgraded->write("ping");
  char buf[16];
  while (got->size() < 4) {
    Result<std::size_t> n = co_await res->upgraded->read(buf);
    if (!n || *n == 0) break;
    got->append(buf, *n);
  }
}

TEST_F(StreamTest, ClientHandsOverTheConnectionAfterA101) {
  Client client(rt_, {.observe = false});
  std::string got;
  Status st;
  rt_.block_on(client_upgrades(client, url("/ws"), &got, &st));
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(got, "ping");
}

}  // namespace
}  // namespace svckit::http
