#include "svckit/auth_http/jwks_client.hpp"

#include <charconv>

#include "svckit/core/strings.hpp"

namespace svckit::auth {

namespace {

// Cache-Control's max-age in seconds; nullopt without one, or with no-store / no-cache (which mean
// "ask again each time": the shortest lifetime we allow).
std::optional<std::chrono::seconds> max_age(std::string_view cc) {
  std::optional<std::chrono::seconds> out;
  while (!cc.empty()) {
    auto comma = cc.find(',');
    std::string_view d = cc.substr(0, comma);
    cc = comma == std::string_view::npos ? std::string_view() : cc.substr(comma + 1);
    while (!d.empty() && d.front() == ' ') d.remove_prefix(1);
    while (!d.empty() && d.back() == ' ') d.remove_suffix(1);
    if (iequals(d, "no-store") || iequals(d, "no-cache")) return std::chrono::seconds(0);
    if (d.size() > 8 && iequals(d.substr(0, 8), "max-age=")) {
      std::int64_t v = 0;
      auto r = std::from_chars(d.data() + 8, d.data() + d.size(), v);
      if (r.ec == std::errc() && r.ptr == d.data() + d.size() && v >= 0) out = std::chrono::seconds(v);
    }
  }
  return out;
}

}  // namespace

JwksClient::JwksClient(Runtime& rt, JwksClientOptions options)
    : rt_(rt), options_(std::move(options)), stop_(rt.shutdown_context().with_cancel()) {
  auto co = options_.client;
  co.max_response_body = options_.max_body;
  client_ = std::make_unique<http::Client>(rt, std::move(co));
}

std::shared_ptr<JwksClient> JwksClient::create(Runtime& rt, JwksClientOptions options) {
  return std::shared_ptr<JwksClient>(new JwksClient(rt, std::move(options)));
}

JwksClient::~JwksClient() {
  stop_.cancel();
}

void JwksClient::close() {
  stop_.cancel(Status(Code::kCancelled, "JWKS client closed"));
}

JwksStats JwksClient::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

Status JwksClient::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

Task<Status> JwksClient::start(Context ctx) {
  Task<void> first = fetch(ctx, false);
  co_await std::move(first);
  rt_.spawn(run(weak_from_this(), stop_));
  co_return last_error();
}

// `self` is weak: the loop must not keep a client no one uses alive; it holds it only while fetching.
Task<void> JwksClient::run(std::weak_ptr<JwksClient> weak, Context stop) {
  for (;;) {
    std::chrono::nanoseconds wait{0};
    if (auto self = weak.lock())
      wait = self->until_due();
    else
      co_return;
    if (wait.count() > 0) {
      Status slept = co_await sleep_for(stop, wait);
      if (!slept.ok()) co_return;
      continue;  // a fetch for an unknown kid may have moved the due time meanwhile
    }
    auto self = weak.lock();
    if (!self) co_return;
    Task<void> fetching = self->fetch(stop, false);
    co_await std::move(fetching);
    if (stop.done()) co_return;
  }
}

std::chrono::nanoseconds JwksClient::until_due() const {
  std::lock_guard lock(mu_);
  return due_ - std::chrono::steady_clock::now();
}

Task<std::shared_ptr<const KeySet>> JwksClient::refresh(Context ctx, std::string kid) {
  if (auto set = keys(); set && set->find(kid)) co_return set;  // another call has brought it already
  Task<void> fetching = fetch(ctx, true);
  co_await std::move(fetching);
  co_return keys();
}

void JwksClient::refresh_later(std::string kid) {
  if (auto set = keys(); (set && set->find(kid)) || !rt_.running() || stop_.done()) return;
  rt_.spawn([](std::shared_ptr<JwksClient> self) -> Task<void> {
    Task<void> fetching = self->fetch(self->stop_, true);
    co_await std::move(fetching);
  }(shared_from_this()));
}

Task<void> JwksClient::fetch(Context ctx, bool for_kid) {
  Notifier done;
  bool wait = false;
  {
    std::lock_guard lock(mu_);
    if (fetching_) {
      waiters_.push_back(&done);  // join the fetch in flight
      wait = true;
    } else if (for_kid && std::chrono::steady_clock::now() - last_attempt_ < options_.min_refresh) {
      ++stats_.rate_limited;
      co_return;
    } else {
      if (for_kid) ++stats_.kid_refreshes;
      fetching_ = true;
      last_attempt_ = std::chrono::steady_clock::now();
      ++stats_.fetches;
    }
  }
  // A waiter: the fetch in flight notifies it when it ends (its own Context's deadline bounds that).
  if (wait) {
    co_await done.wait();
    co_return;
  }
  Task<Status> once = fetch_once(ctx);
  Status st = co_await std::move(once);
  std::vector<Notifier*> waiting;
  {
    std::lock_guard lock(mu_);
    fetching_ = false;
    waiting.swap(waiters_);
    last_error_ = st;
    if (!st.ok()) {
      ++stats_.failures;
      due_ = std::chrono::steady_clock::now() + options_.min_refresh;
    }
  }
  for (Notifier* n : waiting) n->notify();
}

Task<Status> JwksClient::fetch_once(Context ctx) {
  Context call = ctx.with_timeout(options_.timeout);
  http::ClientRequest req;
  req.url = options_.url;
  req.headers.emplace_back("Accept", "application/json");
  Task<Result<http::ClientResponse>> sending = client_->send(call, std::move(req));
  Result<http::ClientResponse> res = co_await std::move(sending);
  Status st;
  if (!res) {
    st = res.error();
  } else if (res->status != 200) {
    st = Status::from_http(res->status, "JWKS fetch answered " + std::to_string(res->status));
  } else {
    std::vector<std::string> skipped;
    auto set = KeySet::from_jwks(res->body, &skipped);
    if (!set) {
      st = set.error();
    } else if (set->empty()) {
      st = Status(Code::kFailedPrecondition, "the JWKS has no key svckit can use");
    } else {
      for (const auto& why : skipped) options_.logger.warn("JWKS key left out", {{"url", options_.url}, {"why", why}});
      auto age = max_age(res->header("Cache-Control")).value_or(std::chrono::seconds(0));
      auto ttl = std::clamp<std::chrono::nanoseconds>(age, options_.cache_min, options_.cache_max);
      keys_.store(std::make_shared<const KeySet>(std::move(*set)));
      std::lock_guard lock(mu_);
      due_ = std::chrono::steady_clock::now() + ttl;
    }
  }
  if (!st.ok())
    options_.logger.warn("JWKS fetch failed; keeping the last set",
                         {{"url", options_.url}, {"error", st.to_string()}, {"have_keys", keys() != nullptr}});
  co_return st;
}

Result<std::shared_ptr<Verifier>> make_verifier(Runtime& rt, const VerifierSettings& s, log::Logger logger,
                                                std::shared_ptr<discovery::Discovery> discovery) {
  auto options = s.verifier_options();
  if (!options) return std::unexpected(options.error());
  if (s.jwks_url.empty() == s.jwks_file.empty())
    return make_error(Code::kInvalidArgument, "exactly one of jwks_url and jwks_file must be set");
  std::shared_ptr<KeySource> source;
  if (!s.jwks_file.empty()) {
    auto file = FileKeys::open(s.jwks_file, s.jwks_min_refresh);
    if (!file) return std::unexpected(file.error());
    source = std::move(*file);
  } else {
    http::ClientOptions co;
    co.observe = false;
    co.discovery = std::move(discovery);
    auto jwks = JwksClient::create(rt, {.url = s.jwks_url,
                                        .cache_min = s.jwks_cache_min,
                                        .cache_max = s.jwks_cache_max,
                                        .min_refresh = s.jwks_min_refresh,
                                        .timeout = s.jwks_timeout,
                                        .client = std::move(co),
                                        .logger = std::move(logger)});
    rt.spawn([](std::shared_ptr<JwksClient> c) -> Task<void> {
      Task<Status> starting = c->start(Context());
      (void)co_await std::move(starting);
    }(jwks));
    source = std::move(jwks);
  }
  return std::make_shared<Verifier>(std::move(source), std::move(*options));
}

}  // namespace svckit::auth
