#include "canary.hpp"

#include <algorithm>
#include <random>
#include <set>

#include "detail/call.hpp"
#include "svckit/core/strings.hpp"

namespace svckit::gateway {

std::uint32_t hash_bucket(std::string_view salt, std::string_view key) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a, then splitmix64's finaliser for the low bits
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 0x100000001b3ull;
    }
  };
  mix(salt);
  mix(std::string_view("\0", 1));
  mix(key);
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return static_cast<std::uint32_t>(h % 10000);
}

CanaryOverride parse_override(std::string_view value) noexcept {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (iequals(value, "always")) return CanaryOverride::kAlways;
  if (iequals(value, "never")) return CanaryOverride::kNever;
  return CanaryOverride::kNone;
}

VersionSplit::VersionSplit(std::shared_ptr<discovery::Discovery> source,
                           std::shared_ptr<discovery::StaticRegistry> sets, const std::string& route)
    : source_(std::move(source)),
      sets_(std::move(sets)),
      canary_service_("gateway-canary." + route),
      stable_service_("gateway-stable." + route) {}

VersionSplit::~VersionSplit() {
  stop();
}

void VersionSplit::follow(const std::string& service, const std::string& version) {
  {
    std::lock_guard lock(mu_);
    if (watch_ && service == service_) {
      if (version != version_) {
        version_ = version;
        apply(service_, last_);
      }
      return;
    }
    service_ = service;
    version_ = version;
    last_.clear();
  }
  // The watch delivers the first set from within watch() on some registries: not under mu_.
  auto fn = [this, service](const std::vector<discovery::Instance>& set) {
    std::lock_guard lock(mu_);
    if (service != service_) return;  // a watch being replaced
    last_ = set;
    apply(service_, last_);
  };
  std::unique_ptr<discovery::Watch> w = source_->watch(service, std::move(fn));
  std::unique_ptr<discovery::Watch> old;
  {
    std::lock_guard lock(mu_);
    old = std::move(watch_);
    watch_ = std::move(w);
  }
}

void VersionSplit::stop() {
  std::unique_ptr<discovery::Watch> old;
  {
    std::lock_guard lock(mu_);
    old = std::move(watch_);
    service_.clear();
    last_.clear();
    apply(service_, last_);
  }
}

// Called with mu_ held.
void VersionSplit::apply(const std::string& service, const std::vector<discovery::Instance>& set) {
  std::vector<discovery::Instance> canary, stable;
  for (const auto& inst : set) {
    if (inst.name != service && !inst.name.empty()) continue;
    (inst.version == version_ && !version_.empty() ? canary : stable).push_back(inst);
  }
  canary_count_.store(canary.size(), std::memory_order_relaxed);
  stable_count_.store(stable.size(), std::memory_order_relaxed);
  sync(canary_service_, std::move(canary));
  sync(stable_service_, std::move(stable));
}

void VersionSplit::sync(const std::string& name, std::vector<discovery::Instance> want) {
  std::set<std::string, std::less<>> ids;
  for (auto& inst : want) {
    inst.name = name;
    ids.insert(inst.id);
  }
  const auto have = sets_->snapshot(name);
  for (const auto& h : have)
    if (!ids.contains(h.id)) sets_->remove(name, h.id);
  for (const auto& inst : want)
    if (std::find(have.begin(), have.end(), inst) == have.end()) static_cast<void>(sets_->add(inst));
}

// ---- the request path (Gateway members) ----

namespace {

bool has_canary(const RouteConfig& cfg) {
  return !cfg.canary_version.empty() || !cfg.canary_upstream.empty();
}

// The part of a discovery:/// URL that names the service.
std::string service_of(const std::string& url) {
  auto u = http::parse_url(url);
  return u ? u->service : std::string();
}

}  // namespace

void Gateway::prepare_splits(const RoutesFile& file) {
  if (!options_.discovery) return;  // no registry: nothing to split; canary_version routes go stable
  for (const auto& r : file.routes) {
    if (r.canary_version.empty()) continue;
    std::shared_ptr<RouteState> st = states_.state_for(r);
    if (!st->split) st->split = std::make_shared<VersionSplit>(upstreams_, statics_, r.name);
  }
}

void Gateway::follow_splits(const RouteTable& table) {
  std::set<std::string, std::less<>> split_routes;
  for (const auto& r : table.routes()) {
    if (!r.split) continue;
    r.split->follow(service_of(r.cfg.upstream.front()), r.cfg.canary_version);
    split_routes.insert(r.cfg.name);
  }
  // Routes that no longer split by version stop following (their sets empty: stable traffic goes to
  // the whole service).
  for (const auto& r : table.routes())
    if (auto st = states_.find(r.cfg.name); st && st->split && !split_routes.contains(r.cfg.name)) st->split->stop();
}

std::string_view Gateway::choose_side(Call& c) {
  const CompiledRoute& r = *c.route;
  const RouteConfig& cfg = r.cfg;
  if (!has_canary(cfg)) return r.url_base;
  bool canary_ready = false;
  c.stable_base = r.url_base;
  if (r.split) {
    if (r.split->stable_instances() > 0) c.stable_base = "discovery:///" + r.split->stable_service();
    canary_ready = r.split->canary_instances() > 0;
    c.canary_base = "discovery:///" + r.split->canary_service();
  } else if (!r.canary_base.empty()) {
    canary_ready = true;  // a discovery:/// canary with no instance falls back at its first try
    c.canary_base = r.canary_base;
  }
  const CanaryOverride forced =
      cfg.canary_header.empty() ? CanaryOverride::kNone : parse_override(c.req.header(cfg.canary_header));
  bool canary = false;
  if (forced != CanaryOverride::kNone) {
    canary = forced == CanaryOverride::kAlways;
  } else if (cfg.canary_weight >= 100) {
    canary = true;
  } else if (cfg.canary_weight > 0) {
    std::uint32_t bucket = 0;
    if (cfg.canary_key == "random") {
      thread_local std::mt19937 rng{std::random_device{}()};
      bucket = static_cast<std::uint32_t>(rng() % 10000);
    } else {
      std::string key;
      if (cfg.canary_key.starts_with("header:")) key = std::string(c.req.header(cfg.canary_key.substr(7)));
      if (cfg.canary_key == "user" && c.identity) key = "user:" + c.identity->principal->subject;
      if (key.empty()) key = "ip:" + std::string(c.req.client_ip());
      bucket = hash_bucket(r.service, key);  // salted by service: routes to one service agree
    }
    canary = within_percent(bucket, cfg.canary_weight);
  }
  c.side = canary && canary_ready ? Call::Side::kCanary : Call::Side::kStable;
  return c.side == Call::Side::kCanary ? c.canary_base : c.stable_base;
}

std::string Gateway::fall_back_to_stable(Call& c) {
  if (c.side != Call::Side::kCanary) return std::string();
  c.side = Call::Side::kStable;
  return c.stable_base;
}

}  // namespace svckit::gateway
