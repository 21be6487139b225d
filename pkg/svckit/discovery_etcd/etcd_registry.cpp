#include "svckit/discovery_etcd/etcd_registry.hpp"

#include <algorithm>
#include <atomic>
#include <set>

#include "svckit/discovery/detail/watch_state.hpp"
#include "svckit/discovery_etcd/detail/etcd_json.hpp"
#include "svckit/http/client.hpp"
#include "svckit/json/json.hpp"

namespace svckit::discovery {

using namespace etcd;  // the gateway's JSON (detail/etcd_json.hpp)

struct EtcdRegistry::Counters {
  std::atomic<std::uint64_t> registrations{0}, keepalive_errors{0}, lists{0}, watch_errors{0}, compactions{0};
};

struct EtcdRegistry::Watcher : detail::WatchState {};

EtcdRegistry::EtcdRegistry(Runtime& rt, EtcdOptions options)
    : rt_(rt),
      options_(std::move(options)),
      client_(std::make_unique<http::Client>(rt, http::ClientOptions{.observe = false})),
      stop_(rt.shutdown_context().with_cancel()),
      counters_(std::make_unique<Counters>()) {}

std::shared_ptr<EtcdRegistry> EtcdRegistry::create(Runtime& rt, EtcdOptions options) {
  return std::shared_ptr<EtcdRegistry>(new EtcdRegistry(rt, std::move(options)));
}

EtcdRegistry::~EtcdRegistry() {
  stop_.cancel();
}

void EtcdRegistry::close() {
  stop_.cancel(Status(Code::kCancelled, "etcd registry closed"));
}

EtcdStats EtcdRegistry::stats() const {
  const Counters& c = *counters_;
  return EtcdStats{c.registrations.load(), c.keepalive_errors.load(), c.lists.load(), c.watch_errors.load(),
                   c.compactions.load()};
}

std::string EtcdRegistry::key_of(const Instance& i) const {
  return options_.prefix + "/" + i.name + "/" + i.id;
}

// One POST to the gateway: its body on 200, else UNAVAILABLE naming etcd's answer. The next
// endpoint is tried after a failure.
Task<Result<std::string>> EtcdRegistry::call(const Context& ctx, const char* path, std::string body) {
  std::size_t at;
  {
    std::lock_guard lock(mu_);
    at = next_endpoint_ % options_.endpoints.size();
  }
  Context c = ctx.with_timeout(options_.timeout);
  http::ClientRequest req;
  req.method = http::Method::kPost;
  req.url = options_.endpoints[at] + path;
  req.body = std::move(body);
  req.headers.emplace_back("Content-Type", "application/json");
  auto res = co_await client_->send(c, std::move(req));
  if (!res || res->status != 200) {
    std::lock_guard lock(mu_);
    next_endpoint_ = at + 1;
  }
  if (!res) co_return std::unexpected(res.error());
  if (res->status != 200)
    co_return make_error(Code::kUnavailable,
                         "etcd " + std::string(path) + ": HTTP " + std::to_string(res->status) + " " + res->body);
  co_return std::move(res->body);
}

Task<Status> EtcdRegistry::grant_and_put(const Context& ctx, Registration& reg) {
  // Arguments are named, not temporaries inside the co_await: GCC 12 (docs/architecture.md).
  std::string grant = "{\"TTL\":" + std::to_string(options_.lease_ttl.count()) + "}";
  auto granted = co_await call(ctx, "/v3/lease/grant", std::move(grant));
  if (!granted) co_return granted.error();
  auto lease = json::decode<LeaseResponse>(*granted);
  if (!lease || lease->ID.empty())
    co_return Status(Code::kUnavailable, "etcd lease grant: unexpected answer " + *granted);
  std::string put = "{\"key\":\"" + b64(key_of(reg.instance)) + "\",\"value\":\"" + b64(json::encode(reg.instance)) +
                    "\",\"lease\":\"" + lease->ID + "\"}";
  auto done = co_await call(ctx, "/v3/kv/put", std::move(put));
  if (!done) co_return done.error();
  reg.lease = to_int(lease->ID);
  counters_->registrations.fetch_add(1, std::memory_order_relaxed);
  co_return Status();
}

Task<Status> EtcdRegistry::register_instance(const Context& ctx, const Instance& instance) {
  if (Status st = validate(instance); !st.ok()) co_return st;
  Registration reg{instance, 0};
  if (Status st = co_await grant_and_put(ctx, reg); !st.ok()) co_return st;
  bool start_keepalive = false;
  {
    std::lock_guard lock(mu_);
    registered_[key_of(instance)] = reg;
    start_keepalive = !std::exchange(keepalive_running_, true);
  }
  if (start_keepalive) rt_.spawn(keepalive_loop(shared_from_this()));
  co_return Status();
}

Task<Status> EtcdRegistry::deregister(const Context& ctx, const Instance& instance) {
  std::string key = key_of(instance);
  std::int64_t lease = 0;
  {
    std::lock_guard lock(mu_);
    if (auto it = registered_.find(key); it != registered_.end()) {
      lease = it->second.lease;
      registered_.erase(it);
    }
  }
  std::string del_body = "{\"key\":\"" + b64(key) + "\"}";
  auto del = co_await call(ctx, "/v3/kv/deleterange", std::move(del_body));
  if (!del) co_return del.error();
  if (lease != 0) {
    std::string revoke = "{\"ID\":\"" + std::to_string(lease) + "\"}";
    (void)co_await call(ctx, "/v3/lease/revoke", std::move(revoke));
  }
  co_return Status();
}

// Renews every lease at a third of its TTL; a lease etcd lost is granted again with its key.
// `self` is a parameter, not shared_from_this() in the body: the body first runs after spawn returns.
Task<void> EtcdRegistry::keepalive_loop(std::shared_ptr<EtcdRegistry> self) {
  int failures = 0;
  for (;;) {
    auto pause = failures > 0 ? detail::backoff(options_.backoff_min, options_.backoff_max, failures)
                              : std::chrono::milliseconds(options_.lease_ttl) / 3;
    if (!(co_await sleep_for(stop_, pause)).ok()) co_return;
    std::vector<std::pair<std::string, Registration>> regs;
    {
      std::lock_guard lock(mu_);
      for (auto& [k, r] : registered_) regs.emplace_back(k, r);
    }
    bool all_ok = true;
    for (auto& [key, reg] : regs) {
      std::string renew = "{\"ID\":\"" + std::to_string(reg.lease) + "\"}";
      auto ka = co_await call(stop_, "/v3/lease/keepalive", std::move(renew));
      bool alive = false;
      if (ka) {
        auto line = json::decode<KeepAliveLine>(*ka);
        alive = line && to_int(line->result.TTL) > 0;
      }
      if (ka && alive) continue;
      if (!ka) {
        counters_->keepalive_errors.fetch_add(1, std::memory_order_relaxed);
        all_ok = false;
        continue;  // etcd unreachable: the lease may still be alive, find out on the next round
      }
      // etcd answered without a TTL: the lease is gone (expired while we could not reach etcd, or
      // revoked by a deregistration since the snapshot). Only a registration still in place, on the
      // lease we renewed, is granted again.
      {
        std::lock_guard lock(mu_);
        auto it = registered_.find(key);
        if (it == registered_.end() || it->second.lease != reg.lease) continue;
      }
      Registration again = reg;
      if (Status st = co_await grant_and_put(stop_, again); !st.ok()) {
        all_ok = false;
        continue;
      }
      std::lock_guard lock(mu_);
      auto it = registered_.find(key);
      if (it != registered_.end() && it->second.lease == reg.lease)
        it->second.lease = again.lease;
      else  // deregistered, or registered anew, meanwhile: do not leave this key and lease behind
        rt_.spawn([](std::shared_ptr<EtcdRegistry> r, std::string k, std::int64_t l) -> Task<void> {
          Context ctx;
          std::string del = "{\"key\":\"" + b64(k) + "\"}";
          (void)co_await r->call(ctx, "/v3/kv/deleterange", std::move(del));
          std::string revoke = "{\"ID\":\"" + std::to_string(l) + "\"}";
          (void)co_await r->call(ctx, "/v3/lease/revoke", std::move(revoke));
        }(self, key, again.lease));
    }
    failures = all_ok ? 0 : failures + 1;
  }
}

Task<Result<EtcdRegistry::Listing>> EtcdRegistry::list(const Context& ctx, const std::string& service) {
  std::string prefix = options_.prefix + "/" + service + "/";
  std::string query = "{\"key\":\"" + b64(prefix) + "\",\"range_end\":\"" + b64(range_end(prefix)) + "\"}";
  auto body = co_await call(ctx, "/v3/kv/range", std::move(query));
  if (!body) co_return std::unexpected(body.error());
  auto range = json::decode<RangeResponse>(*body);
  if (!range) co_return make_error(Code::kUnavailable, "etcd range: unexpected answer");
  Listing out;
  out.revision = to_int(range->header.revision);
  for (const KeyValue& kv : range->kvs) {
    auto key = unb64(kv.key);
    auto value = unb64(kv.value);
    if (!key || !value) continue;
    auto i = json::decode<Instance>(*value);
    if (i && i->name == service) out.by_key.emplace(std::move(*key), std::move(*i));
  }
  co_return out;
}

std::vector<Instance> EtcdRegistry::Listing::set() const {
  std::vector<Instance> out;
  for (const auto& [k, i] : by_key) out.push_back(i);
  std::sort(out.begin(), out.end(), [](const Instance& a, const Instance& b) { return a.id < b.id; });
  return out;
}

Task<Result<std::vector<Instance>>> EtcdRegistry::instances(const Context& ctx, std::string service) {
  auto listed = co_await list(ctx, service);
  if (!listed) co_return std::unexpected(listed.error());
  co_return listed->set();
}

Task<Result<std::vector<std::string>>> EtcdRegistry::services(const Context& ctx) {
  std::string prefix = options_.prefix + "/";
  std::string query =
      "{\"key\":\"" + b64(prefix) + "\",\"range_end\":\"" + b64(range_end(prefix)) + "\",\"keys_only\":true}";
  auto body = co_await call(ctx, "/v3/kv/range", std::move(query));
  if (!body) co_return std::unexpected(body.error());
  auto range = json::decode<RangeResponse>(*body);
  if (!range) co_return make_error(Code::kUnavailable, "etcd range: unexpected answer");
  std::set<std::string> names;
  for (const KeyValue& kv : range->kvs) {
    auto key = unb64(kv.key);
    if (!key || key->size() <= prefix.size()) continue;
    std::string rest = key->substr(prefix.size());
    if (auto slash = rest.find('/'); slash != std::string::npos && slash > 0) names.insert(rest.substr(0, slash));
  }
  co_return std::vector<std::string>(names.begin(), names.end());
}

std::unique_ptr<Watch> EtcdRegistry::watch(std::string service, WatchFn fn) {
  auto w = std::make_shared<Watcher>();
  w->service = std::move(service);
  w->fn = std::move(fn);
  w->ctx = stop_.with_cancel();
  rt_.spawn(watch_loop(shared_from_this(), w));
  return std::make_unique<detail::WatchHandle>(w);
}

// List, then watch from the next revision. A broken stream (etcd restarting, a lost connection) is
// watched again from the revision after the last event seen, so nothing between is missed and nothing
// is listed again; a compacted revision (that history is gone) is answered by listing again.
Task<void> EtcdRegistry::watch_loop(std::shared_ptr<EtcdRegistry> self, std::shared_ptr<Watcher> w) {
  (void)self;  // keeps the registry alive while the loop runs
  int failures = 0;
  const std::string prefix = options_.prefix + "/" + w->service + "/";
  std::map<std::string, Instance> current;  // by etcd key, as events name them
  std::int64_t resume = 0;                  // the revision to watch from; 0: list first
  while (!w->ctx.done()) {
    if (failures > 0 &&
        !(co_await sleep_for(w->ctx, detail::backoff(options_.backoff_min, options_.backoff_max, failures))).ok())
      co_return;
    if (resume != 0 && failures > 0) {
      // Resuming after a break: an etcd that came back with less history than we saw (its data was
      // lost) would never send what we wait for. Its revision tells; then list again.
      std::string probe =
          "{\"key\":\"" + b64(prefix) + "\",\"range_end\":\"" + b64(range_end(prefix)) + "\",\"count_only\":true}";
      auto body = co_await call(w->ctx, "/v3/kv/range", std::move(probe));
      std::optional<RangeResponse> range;
      if (body)
        if (auto decoded = json::decode<RangeResponse>(*body)) range = std::move(*decoded);
      if (!range) {
        counters_->watch_errors.fetch_add(1, std::memory_order_relaxed);
        ++failures;
        continue;
      }
      if (to_int(range->header.revision) + 1 < resume) resume = 0;
    }
    if (resume == 0) {
      auto listed = co_await list(w->ctx, w->service);
      counters_->lists.fetch_add(1, std::memory_order_relaxed);
      if (!listed) {
        counters_->watch_errors.fetch_add(1, std::memory_order_relaxed);
        ++failures;
        continue;  // the watcher keeps its last set
      }
      current = listed->by_key;
      w->deliver(listed->set());
      resume = listed->revision + 1;
    }

    // The watch stream: newline-delimited JSON results, for as long as etcd keeps it open.
    std::string pending;
    bool relist = false;
    http::ClientRequest req;
    req.method = http::Method::kPost;
    {
      std::lock_guard lock(mu_);
      req.url = options_.endpoints[next_endpoint_ % options_.endpoints.size()] + "/v3/watch";
    }
    req.body = "{\"create_request\":{\"key\":\"" + b64(prefix) + "\",\"range_end\":\"" + b64(range_end(prefix)) +
               "\",\"start_revision\":\"" + std::to_string(resume) + "\"}}";
    req.on_body = [&](std::string_view piece) -> Status {
      pending.append(piece);
      std::size_t nl;
      while ((nl = pending.find('\n')) != std::string::npos) {
        std::string line = pending.substr(0, nl);
        pending.erase(0, nl + 1);
        if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
        auto parsed = json::decode<WatchLine>(line);
        if (!parsed) continue;
        const WatchResult& r = parsed->result;
        if (r.canceled || !r.compact_revision.empty()) {
          if (!r.compact_revision.empty()) counters_->compactions.fetch_add(1, std::memory_order_relaxed);
          relist = true;
          resume = 0;
          return Status(Code::kAborted,
                        "watch cancelled: " + (r.cancel_reason.empty() ? "compacted" : r.cancel_reason));
        }
        if (r.events.empty()) continue;
        for (const Event& e : r.events) {
          resume = std::max(resume, to_int(e.kv.mod_revision) + 1);
          auto key = unb64(e.kv.key);
          if (!key) continue;
          if (e.type == "DELETE") {
            current.erase(*key);
          } else if (auto value = unb64(e.kv.value)) {
            if (auto i = json::decode<Instance>(*value); i && i->name == w->service) current[*key] = std::move(*i);
          }
        }
        std::vector<Instance> set;
        for (auto& [k, i] : current) set.push_back(i);
        std::sort(set.begin(), set.end(), [](const Instance& a, const Instance& b) { return a.id < b.id; });
        w->deliver(set);
      }
      return Status();
    };
    // A long-lived call: bounded so that a silently dead connection is noticed and replaced.
    Context stream_ctx = w->ctx.with_timeout(std::chrono::minutes(5));
    auto ended = co_await client_->send(stream_ctx, std::move(req));
    if (w->ctx.done()) co_return;
    if (relist) {
      failures = 1;  // list again after a short pause: a watch cancelled again and again must not spin
      continue;
    }
    // A stream that ended without a cancellation resumes from `resume` (after a pause if it broke).
    // Our own five-minute renewal is not an error; anything else that ended the stream is.
    bool renewed = !ended && stream_ctx.err().code() == Code::kDeadlineExceeded;
    if (!renewed) counters_->watch_errors.fetch_add(1, std::memory_order_relaxed);
    failures = renewed ? 0 : failures + 1;
  }
}

}  // namespace svckit::discovery
