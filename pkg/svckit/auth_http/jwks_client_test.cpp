// The JWKS client against a real svckit HTTP server in the test: the first fetch, Cache-Control
// within bounds, rotation found through an unknown kid, the rate limit on unknown kids, one fetch
// for many waiting callers, and the last good set kept when fetches fail.
#include "svckit/auth_http/jwks_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <mutex>
#include <thread>

#include "svckit/auth/issuer.hpp"
#include "svckit/http/server.hpp"

using namespace std::chrono_literals;

namespace svckit::auth {
namespace {

// The identity side: a JWKS endpoint whose answer the test changes.
struct JwksServer {
  std::mutex mu;
  int status = 200;
  std::string body;
  std::string cache_control = "max-age=300";
  std::chrono::milliseconds delay{0};
  std::atomic<int> hits{0};
  Runtime& rt;
  http::Router router;
  std::unique_ptr<http::Server> server;

  explicit JwksServer(Runtime& r) : rt(r) {
    router.get("/.well-known/jwks.json", [this](http::Request& req, http::Response& res) -> Task<void> {
      ++hits;
      std::chrono::milliseconds wait;
      {
        std::lock_guard lock(mu);
        wait = delay;
      }
      if (wait.count() > 0) (void)co_await sleep_for(req.ctx, wait);
      std::lock_guard lock(mu);
      res.json(status, body);
      if (!cache_control.empty()) res.set_header("Cache-Control", cache_control);
    });
    server = std::make_unique<http::Server>(rt, router, http::ServerOptions{.host = "127.0.0.1", .port = 0},
                                            log::Logger({.level = log::Level::kOff}));
    EXPECT_TRUE(server->start().ok());
  }
  ~JwksServer() { rt.block_on(server->drain()); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server->port()) + "/.well-known/jwks.json"; }
  void publish(std::initializer_list<const Key*> keys, std::string cc = "max-age=300") {
    KeySet set;
    for (const Key* k : keys) EXPECT_TRUE(set.add(*k).ok());
    std::lock_guard lock(mu);
    body = set.to_jwks();
    cache_control = std::move(cc);
    status = 200;
  }
  void fail(int code) {
    std::lock_guard lock(mu);
    status = code;
    body = R"({"code":"UNAVAILABLE"})";
  }
};

struct Keys {
  Key a = Key::generate(Algorithm::kEdDSA, "a").value();
  Key b = Key::generate(Algorithm::kES256, "b").value();
  Key c = Key::generate(Algorithm::kEdDSA, "c").value();
  std::string token(const Key& k) {
    Claims claims;
    claims.set_subject("u").set_expires_at(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) +
                                           60s);
    return sign_jwt(k, claims).value();
  }
};

Result<Claims> verify(Runtime& rt, const std::shared_ptr<Verifier>& v, const std::string& token) {
  return rt.block_on([](std::shared_ptr<Verifier> v, std::string t) -> Task<Result<Claims>> {
    co_return co_await v->verify(Context(), t);
  }(v, token));
}

std::shared_ptr<JwksClient> started(Runtime& rt, JwksClientOptions o, Status* first = nullptr) {
  o.logger = log::Logger({.level = log::Level::kOff});
  auto c = JwksClient::create(rt, std::move(o));
  Status st =
      rt.block_on([](std::shared_ptr<JwksClient> c) -> Task<Status> { co_return co_await c->start(Context()); }(c));
  if (first) *first = st;
  return c;
}

TEST(JwksClient, RotationIsFoundThroughAnUnknownKidAndRateLimited) {
  Runtime rt({.workers = 2});
  JwksServer server(rt);
  Keys k;
  server.publish({&k.a});
  Status first;
  auto jwks = started(rt, {.url = server.url(), .min_refresh = 300ms}, &first);
  ASSERT_TRUE(first.ok()) << first.to_string();
  auto v = std::make_shared<Verifier>(jwks, VerifierOptions{.algorithms = {Algorithm::kEdDSA, Algorithm::kES256}});
  EXPECT_TRUE(verify(rt, v, k.token(k.a)).has_value());
  EXPECT_EQ(server.hits.load(), 1);

  // The issuer rotates in b. A token signed with b: the client fetches at once (the start was long
  // enough ago), and the token verifies.
  std::this_thread::sleep_for(350ms);
  server.publish({&k.a, &k.b});
  auto rotated = verify(rt, v, k.token(k.b));
  ASSERT_TRUE(rotated.has_value()) << rotated.error().to_string();
  EXPECT_EQ(server.hits.load(), 2);
  EXPECT_EQ(jwks->stats().kid_refreshes, 1u);

  // A kid the issuer never published: one fetch, then the rate limit holds for min_refresh.
  std::this_thread::sleep_for(350ms);
  EXPECT_EQ(verify(rt, v, k.token(k.c)).error().reason(), "UNKNOWN_KID");
  EXPECT_EQ(server.hits.load(), 3);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(verify(rt, v, k.token(k.c)).error().reason(), "UNKNOWN_KID");
  EXPECT_EQ(server.hits.load(), 3);
  EXPECT_EQ(jwks->stats().rate_limited, 5u);
  std::this_thread::sleep_for(350ms);
  server.publish({&k.b, &k.c});
  EXPECT_TRUE(verify(rt, v, k.token(k.c)).has_value());
  EXPECT_EQ(server.hits.load(), 4);
  // The sync form cannot wait: it refuses and asks for a refresh in the background.
  Key d = Key::generate(Algorithm::kEdDSA, "d").value();
  std::this_thread::sleep_for(350ms);
  server.publish({&k.c, &d});
  EXPECT_EQ(v->verify(k.token(d)).error().reason(), "UNKNOWN_KID");
  for (int i = 0; i < 100 && !v->verify(k.token(d)); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(v->verify(k.token(d)).has_value());
}

TEST(JwksClient, ManyCallersWithANewKidShareOneFetch) {
  Runtime rt({.workers = 2});
  JwksServer server(rt);
  Keys k;
  server.publish({&k.a});
  auto jwks = started(rt, {.url = server.url(), .min_refresh = 100ms});
  auto v = std::make_shared<Verifier>(jwks, VerifierOptions{.algorithms = {Algorithm::kEdDSA, Algorithm::kES256}});
  std::this_thread::sleep_for(150ms);
  server.publish({&k.a, &k.b});
  {
    std::lock_guard lock(server.mu);
    server.delay = 200ms;  // keeps the first fetch in flight while the others arrive
  }
  std::string token = k.token(k.b);
  constexpr int kCallers = 16;
  std::atomic<int> ok{0};
  std::latch done(kCallers);
  for (int i = 0; i < kCallers; ++i)
    rt.spawn([](std::shared_ptr<Verifier> v, std::string t, std::atomic<int>* ok, std::latch* done) -> Task<void> {
      Result<Claims> r = co_await v->verify(Context(), t);
      if (r) ++*ok;
      done->count_down();
    }(v, token, &ok, &done));
  done.wait();
  EXPECT_EQ(ok.load(), kCallers);
  EXPECT_EQ(server.hits.load(), 2);
}

TEST(JwksClient, CacheControlWithinBoundsAndTheLastGoodSetKeptOnFailure) {
  Runtime rt({.workers = 1});
  JwksServer server(rt);
  Keys k;
  server.publish({&k.a}, "public, max-age=0");  // below cache_min: cached for cache_min
  auto jwks = started(rt, {.url = server.url(), .cache_min = 300ms, .cache_max = 900ms, .min_refresh = 100ms});
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(server.hits.load(), 1);
  std::this_thread::sleep_for(300ms);  // t=450: refetched when cache_min ran out (t=300)
  EXPECT_EQ(server.hits.load(), 2);
  server.publish({&k.a}, "max-age=86400");  // above cache_max: the fetch at t=600 caches it for 900ms
  std::this_thread::sleep_for(400ms);       // t=850
  EXPECT_EQ(server.hits.load(), 3);
  std::this_thread::sleep_for(400ms);  // t=1250: not yet
  EXPECT_EQ(server.hits.load(), 3);
  std::this_thread::sleep_for(500ms);  // t=1750: cache_max ran out at t=1500
  EXPECT_EQ(server.hits.load(), 4);

  // The identity service fails: the set stays, verification goes on, fetches retry after min_refresh.
  server.fail(503);
  auto v = std::make_shared<Verifier>(jwks, VerifierOptions{.algorithms = {Algorithm::kEdDSA}});
  std::this_thread::sleep_for(1000ms);  // the set was due again at t=2400, then every min_refresh
  EXPECT_GE(jwks->stats().failures, 2u);
  EXPECT_FALSE(jwks->last_error().ok());
  EXPECT_TRUE(verify(rt, v, k.token(k.a)).has_value());
  server.publish({&k.a, &k.c});
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(jwks->last_error().ok());
  EXPECT_TRUE(v->verify(k.token(k.c)).has_value());
}

TEST(JwksClient, NoKeysYetIsUnavailableNotUnauthenticated) {
  Runtime rt({.workers = 1});
  JwksServer server(rt);
  server.fail(500);
  Status first;
  auto jwks = started(rt, {.url = server.url(), .min_refresh = 100ms}, &first);
  EXPECT_FALSE(first.ok());
  Keys k;
  auto v = std::make_shared<Verifier>(jwks, VerifierOptions{.algorithms = {Algorithm::kEdDSA}});
  auto r = v->verify(k.token(k.a));
  EXPECT_EQ(r.error().code(), Code::kUnavailable);
  EXPECT_EQ(r.error().reason(), "KEYS_UNAVAILABLE");
  server.publish({&k.a});
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(v->verify(k.token(k.a)).has_value());
}

TEST(JwksClient, MakeVerifierFromSettings) {
  Runtime rt({.workers = 1});
  JwksServer server(rt);
  Keys k;
  server.publish({&k.a});
  VerifierSettings s;
  s.jwks_url = server.url();
  s.issuer = "https://id.example";
  s.typ = "";
  auto v = make_verifier(rt, s, log::Logger({.level = log::Level::kOff}));
  ASSERT_TRUE(v.has_value()) << v.error().to_string();
  Claims c;
  c.set_issuer("https://id.example")
      .set_expires_at(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) + 60s);
  std::string token = sign_jwt(k.a, c).value();
  for (int i = 0; i < 100 && !(*v)->verify(token); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE((*v)->verify(token).has_value());
  s.jwks_file = "/nonexistent";
  EXPECT_FALSE(make_verifier(rt, s).has_value());  // both set
}

}  // namespace
}  // namespace svckit::auth
