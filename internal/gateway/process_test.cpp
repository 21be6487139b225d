// The gateway binary (cmd/gateway) as a process: 1 GiB streamed each way within its RSS bound,
// chunked and Content-Length framing preserved, and an upstream nobody here wrote (Python's
// http.server). Upstreams are svckit servers in this process; the gateway's memory is read from
// /proc/<pid>/status.
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>

#include "detail/gateway_fixture.hpp"
#include "svckit/auth/issuer.hpp"
#include "svckit/http/stream.hpp"

namespace svckit::gateway::testing {
namespace {

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool port_open(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// A /proc/<pid>/status field in KiB (VmRSS, VmHWM).
long status_kib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  return -1;
}

pid_t spawn(const std::vector<std::string>& argv) {
  pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

void stop(pid_t pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  for (int i = 0; i < 200; ++i) {
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) == pid) return;
    std::this_thread::sleep_for(25ms);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

// Counts a body as it streams; answers "<bytes> <framing>".
Task<void> sink(http::Request& req, http::Response& res) {
  http::Stream& s = *req.stream();
  std::string framing = s.content_length() ? "length" : "chunked";
  std::uint64_t total = 0;
  for (;;) {
    Result<std::string_view> piece = co_await s.read();
    if (!piece) {
      res.error(piece.error());
      co_return;
    }
    if (piece->empty()) break;
    total += piece->size();
  }
  res.text(200, std::to_string(total) + " " + framing);
}

// Streams ?n= bytes, with a Content-Length or (chunked=1) without.
Task<void> source(http::Request& req, http::Response& res) {
  std::uint64_t n = std::stoull(std::string(req.query_param("n")));
  bool chunked = req.query_param("chunked") == "1";
  http::Stream& s = *req.stream();
  res.status = 200;
  res.set_header("Content-Type", "application/octet-stream");
  if (!(co_await s.write_head(res, chunked ? std::nullopt : std::optional<std::uint64_t>(n))).ok()) co_return;
  std::string block(256 * 1024, 'd');
  while (n > 0) {
    std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(n, block.size()));
    if (!(co_await s.write(std::string_view(block.data(), k))).ok()) co_return;
    n -= k;
  }
  static_cast<void>(co_await s.finish());
}

class ProcessTest : public GatewayFixture {
 protected:
  void start_process(const std::string& routes, const std::vector<std::string>& extra = {}, bool wait = true) {
    const char* bin = std::getenv("SVCKIT_GATEWAY_BIN");  // another build of it, or the one built beside
    if (!bin) bin = SVCKIT_GATEWAY_BIN;
    write_routes(routes);
    gw_port_ = free_port();
    admin_port_ = free_port();
    std::vector<std::string> argv{bin,
                                  "--config-dir",
                                  "none",
                                  "--set",
                                  "http.host=127.0.0.1",
                                  "--set",
                                  "http.port=" + std::to_string(gw_port_),
                                  "--set",
                                  "admin.port=" + std::to_string(admin_port_),
                                  "--set",
                                  "gateway.routes_file=" + routes_path_,
                                  "--set",
                                  "http.max_body=4GiB",
                                  "--set",
                                  "log.level=warn",
                                  "--set",
                                  "http.access_log=false",
                                  "--set",
                                  "app.workers=1",
                                  "--set",
                                  "discovery.register=false"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    pid_ = spawn(argv);
    if (!wait) return;
    for (int i = 0; i < 200 && !port_open(gw_port_); ++i) std::this_thread::sleep_for(25ms);
    ASSERT_TRUE(port_open(gw_port_)) << "the gateway did not start";
  }
  void TearDown() override {
    stop(pid_);
    stop(python_);
    GatewayFixture::TearDown();
  }
  pid_t pid_ = -1, python_ = -1;
  std::uint16_t gw_port_ = 0, admin_port_ = 0;
};

constexpr std::uint64_t kGiB = 1ull << 30;

TEST_F(ProcessTest, OneGibEachWayStreamsWithinTheRssBoundAndFramingIsKept) {
  up_routers_[0].post("/sink", sink).stream_body().body_limit(4 * kGiB);
  up_routers_[0].get("/source", source);
  auto up = start_upstream(up_routers_[0]);
  start_process("routes: [{name: big, path: /, max_body: 2GiB, timeout: 10m, upstream: ['" + url(up) + "']}]");

  {  // warm up: a small exchange each way, then the baseline
    RawClient c(gw_port_);
    c.send("POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    auto r = c.response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "5 length");
  }
  const long base = status_kib(pid_, "VmRSS");
  ASSERT_GT(base, 0);

  // 1 GiB up, Content-Length framing.
  {
    RawClient c(gw_port_);
    c.send("POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(kGiB) + "\r\n\r\n");
    std::string block(1 << 20, 'u');
    for (std::uint64_t sent = 0; sent < kGiB; sent += block.size()) c.send(block);
    auto r = c.response(120s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, std::to_string(kGiB) + " length");
  }
  const long after_up = status_kib(pid_, "VmHWM");
  // 1 GiB down, Content-Length framing, read and dropped as it comes.
  {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(gw_port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    std::string request = "GET /source?n=" + std::to_string(kGiB) + " HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
    std::string head;
    std::uint64_t body = 0;
    std::vector<char> buf(1 << 20);
    timeval tv{30, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (body < kGiB) {
      ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
      if (n <= 0) break;
      std::size_t k = static_cast<std::size_t>(n);
      if (head.find("\r\n\r\n") == std::string::npos) {
        head.append(buf.data(), k);
        auto end = head.find("\r\n\r\n");
        if (end != std::string::npos) body = head.size() - (end + 4);
      } else {
        body += k;
      }
    }
    ::close(fd);
    EXPECT_NE(head.find("Content-Length: " + std::to_string(kGiB)), std::string::npos) << head.substr(0, 300);
    EXPECT_EQ(body, kGiB);
  }
  const long after_down = status_kib(pid_, "VmHWM");
  const long grew_kib = std::max(after_up, after_down) - base;
  std::fprintf(stderr, "gateway RSS: base %ld KiB, peak after 1 GiB up %ld KiB, after 1 GiB down %ld KiB: +%ld KiB\n",
               base, after_up, after_down, grew_kib);
  EXPECT_LE(grew_kib, 64 * 1024);
}

TEST_F(ProcessTest, ChunkedStaysChunkedAndAnUpstreamNobodyHereWroteIsServed) {
  up_routers_[0].post("/sink", sink).stream_body().body_limit(kGiB);
  up_routers_[0].get("/source", source);
  auto up = start_upstream(up_routers_[0]);
  // Python's http.server over a folder.
  std::filesystem::create_directories(dir_ / "www");
  {
    std::ofstream f(dir_ / "www" / "hello.txt");
    f << "hello from python";
  }
  const std::uint16_t py = free_port();
  python_ = spawn({"/usr/bin/python3", "-m", "http.server", std::to_string(py), "--bind", "127.0.0.1", "--directory",
                   (dir_ / "www").string()});
  for (int i = 0; i < 200 && !port_open(py); ++i) std::this_thread::sleep_for(25ms);
  ASSERT_TRUE(port_open(py));
  start_process("routes:\n  - {name: py, path: /py/, strip_prefix: true, upstream: ['http://127.0.0.1:" +
                std::to_string(py) + "']}\n  - {name: svc, path: /, max_body: 1GiB, upstream: ['" + url(up) + "']}\n");
  {
    RawClient c(gw_port_);
    c.send("GET /py/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c.response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "hello from python");
    c.send("GET /py/missing HTTP/1.1\r\nHost: x\r\n\r\n");  // the same client connection goes on
    r = c.response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404);
  }
  {  // a chunked upload reaches the upstream chunked
    RawClient c(gw_port_);
    std::string body = "POST /sink HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    std::string chunk(100000, 'c');
    for (int i = 0; i < 100; ++i) body += "186a0\r\n" + chunk + "\r\n";
    body += "0\r\n\r\n";
    c.send(body);
    auto r = c.response(30s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "10000000 chunked");
  }
  {  // a chunked download reaches the client chunked
    RawClient c(gw_port_);
    c.send("GET /source?n=1000000&chunked=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string got =
        c.read_until([](const std::string& b) { return b.find("\r\n0\r\n\r\n") != std::string::npos; }, 30s);
    EXPECT_NE(got.find("Transfer-Encoding: chunked"), std::string::npos) << got.substr(0, 300);
    EXPECT_EQ(got.find("Content-Length"), std::string::npos);
    EXPECT_NE(got.find("\r\n0\r\n\r\n"), std::string::npos);
  }
  {  // /debug/routes on the admin port is the gateway's table
    RawClient c(admin_port_);
    c.send("GET /debug/routes HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c.response();
    ASSERT_TRUE(r);
    EXPECT_NE(r->body.find(R"("name":"py")"), std::string::npos) << r->body;
    EXPECT_NE(r->body.find(R"("requests":)"), std::string::npos) << r->body;
    c.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    r = c.response();
    ASSERT_TRUE(r);
    EXPECT_NE(r->body.find(R"(svckit_gateway_requests_total{route="py",status="200"} 1)"), std::string::npos);
    EXPECT_NE(r->body.find(R"(svckit_gateway_upstream_duration_seconds_count{route="svc"})"), std::string::npos);
  }
}

// cmd/gateway's wiring of identity at the edge: the gateway_auth section (here from --set) makes the
// verifier; without it a routes file with auth: jwt stops the gateway at start (exit 2).
TEST_F(ProcessTest, GatewayAuthFromTheConfigurationVerifiesTokens) {
  up_routers_[0].get("/*path", [](http::Request& req, http::Response& res) {
    res.text(200, "user=" + std::string(req.header("X-User-Id")));
  });
  auto up = start_upstream(up_routers_[0]);
  const std::string routes = "routes: [{name: api, path: /, auth: jwt, upstream: ['" + url(up) + "']}]";

  start_process(routes, {}, /*wait=*/false);  // no gateway_auth: refused, not served open
  int status = 0;
  for (int i = 0; i < 400 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) std::this_thread::sleep_for(25ms);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  pid_ = -1;

  auto key = auth::Key::generate(auth::Algorithm::kEdDSA, "k1").value();
  auth::KeySet keys;
  ASSERT_TRUE(keys.add(key).ok());
  const std::string jwks = (dir_ / "jwks.json").string();
  std::ofstream(jwks) << keys.to_jwks();
  auto issuer = auth::Issuer::create(keys, "k1", {.issuer = "https://id.test", .audience = {"api"}}).value();
  auth::Claims claims;
  claims.set_subject("user-42");
  const std::string token = issuer.issue(claims).value();
  start_process(routes, {"--set", "gateway_auth.jwks_file=" + jwks, "--set", "gateway_auth.issuer=https://id.test",
                         "--set", "gateway_auth.audiences=api"});
  RawClient c(gw_port_);
  c.send("GET /x HTTP/1.1\r\nHost: x\r\nX-User-Id: admin\r\n\r\n");
  auto r = c.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->headers["www-authenticate"], "Bearer");
  c.send("GET /x HTTP/1.1\r\nHost: x\r\nX-User-Id: admin\r\nAuthorization: Bearer " + token + "\r\n\r\n");
  r = c.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "user=user-42");
  RawClient admin(admin_port_);
  admin.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  r = admin.response();
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find(R"(svckit_gateway_auth_total{route="api",outcome="missing"} 1)"), std::string::npos);
  EXPECT_NE(r->body.find(R"(svckit_gateway_auth_total{route="api",outcome="ok"} 1)"), std::string::npos);
}

}  // namespace
}  // namespace svckit::gateway::testing
