#include "svckit/discovery_consul/consul_registry.hpp"

#include <algorithm>
#include <charconv>

#include "svckit/discovery/detail/watch_state.hpp"
#include "svckit/http/client.hpp"
#include "svckit/json/json.hpp"

namespace svckit::discovery {

namespace {

std::string duration_text(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + "ms";  // a Go duration, as Consul parses them
}

// The agent's health entries, as far as a registry needs them.
struct Weights {
  int Passing = 1;
  static void json_schema(json::Schema<Weights>& s) { s.field("Passing", &Weights::Passing); }
};
struct ConsulService {
  std::string id, name, address;
  int port = 0;
  std::map<std::string, std::string> meta;
  Weights weights;
  static void json_schema(json::Schema<ConsulService>& s) {
    s.field("ID", &ConsulService::id);
    s.field("Service", &ConsulService::name);
    s.field("Address", &ConsulService::address);
    s.field("Port", &ConsulService::port);
    s.field("Meta", &ConsulService::meta);
    s.field("Weights", &ConsulService::weights);
  }
};
struct Entry {
  ConsulService service;
  static void json_schema(json::Schema<Entry>& s) { s.field("Service", &Entry::service); }
};

Instance to_instance(const ConsulService& s) {
  Instance i;
  i.id = s.id;
  i.name = s.name;
  auto meta = [&](const char* k) -> std::string {
    auto it = s.meta.find(k);
    return it == s.meta.end() ? std::string() : it->second;
  };
  i.version = meta("version");
  i.zone = meta("zone");
  std::string all = meta("svckit_endpoints");
  for (std::string_view v = all; !v.empty();) {
    auto comma = v.find(',');
    if (!v.substr(0, comma).empty()) i.endpoints.emplace_back(v.substr(0, comma));
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  if (i.endpoints.empty() && !s.address.empty() && s.port > 0)
    i.endpoints.push_back("http://" + s.address + ":" + std::to_string(s.port));
  if (auto admin = meta("admin"); !admin.empty()) i.metadata["admin"] = admin;
  i.weight = static_cast<std::uint32_t>(std::max(1, s.weights.Passing)) * 100;
  return i;
}

// host and port of "scheme://host:port" ("[v6]" kept without its brackets).
std::pair<std::string, int> host_port(std::string_view endpoint) {
  auto authority = endpoint.substr(endpoint.find("://") + 3);
  auto colon = authority.rfind(':');
  std::string host(authority.substr(0, colon));
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  int port = 0;
  auto p = authority.substr(colon + 1);
  std::from_chars(p.data(), p.data() + p.size(), port);
  return {host, port};
}

}  // namespace

struct ConsulRegistry::Watcher : detail::WatchState {};

ConsulRegistry::ConsulRegistry(Runtime& rt, ConsulOptions options)
    : rt_(rt),
      options_(std::move(options)),
      client_(std::make_unique<http::Client>(rt, http::ClientOptions{.observe = false})),
      stop_(rt.shutdown_context().with_cancel()) {}

std::shared_ptr<ConsulRegistry> ConsulRegistry::create(Runtime& rt, ConsulOptions options) {
  return std::shared_ptr<ConsulRegistry>(new ConsulRegistry(rt, std::move(options)));
}

ConsulRegistry::~ConsulRegistry() {
  stop_.cancel();
}

void ConsulRegistry::close() {
  stop_.cancel(Status(Code::kCancelled, "consul registry closed"));
}

Task<Status> ConsulRegistry::register_instance(const Context& ctx, const Instance& instance) {
  if (Status st = validate(instance); !st.ok()) co_return st;
  auto http_endpoint = instance.endpoint("http");
  std::string endpoint = http_endpoint ? "http://" + std::string(*http_endpoint) : instance.endpoints.front();
  auto [host, port] = host_port(endpoint);
  std::string all;
  for (const std::string& e : instance.endpoints) all += (all.empty() ? "" : ",") + e;
  std::map<std::string, std::string> meta = {{"svckit_endpoints", all}};
  if (!instance.version.empty()) meta["version"] = instance.version;
  if (!instance.zone.empty()) meta["zone"] = instance.zone;
  std::string out;
  json::Writer w(out);
  w.begin_object().key("ID").string(instance.id).key("Name").string(instance.name);
  w.key("Address").string(host).key("Port").value(port);
  auto admin = instance.metadata.find("admin");
  if (admin != instance.metadata.end()) meta["admin"] = admin->second;
  w.key("Meta").value(meta);
  w.key("Weights")
      .begin_object()
      .key("Passing")
      .value(std::max<std::uint32_t>(1, instance.weight / 100))
      .key("Warning")
      .value(1)
      .end_object();
  {
    // The agent checks the instance itself, and removes one that stays critical: its admin /readyz
    // when it has one, else a TCP connect to its endpoint.
    w.key("Check").begin_object();
    if (admin != instance.metadata.end())
      w.key("HTTP").string(admin->second + "/readyz");
    else
      w.key("TCP").string((host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port));
    w.key("Interval").string(duration_text(options_.check_interval));
    w.key("Timeout").string(duration_text(options_.check_timeout));
    w.key("DeregisterCriticalServiceAfter").string(duration_text(options_.deregister_critical_after));
    w.end_object();
  }
  w.end_object();
  http::ClientRequest req;
  req.method = http::Method::kPut;
  req.url = options_.address + "/v1/agent/service/register";
  req.body = std::move(out);
  req.headers.emplace_back("Content-Type", "application/json");
  Context c = ctx.with_timeout(options_.timeout);
  auto res = co_await client_->send(c, std::move(req));
  if (!res) co_return res.error();
  if (res->status != 200)
    co_return Status(res->status == 400 ? Code::kInvalidArgument : Code::kUnavailable,
                     "consul register: HTTP " + std::to_string(res->status) + " " + res->body);
  co_return Status();
}

Task<Status> ConsulRegistry::deregister(const Context& ctx, const Instance& instance) {
  http::ClientRequest req;
  req.method = http::Method::kPut;
  req.url = options_.address + "/v1/agent/service/deregister/" + instance.id;
  Context c = ctx.with_timeout(options_.timeout);
  auto res = co_await client_->send(c, std::move(req));
  if (!res) co_return res.error();
  if (res->status != 200 && res->status != 404)
    co_return Status(Code::kUnavailable, "consul deregister: HTTP " + std::to_string(res->status) + " " + res->body);
  co_return Status();
}

Task<Result<ConsulRegistry::Answer>> ConsulRegistry::health(const Context& ctx, const std::string& service,
                                                            std::uint64_t index) {
  std::string url = options_.address + "/v1/health/service/" + service + "?passing";
  Context c = ctx.with_timeout(options_.timeout);
  if (index > 0) {
    url += "&index=" + std::to_string(index) + "&wait=" + duration_text(options_.wait);
    c = ctx.with_timeout(options_.wait + options_.wait / 16 + options_.timeout);  // Consul adds up to wait/16
  }
  auto res = co_await client_->get(c, url);
  if (!res) co_return std::unexpected(res.error());
  if (res->status != 200)
    co_return make_error(Code::kUnavailable, "consul health: HTTP " + std::to_string(res->status) + " " + res->body);
  auto entries = json::decode<std::vector<Entry>>(res->body);
  if (!entries) co_return make_error(Code::kUnavailable, "consul health: unexpected answer");
  Answer a;
  for (const Entry& e : *entries)
    if (e.service.name == service) a.set.push_back(to_instance(e.service));
  std::sort(a.set.begin(), a.set.end(), [](const Instance& x, const Instance& y) { return x.id < y.id; });
  std::string_view idx = res->header("X-Consul-Index");
  std::from_chars(idx.data(), idx.data() + idx.size(), a.index);
  co_return a;
}

Task<Result<std::vector<Instance>>> ConsulRegistry::instances(const Context& ctx, std::string service) {
  auto a = co_await health(ctx, service, 0);
  if (!a) co_return std::unexpected(a.error());
  co_return std::move(a->set);
}

Task<Result<std::vector<std::string>>> ConsulRegistry::services(const Context& ctx) {
  Context c = ctx.with_timeout(options_.timeout);
  std::string url = options_.address + "/v1/agent/services";
  auto res = co_await client_->get(c, url);
  if (!res) co_return std::unexpected(res.error());
  if (res->status != 200)
    co_return make_error(Code::kUnavailable, "consul services: HTTP " + std::to_string(res->status));
  auto all = json::decode<std::map<std::string, ConsulService>>(res->body);
  if (!all) co_return make_error(Code::kUnavailable, "consul services: unexpected answer");
  std::vector<std::string> names;
  for (auto& [id, s] : *all) names.push_back(s.name);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  co_return names;
}

std::unique_ptr<Watch> ConsulRegistry::watch(std::string service, WatchFn fn) {
  auto w = std::make_shared<Watcher>();
  w->service = std::move(service);
  w->fn = std::move(fn);
  w->ctx = stop_.with_cancel();
  rt_.spawn(watch_loop(shared_from_this(), w));
  return std::make_unique<detail::WatchHandle>(w);
}

// `self` is a parameter, not shared_from_this() in the body: the body first runs after spawn returns.
Task<void> ConsulRegistry::watch_loop(std::shared_ptr<ConsulRegistry> self, std::shared_ptr<Watcher> w) {
  (void)self;  // keeps the registry alive while the loop runs
  std::uint64_t index = 0;
  int failures = 0;
  auto last_query = Clock::now() - options_.min_query_interval;
  while (!w->ctx.done()) {
    // At most one query per min_query_interval, however fast the index moves.
    auto next = last_query + options_.min_query_interval;
    if (next > Clock::now() && !(co_await sleep_for(w->ctx, next - Clock::now())).ok()) co_return;
    if (failures > 0 &&
        !(co_await sleep_for(w->ctx, detail::backoff(options_.backoff_min, options_.backoff_max, failures))).ok())
      co_return;
    last_query = Clock::now();
    auto a = co_await health(w->ctx, w->service, index);
    if (w->ctx.done()) co_return;
    if (!a) {
      watch_errors_.fetch_add(1, std::memory_order_relaxed);
      ++failures;
      index = 0;  // the agent may have restarted: its indexes mean nothing now
      continue;
    }
    failures = 0;
    if (a->index < index) {
      index_resets_.fetch_add(1, std::memory_order_relaxed);
      index = 0;  // backwards (an agent restart): start again with a query that does not block
    } else {
      index = std::max<std::uint64_t>(a->index, 1);  // Consul's advice: never block on index 0
    }
    w->deliver(a->set);
  }
}

}  // namespace svckit::discovery
