#pragma once
// The keys of an identity provider, fetched from its JWKS URL with svckit's HTTP client on the
// runtime's loops and kept fresh: the set is cached for the response's Cache-Control max-age (within
// cache_min..cache_max) and fetched again in the background when it expires; a token naming a kid
// the set lacks fetches it at once, at most once per min_refresh (concurrent callers share that one
// fetch); a failed fetch keeps the last good set and is tried again after min_refresh.
//
// ```cpp
//   Task<void> start_auth(Runtime& rt, Context ctx) {
//     auto jwks = auth::JwksClient::create(rt, {.url = "http://identity:8080/.well-known/jwks.json"});
//     Status first = co_await jwks->start(ctx);     // the first fetch; refreshing goes on regardless
//     auto verifier = std::make_shared<auth::Verifier>(jwks, auth::VerifierOptions{.issuer = "https://id.example"});
//   }
// ```
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "svckit/auth/key_source.hpp"
#include "svckit/auth/settings.hpp"
#include "svckit/auth/verifier.hpp"
#include "svckit/core/notifier.hpp"
#include "svckit/core/runtime.hpp"
#include "svckit/http/client.hpp"
#include "svckit/log/logger.hpp"

namespace svckit::auth {

struct JwksClientOptions {
  std::string url;  // http://host:port/path, or discovery:///service/path (with client.discovery)
  std::chrono::nanoseconds cache_min = std::chrono::minutes(1);
  std::chrono::nanoseconds cache_max = std::chrono::hours(24);
  std::chrono::nanoseconds min_refresh = std::chrono::seconds(10);
  std::chrono::nanoseconds timeout = std::chrono::seconds(5);  // one fetch
  std::uint64_t max_body = 1 << 20;
  http::ClientOptions client{.observe = false};
  log::Logger logger = log::global();
};

struct JwksStats {
  std::uint64_t fetches = 0;        // attempts
  std::uint64_t failures = 0;       // attempts that kept the previous set
  std::uint64_t kid_refreshes = 0;  // fetches made for an unknown kid
  std::uint64_t rate_limited = 0;   // unknown kids that found the rate limit closed
};

class JwksClient final : public KeySource, public std::enable_shared_from_this<JwksClient> {
 public:
  static std::shared_ptr<JwksClient> create(Runtime& rt, JwksClientOptions options);
  ~JwksClient() override;
  JwksClient(const JwksClient&) = delete;
  JwksClient& operator=(const JwksClient&) = delete;

  // Fetches the set now and starts refreshing it in the background; the first fetch's status (a
  // service may wait for it, or serve 503 KEYS_UNAVAILABLE until a set arrives).
  Task<Status> start(Context ctx);
  // Stops the background refresh.
  void close();

  std::shared_ptr<const KeySet> keys() const override { return keys_.load(); }
  Task<std::shared_ptr<const KeySet>> refresh(Context ctx, std::string kid) override;
  void refresh_later(std::string kid) override;

  JwksStats stats() const;
  // The last fetch's status (OK once a set was fetched and nothing failed since).
  Status last_error() const;

 private:
  JwksClient(Runtime& rt, JwksClientOptions options);
  // One fetch at a time: a caller that finds one in flight waits for it instead. for_kid: a fetch an
  // unknown kid asks for, which the rate limit (min_refresh since the last attempt) may refuse.
  Task<void> fetch(Context ctx, bool for_kid);
  Task<Status> fetch_once(Context ctx);
  std::chrono::nanoseconds until_due() const;
  static Task<void> run(std::weak_ptr<JwksClient> self, Context stop);

  Runtime& rt_;
  JwksClientOptions options_;
  std::unique_ptr<http::Client> client_;
  Context stop_;
  KeySlot keys_;
  mutable std::mutex mu_;
  bool fetching_ = false;
  std::vector<Notifier*> waiters_;
  std::chrono::steady_clock::time_point last_attempt_{};
  std::chrono::steady_clock::time_point due_{};  // when the set should be fetched again
  Status last_error_;
  JwksStats stats_;
};

// A verifier from settings: a JwksClient (started in the background: until its first set arrives,
// verification answers UNAVAILABLE KEYS_UNAVAILABLE) or the JWKS file (read now: call it at
// start-up). INVALID_ARGUMENT for settings that do not make one. A jwks_url of discovery:///service/path
// needs `discovery` (an App's: app.discovery()).
Result<std::shared_ptr<Verifier>> make_verifier(Runtime& rt, const VerifierSettings& settings,
                                                log::Logger logger = log::global(),
                                                std::shared_ptr<discovery::Discovery> discovery = nullptr);

}  // namespace svckit::auth
