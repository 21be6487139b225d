// The App in the service registry: which registry the `discovery:` section names, this instance's
// description, its registration once ready, its deregistration as the stop sequence's first step,
// and /debug/registry.
#include <unistd.h>

#include <atomic>

#include "svckit/app/app.hpp"
#include "svckit/app/detail/background.hpp"
#include "svckit/app/detail/traced_registry.hpp"
#include "svckit/discovery/dns_registry.hpp"
#include "svckit/discovery/file_registry.hpp"
#include "svckit/discovery/health_check.hpp"
#include "svckit/discovery/settings.hpp"
#include "svckit/discovery/static_registry.hpp"
#include "svckit/discovery_consul/consul_registry.hpp"
#include "svckit/discovery_etcd/etcd_registry.hpp"
#include "svckit/http/client.hpp"
#include "svckit/http/health_probe.hpp"
#include "svckit/http/server.hpp"
#include "svckit/http/settings.hpp"
#include "svckit/json/json.hpp"

namespace svckit::app {

namespace {

bool wildcard(const std::string& host) {
  return host.empty() || host == "0.0.0.0" || host == "::" || host == "*";
}

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

// The characters a registry id may hold (file names, etcd keys): others become '-'.
std::string id_safe(std::string s) {
  for (char& c : s) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) c = '-';
  }
  return s;
}

std::string policy_name(discovery::Policy p) {
  for (auto [value, name] : config_names(p))
    if (value == p) return name;
  return "?";
}

}  // namespace

// What /metrics reports of the registration; shared with the collector, which may outlive the App
// (the registry it is added to may be the global one).
struct App::RegistrationCounters {
  std::atomic<bool> registered{false};
  std::atomic<std::uint64_t> failures{0};
};

std::optional<std::string> App::open_registry() {
  auto s = settings<discovery::DiscoverySettings>("discovery");
  register_self_ = s.register_self;
  registration_counters_ = std::make_shared<RegistrationCounters>();
  registry_->add_collector([c = registration_counters_](metrics::Emitter& e) {
    e.gauge("svckit_discovery_registered", "1 while this instance is registered in its service registry.",
            c->registered.load() ? 1 : 0);
    e.counter("svckit_discovery_registration_failures_total",
              "Registrations the service registry refused or could not take (each is retried).",
              static_cast<double>(c->failures.load()));
  });
  if (s.backend == discovery::Backend::kFile) {
    discovery::FileRegistryOptions o = s.file;
    o.dir = config_->resolve(o.dir);
    auto r = discovery::FileRegistry::open(o);
    if (!r) return std::string(r.error().message());
    discovery_ = *r;
    registrar_ = *r;
    discovery_backend_ = "file";
    backend_errors_ = [f = std::weak_ptr<discovery::FileRegistry>(*r)]() -> std::uint64_t {
      auto live = f.lock();
      return live ? live->stats().write_errors + live->stats().bad_files : 0;
    };
    return finish_registry(s);
  }
  if (s.backend == discovery::Backend::kEtcd) {
    // Not contacted yet: an etcd that is down at start is retried by registration and watches.
    auto r = discovery::EtcdRegistry::create(*runtime_, s.etcd);
    discovery_ = r;
    registrar_ = r;
    discovery_backend_ = "etcd";
    backend_errors_ = [e = std::weak_ptr<discovery::EtcdRegistry>(r)]() -> std::uint64_t {
      auto live = e.lock();
      return live ? live->stats().watch_errors + live->stats().keepalive_errors : 0;
    };
    return finish_registry(s);
  }
  if (s.backend == discovery::Backend::kDns) {
    // Read-only: DNS lists what the platform publishes (a Kubernetes Service lists its ready pods), so
    // there is no registrar, and registering is not retried against one that would always refuse.
    discovery::DnsOptions o = s.dns;
    if (!o.resolv_conf.empty()) o.resolv_conf = config_->resolve(o.resolv_conf);
    auto r = discovery::DnsRegistry::create(*runtime_, o);
    if (!r) return std::string(r.error().message());
    discovery_ = *r;
    registrar_ = nullptr;
    discovery_backend_ = "dns";
    backend_errors_ = [d = std::weak_ptr<discovery::DnsRegistry>(*r)]() -> std::uint64_t {
      auto live = d.lock();
      return live ? live->stats().lookup_failures : 0;
    };
    if (register_self_) {
      std::string servers;
      for (const std::string& server : (*r)->servers()) servers += (servers.empty() ? "" : ",") + server;
      logger_.info(
          "discovery backend dns is read-only: this instance is not registered (DNS lists what the platform "
          "publishes, such as a Kubernetes Service's ready pods)",
          {{"servers", servers}, {"name", s.dns.name}});
    }
    register_self_ = false;
    return finish_registry(s);
  }
  if (s.backend == discovery::Backend::kConsul) {
    auto r = discovery::ConsulRegistry::create(*runtime_, s.consul);
    discovery_ = r;
    registrar_ = r;
    discovery_backend_ = "consul";
    backend_errors_ = [c = std::weak_ptr<discovery::ConsulRegistry>(r)]() -> std::uint64_t {
      auto live = c.lock();
      return live ? live->watch_errors() : 0;
    };
    return finish_registry(s);
  }
  auto r = discovery::StaticRegistry::from(s.instances);
  if (!r) return std::string(r.error().message());
  discovery_ = *r;
  registrar_ = *r;
  discovery_backend_ = "static";
  return finish_registry(s);
}

// Active checks for the registries that have none of their own, then the App's client over the
// result.
std::optional<std::string> App::finish_registry(const discovery::DiscoverySettings& s) {
  // Consul's agent checks /readyz itself; an etcd lease ends with its process.
  bool own_checks = s.backend == discovery::Backend::kConsul || s.backend == discovery::Backend::kEtcd;
  if (s.health.enabled && !own_checks) {
    probe_client_ = std::make_shared<http::Client>(
        *runtime_, http::ClientOptions{.max_connections_per_host = 2, .max_idle_per_host = 1, .observe = false});
    health_ = discovery::HealthChecker::wrap(*runtime_, discovery_, s.health,
                                             http::health_probe(probe_client_, s.health.path));
    discovery_ = health_;
  }
  // Spans for the App's registry calls, whatever the backend.
  auto traced = std::make_shared<detail::TracedRegistry>(registrar_, discovery_, discovery_backend_);
  if (registrar_) registrar_ = traced;  // dns has none
  discovery_ = traced;
  http::ClientOptions o;
  o.discovery = discovery_;
  o.balancer = s.balancer;
  o.zone = s.zone_aware ? s.zone : std::string();
  for (const auto& [name, policy] : s.services) o.services.emplace(name, policy);
  o.outlier = s.outlier;
  client_ = std::make_shared<http::Client>(*runtime_, std::move(o));
  register_discovery_metrics();
  return std::nullopt;
}

http::Client& App::client() {
  if (!client_) throw std::logic_error("App::client() before init()");
  return *client_;
}

void App::describe_self() {
  auto s = settings<discovery::DiscoverySettings>("discovery");
  auto http_settings = settings<http::ServerSettings>("http");
  auto advertise = [&](const std::string& listen) {
    if (!s.advertise_host.empty()) return s.advertise_host;
    return wildcard(listen) ? std::string("127.0.0.1") : listen;
  };
  discovery::Instance i;
  i.name = id_safe(options_.name);
  i.version = options_.version;
  i.zone = s.zone;
  if (s.instance_id.empty()) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) host[0] = 0;
    i.id =
        id_safe(i.name + "-" + (host[0] ? std::string(host) : std::string("host")) + "-" + std::to_string(::getpid()));
  } else {
    i.id = id_safe(s.instance_id);
  }
  if (server_)  // https:// for a TLS listener: discovery:/// calls to it then speak TLS
    i.endpoints.push_back((http_settings.server.tls.enabled() ? "https://" : "http://") +
                          url_host(advertise(http_settings.server.host)) + ":" + std::to_string(server_->port()));
  for (const auto& served : served_)
    i.endpoints.push_back(served.name + "://" + url_host(advertise(served.host)) + ":" + std::to_string(served.port()));
  if (admin_server_)
    i.metadata["admin"] =
        "http://" + url_host(advertise(admin_settings_.host)) + ":" + std::to_string(admin_server_->port());
  std::lock_guard lock(registration_mu_);
  if (i.endpoints.empty()) return;  // nothing another process could call
  self_ = std::move(i);
}

std::optional<discovery::Instance> App::self_instance() const {
  std::lock_guard lock(registration_mu_);
  return self_;
}

bool App::registered() const {
  std::lock_guard lock(registration_mu_);
  return registered_;
}

// Registers once readiness first passes (as a probe: untraced, uncounted), retrying a registry that
// refuses with a growing pause; gives up when the stop sequence begins.
Task<void> App::register_when_ready() {
  auto bg = background_;
  const Context& ctx = bg->ctx;
  discovery::Instance self = *self_instance();
  std::chrono::milliseconds pause = admin_settings_.readiness_interval;
  for (;;) {
    {
      std::lock_guard lock(registration_mu_);
      if (leaving_) co_return;
    }
    Context probe = as_probe(ctx);  // named: see docs/architecture.md on GCC 12
    auto report = co_await readiness_.check(probe, admin_settings_.check_timeout);
    if (ctx.done()) co_return;
    if (report.ready) {
      Status st = co_await registrar_->register_instance(ctx, self);
      if (st.ok()) break;
      registration_counters_->failures.fetch_add(1, std::memory_order_relaxed);
      logger_.warn("discovery registration failed, retrying",
                   {{"backend", discovery_backend_}, {"instance", self.id}, {"error", st}});
      pause = std::min(pause * 2, std::chrono::milliseconds(30000));
    }
    if (!(co_await sleep_for(ctx, pause)).ok() || ctx.done()) co_return;
  }
  bool undo = false;
  {
    std::lock_guard lock(registration_mu_);
    if (leaving_)
      undo = true;  // the stop began while we registered: take it back at once
    else
      registered_ = true;
    registration_counters_->registered = registered_;
  }
  if (undo) {
    Context undo_ctx = Context().with_timeout(std::chrono::seconds(5));
    (void)co_await registrar_->deregister(undo_ctx, self);
    co_return;
  }
  logger_.info("registered in discovery", {{"backend", discovery_backend_},
                                           {"service", self.name},
                                           {"instance", self.id},
                                           {"endpoints", self.endpoints.empty() ? "" : self.endpoints.front()}});
}

Task<void> App::deregister_self() {
  std::optional<discovery::Instance> self;
  {
    std::lock_guard lock(registration_mu_);
    leaving_ = true;
    if (registered_) self = self_;
    registered_ = false;
    if (registration_counters_) registration_counters_->registered = false;
  }
  if (!self) co_return;
  Context ctx = Context().with_timeout(std::chrono::seconds(5));
  Status st = co_await registrar_->deregister(ctx, *self);
  if (!st.ok())
    logger_.warn("discovery deregistration failed: the instance expires with its TTL",
                 {{"instance", self->id}, {"error", st}});
  else
    logger_.info("deregistered from discovery", {{"instance", self->id}});
}

// GET /debug/registry: this instance's registration, every service the registry knows now, and what
// the App's client makes of the services it calls: each instance's active health, passive ejection
// and learnt latency.
void App::mount_registry_debug() {
  admin_router_->get("/debug/registry", [this](http::Request& req, http::Response& res) -> Task<void> {
    auto names = co_await discovery_->services(req.ctx);
    std::string out;
    json::Writer w(out);
    w.begin_object().key("backend").string(discovery_backend_).key("registered").boolean(registered());
    auto self = self_instance();
    w.key("self");
    if (self)
      w.value(*self);
    else
      w.raw("null");
    w.key("services").begin_object();
    for (const std::string& name : names ? *names : std::vector<std::string>{}) {
      auto set = co_await discovery_->instances(req.ctx, name);
      w.key(name).value(set ? *set : std::vector<discovery::Instance>{});
    }
    w.end_object();
    auto followed = co_await client_->discovered();
    w.key("client").begin_object();
    for (const auto& svc : followed) {
      std::map<std::string, discovery::InstanceHealth> health;
      if (health_)
        for (auto& h : health_->health(svc.name)) health.emplace(h.id, h);
      w.key(svc.name).begin_object();
      w.key("balancer").string(policy_name(svc.policy.balancer));
      w.key("version").string(svc.policy.version).key("zone").string(svc.policy.zone);
      w.key("ejections").integer(svc.ejections);
      w.key("instances").begin_array();
      for (const auto& d : svc.instances) {
        w.begin_object().key("id").string(d.instance.id);
        w.key("endpoints").value(d.instance.endpoints);
        w.key("weight").integer(d.instance.weight);
        w.key("zone").string(d.instance.zone).key("version").string(d.instance.version);
        w.key("ejected").boolean(d.ejected);
        w.key("latency_ms").number(d.latency_ms).key("in_flight").integer(d.in_flight);
        if (auto h = health.find(d.instance.id); h != health.end()) {
          w.key("health").begin_object().key("healthy").boolean(h->second.healthy);
          w.key("failures").integer(h->second.failures);
          w.key("checks").integer(h->second.checks);
          w.key("last_error").string(h->second.last_error).end_object();
        }
        w.end_object();
      }
      w.end_array();
      // Instances the active checks hold out of rotation: not in the set above.
      w.key("unhealthy").begin_array();
      for (auto& [id, h] : health)
        if (!h.healthy) w.string(id);
      w.end_array().end_object();
    }
    w.end_object().end_object();
    res.set_header("Content-Type", "application/json");
    res.body = std::move(out);
  });
}

// svckit_discovery_*: the instances of each service the App's client follows, by state, and the
// health checks' and ejections' counts.
void App::register_discovery_metrics() {
  std::weak_ptr<http::Client> client = client_;
  std::weak_ptr<discovery::HealthChecker> health = health_;
  registry_->add_collector([client, health, errors = backend_errors_,
                            backend = discovery_backend_](metrics::Emitter& e) {
    auto c = client.lock();
    if (!c) return;
    if (errors) {
      e.begin("svckit_discovery_backend_errors_total",
              "Failed registry reads, watches and renewals (each retried; watchers keep their last set): etcd "
              "watch and keep-alive errors, Consul failed queries, DNS failed lookups, file write errors and "
              "undecodable files.",
              metrics::Type::kCounter);
      std::pair<std::string_view, std::string_view> labels[] = {{"backend", backend}};
      e.sample("svckit_discovery_backend_errors_total", labels, static_cast<double>(errors()));
    }
    auto h = health.lock();
    auto counts = c->discovery_counts();
    e.begin("svckit_discovery_instances",
            "Instances of each service this process calls, by state: available, ejected (passive health), "
            "unhealthy (active checks).",
            metrics::Type::kGauge);
    for (const auto& n : counts) {
      std::size_t unhealthy = 0;
      if (h)
        for (auto& i : h->health(n.service)) unhealthy += i.healthy ? 0 : 1;
      for (auto [state, v] :
           {std::pair<std::string_view, double>{"available", double(n.instances - std::min(n.instances, n.ejected))},
            {"ejected", double(n.ejected)},
            {"unhealthy", double(unhealthy)}}) {
        std::pair<std::string_view, std::string_view> labels[] = {{"service", n.service}, {"state", state}};
        e.sample("svckit_discovery_instances", labels, v);
      }
    }
    e.begin("svckit_discovery_ejections_total", "Instances ejected by passive health (outlier detection).",
            metrics::Type::kCounter);
    for (const auto& n : counts) {
      std::pair<std::string_view, std::string_view> labels[] = {{"service", n.service}};
      e.sample("svckit_discovery_ejections_total", labels, static_cast<double>(n.ejections));
    }
    if (h) {
      auto st = h->stats();
      e.counter("svckit_discovery_health_checks_total", "Active health probes made.", static_cast<double>(st.probes));
      e.counter("svckit_discovery_health_check_failures_total", "Active health probes that failed.",
                static_cast<double>(st.probe_failures));
      e.counter("svckit_discovery_marked_unhealthy_total", "Instances the active checks took out of rotation.",
                static_cast<double>(st.marked_unhealthy));
    }
  });
}

}  // namespace svckit::app
