#include "svckit/http/client.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <thread>

#include "svckit/http/server.hpp"
#include "svckit/trace/tracer.hpp"

using namespace std::chrono_literals;

namespace svckit::http {
namespace {

Task<void> sleepy(Request& req, Response& res) {
  Status st = co_await sleep_for(req.ctx, std::chrono::milliseconds(std::stoi(std::string(req.param("ms")))));
  res.text(200, st.ok() ? "slept" : "interrupted");
}

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.get("/hello", [](Request&, Response& res) { res.text(200, "hi"); });
    router_.post("/echo", [](Request& req, Response& res) {
      res.set_header("X-Request-TE", req.header("Transfer-Encoding"));
      res.text(200, req.body());
    });
    router_.get("/headers", [](Request& req, Response& res) {
      std::string out;
      for (auto* h = req.headers_begin(); h != req.headers_end(); ++h)
        out += std::string(h->name) + "=" + std::string(h->value) + "\n";
      res.text(200, out);
    });
    router_.get("/big", [](Request&, Response& res) { res.text(200, std::string(300000, 'z')); });
    router_.get("/sleep/:ms", sleepy);
    // n fields X-Field-0.., each shorter than the one before
    router_.get("/fields/:n", [](Request& req, Response& res) {
      const int n = std::stoi(std::string(req.param("n")));
      for (int i = 0; i < n; ++i)
        res.set_header("X-Field-" + std::to_string(i),
                       std::string(static_cast<std::size_t>(40 - 10 * i), static_cast<char>('a' + i)));
      res.text(200, "ok");
    });
    ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.idle_timeout = 300ms;
    server_ = std::make_unique<Server>(rt_, router_, o, log::Logger({.level = log::Level::kOff}));
    ASSERT_TRUE(server_->start().ok());
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override { rt_.block_on(server_->drain()); }

  template <class F>
  auto run(F f) {
    return rt_.block_on(f());
  }

  Runtime rt_{{.workers = 2}};
  Router router_;
  std::unique_ptr<Server> server_;
  std::string base_;
};

TEST_F(ClientTest, GetReusesTheConnection) {
  Client client(rt_);
  auto task = [&]() -> Task<bool> {
    for (int i = 0; i < 3; ++i) {
      auto r = co_await client.get(Context(), base_ + "/hello");
      if (!r || r->status != 200 || r->body != "hi") co_return false;
    }
    co_return true;
  };
  EXPECT_TRUE(rt_.block_on(task()));
  EXPECT_EQ(client.stats().connections_opened, 1u);
  EXPECT_EQ(client.stats().connections_reused, 2u);
  EXPECT_EQ(client.idle_connections(), 1u);
}

// Responses on one thread take their fields' storage from the responses before them: each still
// carries exactly its own fields, however many and however long the previous ones were.
TEST_F(ClientTest, EachResponseCarriesExactlyItsOwnFields) {
  Client client(rt_);
  auto task = [&]() -> Task<bool> {
    const std::array<int, 5> counts{3, 1, 0, 2, 3};
    for (int n : counts) {
      std::vector<std::pair<std::string, std::string>> fields;
      {
        const Context ctx;
        const std::string url = base_ + "/fields/" + std::to_string(n);
        auto r = co_await client.get(ctx, url);
        if (!r || r->status != 200) co_return false;
        for (const auto& [k, v] : r->headers)
          if (k.starts_with("X-Field-")) fields.emplace_back(k, v);
        if (r->header("X-Field-" + std::to_string(n)) != "") co_return false;  // none left from before
      }
      if (fields.size() != static_cast<std::size_t>(n)) co_return false;
      for (int i = 0; i < n; ++i)
        if (fields[i].first != "X-Field-" + std::to_string(i) ||
            fields[i].second != std::string(static_cast<std::size_t>(40 - 10 * i), static_cast<char>('a' + i)))
          co_return false;
    }
    co_return true;
  };
  EXPECT_TRUE(rt_.block_on(task()));
}

// Fields in wire form go out as they are, after the pairs; a Host or User-Agent among them stands in
// for the client's own, and trace context is still written once.
TEST_F(ClientTest, WireHeadersAreSentAsTheyAreAndReplaceHostAndUserAgent) {
  Client client(rt_);
  const std::string wire = "host: proxied.example\r\nX-Forwarded-For: 10.0.0.1, 10.0.0.2\r\nuser-agent: curl/8\r\n";
  auto task = [&](bool with_wire) -> Task<std::string> {
    ClientRequest req;
    req.url = base_ + "/headers";
    req.headers.emplace_back("X-Pair", "1");
    if (with_wire) req.wire_headers = wire;
    trace::SpanContext sc{.trace_id = trace::TraceId::random(), .span_id = trace::SpanId::random(), .sampled = true};
    Context ctx = trace::with_span(Context(), sc);
    auto r = co_await client.send(ctx, std::move(req));
    co_return r ? r->body : r.error().to_string();
  };
  std::string with = rt_.block_on(task(true));
  EXPECT_NE(with.find("X-Pair=1\nhost=proxied.example\nX-Forwarded-For=10.0.0.1, 10.0.0.2\nuser-agent=curl/8\n"),
            std::string::npos)
      << with;
  auto count = [](const std::string& text, std::string_view what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count(with, "Host="), 0u) << with;  // the wire's host, not the client's
  EXPECT_EQ(count(with, "User-Agent="), 0u) << with;
  EXPECT_EQ(count(with, "traceparent="), 1u) << with;
  std::string without = rt_.block_on(task(false));
  EXPECT_EQ(count(without, "Host=127.0.0.1:"), 1u) << without;
  EXPECT_EQ(count(without, "User-Agent=svckit"), 1u) << without;
}

TEST_F(ClientTest, PostAndChunkedUploadAndStreamingDownload) {
  Client client(rt_);
  auto task = [&]() -> Task<std::tuple<std::string, std::string, std::string, std::size_t, std::size_t>> {
    auto a = co_await client.post(Context(), base_ + "/echo", "plain body", "text/plain");
    ClientRequest req;
    req.method = Method::kPost;
    req.url = base_ + "/echo";
    int piece = 0;
    req.body_stream = [&piece]() -> std::optional<std::string> {
      if (piece == 3) return std::nullopt;
      return "part" + std::to_string(piece++) + ";";
    };
    auto b = co_await client.send(Context(), std::move(req));
    ClientRequest big;
    big.url = base_ + "/big";
    std::size_t pieces = 0, total = 0;
    big.on_body = [&](std::string_view p) {
      ++pieces;
      total += p.size();
      return Status();
    };
    auto c = co_await client.send(Context(), std::move(big));
    co_return std::make_tuple(a ? a->body : a.error().to_string(), b ? b->body : b.error().to_string(),
                              b ? std::string(b->header("X-Request-TE")) : "", pieces,
                              c && c->body.empty() ? total : 0);
  };
  auto [a, b, te, pieces, total] = rt_.block_on(task());
  EXPECT_EQ(a, "plain body");
  EXPECT_EQ(b, "part0;part1;part2;");
  EXPECT_EQ(te, "chunked");
  EXPECT_EQ(total, 300000u);
  EXPECT_GT(pieces, 1u);  // delivered as it arrived, not buffered whole
}

TEST_F(ClientTest, DeadlineAndCancellationEndTheCall) {
  Client client(rt_);
  auto t0 = std::chrono::steady_clock::now();
  auto deadline = rt_.block_on([&]() -> Task<Result<ClientResponse>> {
    co_return co_await client.get(Context().with_timeout(100ms), base_ + "/sleep/5000");
  }());
  ASSERT_FALSE(deadline);
  EXPECT_EQ(deadline.error().code(), Code::kDeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);

  Context ctx = Context().with_cancel();
  std::thread canceller([&] {
    std::this_thread::sleep_for(50ms);
    ctx.cancel();
  });
  auto cancelled = rt_.block_on(
      [&]() -> Task<Result<ClientResponse>> { co_return co_await client.get(ctx, base_ + "/sleep/5000"); }());
  canceller.join();
  ASSERT_FALSE(cancelled);
  EXPECT_EQ(cancelled.error().code(), Code::kCancelled);
  // The client's own timeout applies when the Context has none.
  Client quick(rt_, {.timeout = 100ms});
  auto t = rt_.block_on(
      [&]() -> Task<Result<ClientResponse>> { co_return co_await quick.get(Context(), base_ + "/sleep/5000"); }());
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code(), Code::kDeadlineExceeded);
}

TEST_F(ClientTest, PropagatesMetadataAndRemainingDeadline) {
  Client client(rt_);
  auto r = rt_.block_on([&]() -> Task<Result<ClientResponse>> {
    co_return co_await client.get(Context().with_timeout(5s).with_metadata("x-tenant", "acme"), base_ + "/headers");
  }());
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_NE(r->body.find("x-tenant=acme"), std::string::npos) << r->body;
  auto pos = r->body.find("X-Request-Timeout-Ms=");
  ASSERT_NE(pos, std::string::npos);
  int ms = std::stoi(r->body.substr(pos + 21));
  EXPECT_GT(ms, 3000);
  EXPECT_LE(ms, 5000);
}

TEST_F(ClientTest, ErrorsAreStatuses) {
  Client client(rt_, {.max_response_body = 1000});
  auto refused = rt_.block_on(
      [&]() -> Task<Result<ClientResponse>> { co_return co_await client.get(Context(), "http://127.0.0.1:1/x"); }());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), Code::kUnavailable);
  auto big = rt_.block_on(
      [&]() -> Task<Result<ClientResponse>> { co_return co_await client.get(Context(), base_ + "/big"); }());
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code(), Code::kResourceExhausted);
  auto bad =
      rt_.block_on([&]() -> Task<Result<ClientResponse>> { co_return co_await client.get(Context(), "ftp://x/y"); }());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), Code::kInvalidArgument);
  // Still usable afterwards.
  auto ok = rt_.block_on(
      [&]() -> Task<Result<ClientResponse>> { co_return co_await client.get(Context(), base_ + "/hello"); }());
  EXPECT_TRUE(ok);
}

TEST_F(ClientTest, ServerClosedIdleConnectionIsNotUsed) {
  Client client(rt_);
  auto first = rt_.block_on(
      [&]() -> Task<Result<ClientResponse>> { co_return co_await client.get(Context(), base_ + "/hello"); }());
  ASSERT_TRUE(first);
  std::this_thread::sleep_for(700ms);  // the server's idle timeout (300 ms) closes it
  auto second = rt_.block_on(
      [&]() -> Task<Result<ClientResponse>> { co_return co_await client.get(Context(), base_ + "/hello"); }());
  ASSERT_TRUE(second) << second.error().to_string();
  EXPECT_EQ(second->body, "hi");
  EXPECT_EQ(client.stats().connections_opened, 2u);
}

TEST_F(ClientTest, PerHostLimitQueuesCalls) {
  Runtime one({.workers = 1});
  Client client(one, {.max_connections_per_host = 1});
  auto task = [&]() -> Task<int> {
    std::atomic<int> ok{0};
    auto call = [](Client& c, std::string url, std::atomic<int>& n) -> Task<void> {
      auto r = co_await c.get(Context().with_timeout(5s), url);
      if (r && r->status == 200) n++;
    };
    one.spawn(call(client, base_ + "/sleep/100", ok));
    one.spawn(call(client, base_ + "/sleep/100", ok));
    while (ok.load() < 2) co_await sleep_for(5ms);
    co_return ok.load();
  };
  EXPECT_EQ(one.block_on(task()), 2);
  EXPECT_EQ(client.stats().connections_opened, 1u);  // the second call waited for the first's connection
}

TEST(ClientThirdPartyTest, PythonHttpServerCloseDelimitedResponses) {
  auto dir = std::filesystem::temp_directory_path() / ("svckit-client-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string content(50000, 'p');
  std::ofstream(dir / "file.txt") << content;
  int pipefd[2];
  ASSERT_EQ(::pipe(pipefd), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipefd[1], 1);
    ::dup2(pipefd[1], 2);
    ::execl("/usr/bin/python3", "python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory",
            dir.c_str(), nullptr);
    _exit(127);
  }
  ::close(pipefd[1]);
  // "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..."
  std::string line;
  char ch;
  while (line.find(") ...") == std::string::npos && ::read(pipefd[0], &ch, 1) == 1) line += ch;
  auto at = line.find(" port ");
  ASSERT_NE(at, std::string::npos) << line;
  int port = std::stoi(line.substr(at + 6));
  Runtime rt({.workers = 1});
  Client client(rt);
  auto r = rt.block_on([&]() -> Task<Result<ClientResponse>> {
    co_return co_await client.get(Context().with_timeout(5s), "http://localhost:" + std::to_string(port) + "/file.txt");
  }());
  auto missing = rt.block_on([&]() -> Task<Result<ClientResponse>> {
    co_return co_await client.get(Context().with_timeout(5s), "http://127.0.0.1:" + std::to_string(port) + "/nope");
  }());
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  ::close(pipefd[0]);
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, content);  // also resolved "localhost" through the blocking pool
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST(UrlTest, Parse) {
  auto u = parse_url("http://example.com:8080/a/b?c=d");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "example.com");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/a/b?c=d");
  EXPECT_EQ(parse_url("http://h")->target, "/");
  EXPECT_EQ(parse_url("http://h?x=1")->target, "/?x=1");
  EXPECT_EQ(parse_url("http://[::1]:9/x")->host, "::1");
  EXPECT_FALSE(u->tls);
  auto s = parse_url("https://h/x");
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->tls);
  EXPECT_EQ(s->port, 443);
  EXPECT_EQ(parse_url("https://h:8443/")->port, 8443);
  EXPECT_FALSE(parse_url("ftp://h/"));
  EXPECT_FALSE(parse_url("http://h:0/"));
  EXPECT_FALSE(parse_url("http://h:99999/"));
  EXPECT_FALSE(parse_url("http://user@h/"));
  EXPECT_FALSE(parse_url("http://h/a b"));
}

}  // namespace
}  // namespace svckit::http
