// discovery:/// URLs on real servers: the balancer spreads calls over the registered instances, a
// registry change is followed live, a try that reaches no instance is made again on another, and so
// is a try that an instance leaves unanswered past the try timeout.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "svckit/discovery/static_registry.hpp"
#include "svckit/http/client.hpp"
#include "svckit/http/server.hpp"

using namespace std::chrono_literals;

namespace svckit::http {
namespace {

// A port nothing listens on: bound, then closed.
std::uint16_t dead_port() {
  Runtime rt({.workers = 1});
  Router r;
  ServerOptions o{.host = "127.0.0.1", .port = 0};
  Server s(rt, r, o, log::Logger({.level = log::Level::kOff}));
  EXPECT_TRUE(s.start().ok());
  std::uint16_t port = s.port();
  rt.block_on(s.drain());
  return port;
}

// An instance that accepts connections and never answers: a hung process, or a host whose replies
// are lost. It counts the connections it accepted (one per try that met it) and holds them open.
class HungInstance {
 public:
  HungInstance() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 128), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 20) <= 0) continue;
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) continue;
        std::lock_guard lock(mu_);
        held_.push_back(c);
      }
    });
  }
  ~HungInstance() {
    stop_ = true;
    acceptor_.join();
    for (int c : held_) ::close(c);
    ::close(fd_);
  }
  HungInstance(const HungInstance&) = delete;
  HungInstance& operator=(const HungInstance&) = delete;
  std::uint16_t port() const { return port_; }
  // Connections accepted so far. Each was taken as it arrived: a try that met this instance lasted
  // its whole try timeout after connecting.
  std::size_t accepted() {
    std::lock_guard lock(mu_);
    return held_.size();
  }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<int> held_;
  std::thread acceptor_;
};

class ClientDiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int k = 0; k < 3; ++k) {
      auto& router = routers_.emplace_back(std::make_unique<Router>());
      std::string name = "i" + std::to_string(k);
      router->get("/who", [name](Request&, Response& res) { res.text(200, name); });
      router->post("/who", [name](Request&, Response& res) { res.text(200, name); });
      auto& server = servers_.emplace_back(std::make_unique<Server>(
          rt_, *router, ServerOptions{.host = "127.0.0.1", .port = 0}, log::Logger({.level = log::Level::kOff})));
      ASSERT_TRUE(server->start().ok());
      ASSERT_TRUE(registry_->add(instance(name, server->port())).ok());
    }
  }
  void TearDown() override {
    for (auto& s : servers_) rt_.block_on(s->drain());
  }
  static discovery::Instance instance(std::string id, std::uint16_t port) {
    discovery::Instance i;
    i.id = std::move(id);
    i.name = "who-svc";
    i.endpoints = {"http://127.0.0.1:" + std::to_string(port)};
    return i;
  }
  std::map<std::string, int> calls(Client& client, int n, Method method = Method::kGet) {
    return rt_.block_on([&]() -> Task<std::map<std::string, int>> {
      std::map<std::string, int> out;
      for (int k = 0; k < n; ++k) {
        // Named, not temporaries inside the co_await: GCC 12 mis-destroys those (docs/architecture.md).
        Context ctx = Context().with_timeout(5s);
        ClientRequest req{.method = method, .url = "discovery:///who-svc/who"};
        auto r = co_await client.send(ctx, std::move(req));
        std::string who = r ? r->body : "error: " + r.error().to_string();
        ++out[who];
      }
      co_return out;
    }());
  }

  Runtime rt_{{.workers = 1}};
  std::vector<std::unique_ptr<Router>> routers_;
  std::vector<std::unique_ptr<Server>> servers_;
  std::shared_ptr<discovery::StaticRegistry> registry_ = std::make_shared<discovery::StaticRegistry>();
};

TEST_F(ClientDiscoveryTest, SpreadsCallsOverTheRegisteredInstances) {
  Client client(rt_, {.discovery = registry_, .balancer = discovery::Policy::kRoundRobin});
  auto n = calls(client, 300);
  EXPECT_EQ(n["i0"], 100);
  EXPECT_EQ(n["i1"], 100);
  EXPECT_EQ(n["i2"], 100);
  // The default balancer (P2C) favours the instances that answer fastest; all get tried and every
  // call succeeds.
  Client p2c(rt_, {.discovery = registry_});
  auto m = calls(p2c, 300);
  EXPECT_EQ(m["i0"] + m["i1"] + m["i2"], 300);
  for (const char* id : {"i0", "i1", "i2"}) EXPECT_GE(m[id], 1) << id;
}

TEST_F(ClientDiscoveryTest, FollowsTheRegistryLive) {
  Client client(rt_, {.discovery = registry_, .balancer = discovery::Policy::kRoundRobin});
  EXPECT_EQ(calls(client, 30).size(), 3u);
  registry_->remove("who-svc", "i1");
  auto n = calls(client, 30);
  EXPECT_EQ(n.count("i1"), 0u);
  EXPECT_EQ(n["i0"] + n["i2"], 30);
  registry_->remove("who-svc", "i0");
  registry_->remove("who-svc", "i2");
  auto none = rt_.block_on(client.get(Context().with_timeout(1s), "discovery:///who-svc/who"));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), Code::kUnavailable);
  EXPECT_EQ(none.error().reason(), "NO_INSTANCE");
}

TEST_F(ClientDiscoveryTest, ATryThatReachedNoInstanceIsMadeAgainOnAnother) {
  ASSERT_TRUE(registry_->add(instance("dead", dead_port())).ok());  // registered, but gone
  Client client(rt_, {.discovery = registry_, .balancer = discovery::Policy::kRoundRobin});
  // Even a POST: a refused connection means nothing was sent.
  for (Method m : {Method::kGet, Method::kPost}) {
    auto n = calls(client, 80, m);
    EXPECT_EQ(n["i0"] + n["i1"] + n["i2"], 80) << (n.begin()->first);
  }
  EXPECT_GT(client.stats().instance_retries, 0u);
}

TEST_F(ClientDiscoveryTest, AnInstanceThatKeepsFailingIsEjected) {
  Router broken;
  broken.get("/who", [](Request&, Response& res) { res.text(503, "broken"); });
  Server bad(rt_, broken, ServerOptions{.host = "127.0.0.1", .port = 0}, log::Logger({.level = log::Level::kOff}));
  ASSERT_TRUE(bad.start().ok());
  ASSERT_TRUE(registry_->add(instance("bad", bad.port())).ok());
  Client client(rt_, {.discovery = registry_,
                      .balancer = discovery::Policy::kRoundRobin,
                      .outlier = {.consecutive_failures = 3, .base_ejection = std::chrono::milliseconds(60000)}});
  auto n = calls(client, 100);
  EXPECT_EQ(n["broken"], 3) << "ejected after its third 503 in a row";
  EXPECT_EQ(n["i0"] + n["i1"] + n["i2"], 97);
  EXPECT_EQ(client.stats().ejections, 1u);
  rt_.block_on(bad.drain());
}

TEST_F(ClientDiscoveryTest, ATryThatTimesOutIsMadeAgainOnAnotherAndItsInstanceEjected) {
  HungInstance hung;
  ASSERT_TRUE(registry_->add(instance("hung", hung.port())).ok());
  Client client(rt_, {.discovery = registry_,
                      .balancer = discovery::Policy::kRoundRobin,
                      .try_timeout = 250ms,
                      .outlier = {.consecutive_failures = 3, .base_ejection = std::chrono::milliseconds(60000)}});
  // Every call succeeds within its 5 s: the tries that met the hung instance ended at 250 ms and went
  // to the next instance, and after its third timeout in a row it is out of the balancer.
  auto n = calls(client, 60);
  EXPECT_EQ(n["i0"] + n["i1"] + n["i2"], 60) << n.begin()->first;
  EXPECT_EQ(hung.accepted(), 3u);
  EXPECT_GE(client.stats().instance_retries, 3u);
  EXPECT_EQ(client.stats().ejections, 1u);
  // Once ejected it is no longer tried.
  n = calls(client, 30);
  EXPECT_EQ(n["i0"] + n["i1"] + n["i2"], 30);
  EXPECT_EQ(hung.accepted(), 3u);
}

TEST_F(ClientDiscoveryTest, ATimedOutPostIsNotSentAgainAndTheCallersDeadlineIsNoInstanceFailure) {
  HungInstance hung;
  auto only_hung = std::make_shared<discovery::StaticRegistry>();
  ASSERT_TRUE(only_hung->add(instance("hung", hung.port())).ok());
  ASSERT_TRUE(registry_->add(instance("hung", hung.port())).ok());
  discovery::OutlierOptions eject_at_once{.consecutive_failures = 1, .base_ejection = std::chrono::milliseconds(60000)};

  // A POST that timed out may have been processed: it is not sent to another instance, and the call
  // ends DEADLINE_EXCEEDED well before its own deadline. The timeout still counts against the instance.
  Client posts(rt_, {.discovery = registry_,
                     .balancer = discovery::Policy::kRoundRobin,
                     .try_timeout = 250ms,
                     .outlier = eject_at_once});
  auto n = calls(posts, 4, Method::kPost);  // i0, i1, i2, hung in turn
  EXPECT_EQ(n["i0"] + n["i1"] + n["i2"], 3);
  ASSERT_EQ(n.size(), 4u);
  auto failed = std::find_if(n.begin(), n.end(), [](auto& kv) { return kv.first.rfind("error: ", 0) == 0; });
  ASSERT_NE(failed, n.end());
  EXPECT_NE(failed->first.find("DEADLINE_EXCEEDED"), std::string::npos) << failed->first;
  EXPECT_NE(failed->first.find("try timeout"), std::string::npos) << failed->first;
  EXPECT_EQ(hung.accepted(), 1u);
  EXPECT_EQ(posts.stats().ejections, 1u);

  // When the caller's deadline comes before the try timeout, the call ends with the caller's
  // DEADLINE_EXCEEDED and the instance is not blamed.
  for (auto try_timeout : {std::chrono::nanoseconds(0), std::chrono::nanoseconds(10s)}) {
    Client client(rt_, {.discovery = only_hung, .try_timeout = try_timeout, .outlier = eject_at_once});
    auto r = rt_.block_on(client.get(Context().with_timeout(150ms), "discovery:///who-svc/who"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), Code::kDeadlineExceeded) << r.error().to_string();
    EXPECT_EQ(r.error().message().find("try timeout"), std::string::npos) << r.error().to_string();
    EXPECT_EQ(client.stats().ejections, 0u);
    EXPECT_EQ(client.stats().instance_retries, 0u);
  }
}

TEST_F(ClientDiscoveryTest, WithoutARegistryOrAServiceTheCallIsRefused) {
  Client plain(rt_);
  auto r = rt_.block_on(plain.get(Context(), "discovery:///who-svc/who"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kFailedPrecondition);
  EXPECT_FALSE(parse_url("discovery:///"));
  EXPECT_FALSE(parse_url("discovery:///bad name/x"));
  auto u = parse_url("discovery:///user-svc/v1/users?limit=5");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->service, "user-svc");
  EXPECT_EQ(u->target, "/v1/users?limit=5");
  EXPECT_EQ(parse_url("discovery:///user-svc")->target, "/");
}

}  // namespace
}  // namespace svckit::http
