// The App in the service registry: which registry the `discovery:` section names, this instance's
// description, its registration once ready, its deregistration as the stop sequence's first step,
// and /debug/registry.
#include <unistd.h>

#include <atomic>

#include "svckit/app/app.hpp"
#include "svckit/discovery/dns_registry.hpp"
#include "svckit/discovery/file_registry.hpp"
#include "svckit/discovery/settings.hpp"
#include "svckit/discovery/static_registry.hpp"
#include "svckit/discovery_consul/consul_registry.hpp"
#include "svckit/discovery_etcd/etcd_registry.hpp"
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
    return std::nullopt;
  }
  if (s.backend == discovery::Backend::kEtcd) {
    // Not contacted yet: an etcd that is down at start is retried by registration and watches.
    auto r = discovery::EtcdRegistry::create(*runtime_, s.etcd);
    discovery_ = r;
    registrar_ = r;
    discovery_backend_ = "etcd";
    return std::nullopt;
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
    if (register_self_) {
      std::string servers;
      for (const std::string& server : (*r)->servers()) servers += (servers.empty() ? "" : ",") + server;
      logger_.info(
          "discovery backend dns is read-only: this instance is not registered (DNS lists what the platform "
          "publishes, such as a Kubernetes Service's ready pods)",
          {{"servers", servers}, {"name", s.dns.name}});
    }
    register_self_ = false;
    return std::nullopt;
  }
  if (s.backend == discovery::Backend::kConsul) {
    auto r = discovery::ConsulRegistry::create(*runtime_, s.consul);
    discovery_ = r;
    registrar_ = r;
    discovery_backend_ = "consul";
    return std::nullopt;
  }
  auto r = discovery::StaticRegistry::from(s.instances);
  if (!r) return std::string(r.error().message());
  discovery_ = *r;
  registrar_ = *r;
  discovery_backend_ = "static";
  return std::nullopt;
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
  if (server_)
    i.endpoints.push_back("http://" + url_host(advertise(http_settings.server.host)) + ":" +
                          std::to_string(server_->port()));
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
  const Context& ctx = runtime_->shutdown_context();
  discovery::Instance self = *self_instance();
  std::chrono::milliseconds pause = admin_settings_.readiness_interval;
  for (;;) {
    {
      std::lock_guard lock(registration_mu_);
      if (leaving_) co_return;
    }
    Context probe = as_probe(ctx);  // named: see docs/architecture.md on GCC 12
    auto report = co_await readiness_.check(probe, admin_settings_.check_timeout);
    if (report.ready) {
      Status st = co_await registrar_->register_instance(ctx, self);
      if (st.ok()) break;
      registration_counters_->failures.fetch_add(1, std::memory_order_relaxed);
      logger_.warn("discovery registration failed, retrying",
                   {{"backend", discovery_backend_}, {"instance", self.id}, {"error", st}});
      pause = std::min(pause * 2, std::chrono::milliseconds(30000));
    }
    if (!(co_await sleep_for(ctx, pause)).ok()) co_return;
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

// GET /debug/registry: this instance's registration and every service the registry knows now.
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
    w.end_object().end_object();
    res.set_header("Content-Type", "application/json");
    res.body = std::move(out);
  });
}

}  // namespace svckit::app
