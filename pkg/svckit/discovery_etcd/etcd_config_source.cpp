#include "svckit/discovery_etcd/etcd_config_source.hpp"

#include <thread>

#include "svckit/discovery/detail/watch_state.hpp"
#include "svckit/discovery/registry.hpp"
#include "svckit/discovery_etcd/detail/etcd_json.hpp"
#include "svckit/http/client.hpp"

namespace svckit::discovery {

using namespace etcd;  // the gateway's JSON (detail/etcd_json.hpp)

void RemoteConfigOptions::describe(config::Binder<RemoteConfigOptions>& b) {
  using ms = std::chrono::milliseconds;
  b.field("enabled", &RemoteConfigOptions::enabled)
      .doc("lay the YAML document in an etcd key over the local configuration");
  b.field("endpoints", &RemoteConfigOptions::endpoints)
      .check(valid_http_endpoints, "one or more http://host:port (comma-separated in --set and environment variables)")
      .doc("etcd's client URLs, tried in turn");
  b.field("key", &RemoteConfigOptions::key)
      .check([](const std::string& k) { return k.empty() || (k.front() == '/' && k.back() != '/'); },
             "an etcd key such as /config/user-svc")
      .doc("the key holding the YAML document; empty: /config/<service>");
  b.field("required", &RemoteConfigOptions::required)
      .doc("refuse to start when etcd cannot be read (else start on the local configuration)");
  b.field("timeout", &RemoteConfigOptions::timeout).range(ms(50), ms(60000)).doc("each call to etcd");
  b.field("backoff_min", &RemoteConfigOptions::backoff_min).range(ms(1), ms(60000));
  b.field("backoff_max", &RemoteConfigOptions::backoff_max).range(ms(1), ms(600000));
}

EtcdConfigSource::EtcdConfigSource(RemoteConfigOptions options)
    : options_(std::move(options)), stop_(Context().with_cancel()) {}

std::shared_ptr<EtcdConfigSource> EtcdConfigSource::create(RemoteConfigOptions options) {
  return std::shared_ptr<EtcdConfigSource>(new EtcdConfigSource(std::move(options)));
}

EtcdConfigSource::~EtcdConfigSource() {
  close();
}

void EtcdConfigSource::close() {
  stop_.cancel(Status(Code::kCancelled, "config source closed"));
}

RemoteConfigStats EtcdConfigSource::stats() const {
  std::lock_guard lock(mu_);
  return RemoteConfigStats{updates_.load(), errors_.load(), found_ ? mod_revision_ : 0};
}

Result<config::Layer> EtcdConfigSource::load() {
  std::string value;
  {
    std::lock_guard lock(mu_);
    if (!found_) return config::Layer{};
    value = value_;
  }
  return config::parse_yaml(value, name());
}

// One range read of the key.
Task<Result<EtcdConfigSource::Read>> EtcdConfigSource::read(http::Client& client, const Context& ctx,
                                                            std::size_t endpoint) {
  http::ClientRequest req;
  req.method = http::Method::kPost;
  req.url = options_.endpoints[endpoint % options_.endpoints.size()] + "/v3/kv/range";
  req.body = "{\"key\":\"" + b64(options_.key) + "\"}";
  req.headers.emplace_back("Content-Type", "application/json");
  Context c = ctx.with_timeout(options_.timeout);
  auto res = co_await client.send(c, std::move(req));
  if (!res) co_return std::unexpected(res.error());
  if (res->status != 200)
    co_return make_error(Code::kUnavailable, "etcd range " + options_.key + ": HTTP " + std::to_string(res->status));
  auto range = json::decode<RangeResponse>(res->body);
  if (!range) co_return make_error(Code::kUnavailable, "etcd range: unexpected answer");
  Read out;
  out.revision = to_int(range->header.revision);
  if (!range->kvs.empty()) {
    auto value = unb64(range->kvs.front().value);
    if (!value) co_return make_error(Code::kUnavailable, "etcd range: a value that is not base64");
    out.found = true;
    out.value = std::move(*value);
    out.mod_revision = to_int(range->kvs.front().mod_revision);
  }
  co_return out;
}

Status EtcdConfigSource::fetch_now() {
  Runtime rt(RuntimeOptions{.workers = 1, .blocking_threads = 1});
  Result<Read> got = make_error(Code::kUnavailable, "no etcd endpoint");
  {
    http::Client client(rt, http::ClientOptions{.observe = false});
    for (std::size_t e = 0; e < options_.endpoints.size(); ++e) {
      got = rt.block_on(read(client, Context(), e));
      if (got) break;
    }
  }
  if (!got)
    return Status(Code::kUnavailable,
                  "config.remote: etcd " + options_.key + ": " + std::string(got.error().message()));
  take(*got);
  return Status();
}

// Keeps a value read or watched and, when it differs from the one in use, has the Config reload.
void EtcdConfigSource::take(const Read& r) {
  std::function<void()> changed;
  {
    std::lock_guard lock(mu_);
    revision_ = std::max(revision_, r.revision);
    if (r.found == found_ && (!r.found || r.value == value_)) return;
    found_ = r.found;
    value_ = r.value;
    mod_revision_ = r.mod_revision;
    changed = changed_;
  }
  updates_.fetch_add(1, std::memory_order_relaxed);
  if (!changed) return;
  // The reload reads the configuration files: never on an event loop.
  if (rt_ && rt_->blocking_pool().try_submit(changed)) return;
  std::thread(changed).detach();
}

void EtcdConfigSource::run_on(Runtime& rt) {
  rt_ = &rt;
  stop_ = rt.shutdown_context().with_cancel();
}

Status EtcdConfigSource::watch(std::function<void()> changed) {
  if (!rt_) return Status(Code::kFailedPrecondition, "EtcdConfigSource::run_on was not called");
  {
    std::lock_guard lock(mu_);
    if (changed_) return Status();
    changed_ = std::move(changed);
  }
  client_ = std::make_unique<http::Client>(*rt_, http::ClientOptions{.observe = false});
  rt_->spawn(watch_loop(shared_from_this()));
  return Status();
}

// Read, then watch the key from the next revision; a compacted revision or a broken stream reads
// again (after a pause that grows with each failure in a row).
Task<void> EtcdConfigSource::watch_loop(std::shared_ptr<EtcdConfigSource> self) {
  (void)self;  // keeps the source alive while the loop runs
  int failures = 0;
  std::size_t endpoint = 0;
  while (!stop_.done()) {
    if (failures > 0 &&
        !(co_await sleep_for(stop_, detail::backoff(options_.backoff_min, options_.backoff_max, failures))).ok())
      co_return;
    auto got = co_await read(*client_, stop_, endpoint);
    if (!got) {
      errors_.fetch_add(1, std::memory_order_relaxed);
      ++failures;
      ++endpoint;
      continue;
    }
    take(*got);
    std::int64_t from = got->revision + 1;

    std::string pending;
    bool reread = false;
    http::ClientRequest req;
    req.method = http::Method::kPost;
    req.url = options_.endpoints[endpoint % options_.endpoints.size()] + "/v3/watch";
    req.body = "{\"create_request\":{\"key\":\"" + b64(options_.key) + "\",\"start_revision\":\"" +
               std::to_string(from) + "\"}}";
    req.on_body = [&](std::string_view piece) -> Status {
      pending.append(piece);
      std::size_t nl;
      while ((nl = pending.find('\n')) != std::string::npos) {
        std::string line = pending.substr(0, nl);
        pending.erase(0, nl + 1);
        auto parsed = json::decode<WatchLine>(line);
        if (!parsed) continue;
        const WatchResult& r = parsed->result;
        if (r.canceled || !r.compact_revision.empty()) {
          reread = true;
          return Status(Code::kAborted, "watch cancelled");
        }
        for (const Event& e : r.events) {
          Read now;
          now.revision = to_int(r.header.revision);
          if (e.type != "DELETE") {
            auto value = unb64(e.kv.value);
            if (!value) continue;
            now.found = true;
            now.value = std::move(*value);
            now.mod_revision = to_int(e.kv.mod_revision);
          }
          take(now);
        }
      }
      return Status();
    };
    Context stream_ctx = stop_.with_timeout(std::chrono::minutes(5));
    auto ended = co_await client_->send(stream_ctx, std::move(req));
    if (stop_.done()) co_return;
    bool renewed = !ended && stream_ctx.err().code() == Code::kDeadlineExceeded;
    if (reread || renewed) {
      failures = reread ? 1 : 0;
      continue;
    }
    errors_.fetch_add(1, std::memory_order_relaxed);
    ++failures;
    ++endpoint;
  }
}

}  // namespace svckit::discovery
