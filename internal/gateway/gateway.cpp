// The gateway's life outside a request: upstream registries, loading and reloading the routes file,
// mounting on a router, and /debug/routes. The request path is proxy.cpp.
#include "gateway.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "canary.hpp"
#include "detail/headers.hpp"
#include "detail/metrics.hpp"
#include "mirror.hpp"
#include "svckit/json/json.hpp"

namespace svckit::gateway {

namespace {

// Names the gateway registers itself: static upstreams ("gateway.<route>"), static mirror and canary
// lists ("gateway-mirror.<route>", "gateway-canary.<route>") and the sides of a version split
// ("gateway-canary.<route>", "gateway-stable.<route>").
bool gateway_owned(std::string_view service) {
  return service.starts_with("gateway.") || service.starts_with("gateway-mirror.") ||
         service.starts_with("gateway-canary.") || service.starts_with("gateway-stable.");
}

// The gateway's own names beside the service registry's.
class UpstreamDiscovery final : public discovery::Discovery {
 public:
  UpstreamDiscovery(std::shared_ptr<discovery::StaticRegistry> statics, std::shared_ptr<discovery::Discovery> registry)
      : statics_(std::move(statics)), registry_(std::move(registry)) {}

  Task<Result<std::vector<discovery::Instance>>> instances(const Context& ctx, std::string service) override {
    if (gateway_owned(service) || !registry_) co_return co_await statics_->instances(ctx, std::move(service));
    co_return co_await registry_->instances(ctx, std::move(service));
  }
  std::unique_ptr<discovery::Watch> watch(std::string service, discovery::WatchFn fn) override {
    if (gateway_owned(service) || !registry_) return statics_->watch(std::move(service), std::move(fn));
    return registry_->watch(std::move(service), std::move(fn));
  }
  Task<Result<std::vector<std::string>>> services(const Context& ctx) override {
    std::vector<std::string> out = statics_->service_names();
    if (registry_) {
      auto more = co_await registry_->services(ctx);
      if (more) out.insert(out.end(), more->begin(), more->end());
    }
    co_return out;
  }

 private:
  std::shared_ptr<discovery::StaticRegistry> statics_;
  std::shared_ptr<discovery::Discovery> registry_;
};

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Gateway::Gateway(Runtime& rt, GatewayOptions options)
    : rt_(rt),
      options_(std::move(options)),
      trusted_(std::make_unique<detail::TrustedProxies>(options_.settings.trusted_proxies)),
      statics_(std::make_shared<discovery::StaticRegistry>()),
      upstreams_(std::make_shared<UpstreamDiscovery>(statics_, options_.discovery)),
      metrics_(std::make_unique<Metrics>(options_.registry ? *options_.registry : metrics::Registry::global())) {
  http::ClientOptions co;
  co.max_connections_per_host = options_.settings.upstream_max_connections;
  co.max_idle_per_host = options_.settings.upstream_max_idle;
  co.idle_timeout = options_.settings.upstream_idle_timeout;
  co.discovery = upstreams_;
  co.discovery_attempts = 1;  // the gateway makes its own tries (route retry policy)
  co.user_agent.clear();      // the client's User-Agent goes through as sent
  co.propagate_deadline = true;
  co.tls = options_.settings.upstream_tls;
  for (const UpstreamTls& u : options_.settings.upstream_tls_hosts) co.tls_hosts[u.address] = u.tls;
  client_ = std::make_unique<http::Client>(rt_, std::move(co));
  mirrors_ = std::make_unique<Mirrors>(rt_, *client_, metrics_->mirror);
  if (options_.auth) {
    EdgeAuthOptions ao{.cache_size = options_.settings.auth_cache_size,
                       .cache_ttl = options_.settings.auth_cache_ttl,
                       .retry_after = options_.settings.auth_retry_after};
    auto made = EdgeAuth::create(rt_, *options_.auth, std::move(ao), upstreams_, options_.logger);
    if (made)
      auth_ = std::move(*made);
    else
      auth_error_ = Status(made.error().code(), "gateway_auth: " + std::string(made.error().message()));
  }
}

Gateway::~Gateway() = default;

std::shared_ptr<const RouteTable> Gateway::table() const {
  std::lock_guard lock(table_mu_);
  return table_;
}

GatewayStats Gateway::stats() const noexcept {
  return GatewayStats{reloads_.load(), reload_failures_.load(), generation_.load()};
}

Status Gateway::load() {
  if (!auth_error_.ok()) return auth_error_;
  std::lock_guard lock(reload_mu_);
  auto text = read_file(options_.routes_path);
  if (!text) return Status(Code::kNotFound, "routes file " + options_.routes_path + " cannot be read");
  auto file = parse_routes(*text, options_.routes_path);
  if (!file) return file.error();
  Status st = install(*file, true);
  if (st.ok()) last_text_ = std::move(*text);
  return st;
}

Status Gateway::reload_if_changed() {
  {
    std::lock_guard lock(reload_mu_);
    auto text = read_file(options_.routes_path);
    if (text && *text == last_text_) return Status();
  }
  return reload();
}

Status Gateway::reload() {
  std::lock_guard lock(reload_mu_);
  auto text = read_file(options_.routes_path);
  Status st;
  std::string seen = text ? *text : std::string("\0missing", 8);
  if (seen == last_text_) return Status();
  if (!text) {
    st = Status(Code::kNotFound, "routes file " + options_.routes_path + " cannot be read");
  } else if (auto file = parse_routes(*text, options_.routes_path); !file) {
    st = file.error();
  } else {
    st = install(*file, false);
  }
  // The text is remembered either way: a refused edit is reported once, not at every look.
  last_text_ = std::move(seen);
  if (!st.ok()) {
    reload_failures_.fetch_add(1);
    metrics_->reloads.with({"rejected"}).inc();
    options_.logger.error(
        "gateway routes reload rejected, keeping the table in force",
        {{"file", options_.routes_path}, {"error", st.message()}, {"generation", generation_.load()}});
    return st;
  }
  reloads_.fetch_add(1);
  metrics_->reloads.with({"ok"}).inc();
  options_.logger.info(
      "gateway routes reloaded",
      {{"file", options_.routes_path}, {"routes", table()->routes().size()}, {"generation", generation_.load()}});
  return st;
}

Status Gateway::install(const RoutesFile& file, bool first) {
  prepare_splits(file);
  auto built = RouteTable::build(file, states_, generation_.load() + 1, auth_ ? &auth_->algorithms() : nullptr);
  if (!built) return built.error();
  follow_splits(**built);
  for (const auto& r : (*built)->routes()) {  // before any request can see the route
    RouteSeries& series = r.state->series;
    if (series.ready) continue;
    series.duration = metrics_->duration.with({r.cfg.name});
    series.upstream = metrics_->upstream.with({r.cfg.name});
    series.ready = true;
  }
  std::shared_ptr<const RouteTable> table = retain_static_upstreams(std::move(*built));
  {
    std::lock_guard lock(table_mu_);
    table_ = table;  // requests that hold the old table finish on it
  }
  generation_.fetch_add(1);
  metrics_->generation.set(static_cast<double>(generation_.load()));
  if (first)
    options_.logger.info("gateway routes loaded", {{"file", options_.routes_path}, {"routes", table->routes().size()}});
  return Status();
}

// Static upstream lists live in the gateway's own registry, one service per route, which the
// client's watch follows. A table's services stay registered while any request still holds that
// table (the returned pointer releases them when the last holder lets go), so a request that started
// before an edit removed its route still reaches its upstream.
std::shared_ptr<const RouteTable> Gateway::retain_static_upstreams(std::shared_ptr<const RouteTable> table) {
  std::vector<std::string> services;
  {
    std::lock_guard lock(static_refs_->mu);
    auto retain = [&](const std::string& service, const std::vector<discovery::Instance>& instances) {
      services.push_back(service);
      ++static_refs_->count[service];
      std::set<std::string, std::less<>> ids;
      const auto have = statics_->snapshot(service);
      for (const auto& inst : instances) {
        ids.insert(inst.id);
        if (std::find(have.begin(), have.end(), inst) == have.end()) static_cast<void>(statics_->add(inst));
      }
      for (const auto& h : have)
        if (!ids.contains(h.id)) statics_->remove(service, h.id);
    };
    for (const auto& r : table->routes()) {
      if (!r.static_instances.empty()) retain(r.service, r.static_instances);
      for (const auto& [service, instances] : r.role_statics) retain(service, instances);
    }
  }
  auto release = [refs = static_refs_, statics = statics_, services, table](const RouteTable*) mutable {
    std::lock_guard lock(refs->mu);
    for (const auto& name : services) {
      if (--refs->count[name] > 0) continue;
      refs->count.erase(name);
      for (const auto& h : statics->snapshot(name)) statics->remove(name, h.id);
    }
    table.reset();
  };
  const RouteTable* raw = table.get();
  return std::shared_ptr<const RouteTable>(raw, std::move(release));
}

Task<void> Gateway::watch(Context ctx) {
  for (;;) {
    Status slept = co_await sleep_for(ctx, options_.settings.reload_interval);
    if (!slept.ok()) break;
    auto job = [this] { return reload_if_changed(); };  // reads the file: off the loop
    auto done = co_await run_blocking(ctx, job);
    static_cast<void>(done);
  }
}

void Gateway::mount(http::Router& router) {
  auto handler = [this](http::Request& req, http::Response& res) -> Task<void> { return handle(req, res); };
  // Route limits are the gateway's own (per route); the server's bound is only the largest possible.
  constexpr std::uint64_t kNoServerLimit = 1ull << 50;
  for (http::Method m : {http::Method::kGet, http::Method::kHead, http::Method::kPost, http::Method::kPut,
                         http::Method::kPatch, http::Method::kDelete, http::Method::kOptions})
    router.handle(m, "/*path", handler).stream_body().body_limit(kNoServerLimit);
}

std::string Gateway::describe() const {
  auto t = table();
  std::string body;
  json::Writer w(body);
  w.begin_object();
  w.key("generation").integer(t ? t->generation() : 0);
  w.key("reloads").integer(reloads_.load());
  w.key("reload_failures").integer(reload_failures_.load());
  w.key("routes").begin_array();
  if (t) {
    for (const auto& r : t->routes()) {
      const RouteConfig& c = r.cfg;
      w.begin_object();
      w.key("name").string(c.name);
      w.key("priority").integer(c.priority);
      w.key("hosts").begin_array();
      for (const auto& h : c.hosts) w.string(h);
      w.end_array();
      w.key("path").string(c.path);
      w.key("path_type")
          .string(c.path_type == PathType::kExact    ? "exact"
                  : c.path_type == PathType::kPrefix ? "prefix"
                                                     : "template");
      w.key("methods").begin_array();
      for (const auto& m : c.methods) w.string(m);
      w.end_array();
      w.key("upstream").begin_array();
      for (const auto& u : c.upstream) w.string(u);
      w.end_array();
      w.key("timeout_ms").integer(c.timeout.count());
      w.key("retries").integer(c.retries);
      w.key("rate_limit").number(c.rate_limit);
      w.key("max_body").integer(c.max_body);
      w.key("auth").string(c.auth);
      if (!c.mirror.empty()) {
        w.key("mirror").begin_array();
        for (const auto& u : c.mirror) w.string(u);
        w.end_array();
        w.key("mirror_percent").number(c.mirror_percent);
      }
      if (!c.canary_version.empty() || !c.canary_upstream.empty()) {
        if (!c.canary_version.empty()) w.key("canary_version").string(c.canary_version);
        w.key("canary_upstream").begin_array();
        for (const auto& u : c.canary_upstream) w.string(u);
        w.end_array();
        w.key("canary_weight").number(c.canary_weight);
        if (r.split) w.key("canary_instances").integer(r.split->canary_instances());
      }
      if (c.auth == "jwt") {
        w.key("auth_roles").begin_array();
        for (const auto& role : c.auth_roles) w.string(role);
        w.end_array();
        w.key("auth_scopes").begin_array();
        for (const auto& scope : c.auth_scopes) w.string(scope);
        w.end_array();
        w.key("auth_algorithms").begin_array();
        for (auto a : r.auth_algorithms) w.string(auth::algorithm_name(a));
        w.end_array();
        w.key("auth_optional").boolean(c.auth_optional);
      }
      const RouteCounters& k = r.state->counters;
      w.key("counters").begin_object();
      w.key("requests").integer(k.requests.load());
      w.key("in_flight").integer(k.in_flight.load());
      w.key("errors_4xx").integer(k.errors_4xx.load());
      w.key("errors_5xx").integer(k.errors_5xx.load());
      w.key("retries").integer(k.retries.load());
      w.key("rate_limited").integer(k.rate_limited.load());
      w.key("upstream_failures").integer(k.upstream_failures.load());
      w.key("auth_refused").integer(k.auth_refused.load());
      if (!r.mirror_base.empty()) {
        w.key("mirrored").integer(k.mirrored.load());
        w.key("mirror_failed").integer(k.mirror_failed.load());
        w.key("mirror_dropped").integer(k.mirror_dropped.load());
        w.key("mirror_in_flight").integer(k.mirror_in_flight.load());
      }
      if (!c.canary_version.empty() || !c.canary_upstream.empty()) {
        w.key("stable").integer(k.stable.load());
        w.key("canary").integer(k.canary.load());
      }
      w.end_object();
      w.end_object();
    }
  }
  w.end_array();
  w.end_object();
  return body;
}

}  // namespace svckit::gateway
