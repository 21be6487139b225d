#include "svckit/discovery/dns_registry.hpp"

#include <algorithm>
#include <optional>

#include "svckit/discovery/detail/dns_config.hpp"
#include "svckit/discovery/detail/dns_instances.hpp"
#include "svckit/discovery/detail/dns_resolver.hpp"
#include "svckit/discovery/detail/watch_state.hpp"

namespace svckit::discovery {

namespace dns = detail::dns;

struct DnsRegistry::Config {
  dns::ResolverConfig resolver;
  std::vector<dns::PortSpec> ports;  // mode address
  std::vector<dns::PortSpec> srv;    // mode srv
};

struct DnsRegistry::Counters {
  dns::TransportCounters transport;
  std::atomic<std::uint64_t> lookups{0}, lookup_failures{0}, empty_held{0};
};

struct DnsRegistry::Entry {
  std::string service;
  std::string name;       // its DNS name (before the search list)
  Status invalid;         // not OK when the service's name cannot make a DNS name: its set is empty for good
  std::mutex deliver_mu;  // one publication at a time, so the last one delivers the newest set
  std::mutex mu;
  bool known = false;  // a set was resolved (possibly empty)
  std::vector<Instance> set;
  Clock::time_point fresh_until{};
  std::optional<Clock::time_point> empty_since;  // an empty answer is being confirmed
  std::vector<std::shared_ptr<detail::WatchState>> watchers;
  bool loop_running = false;
  Context loop_ctx;  // cancelled when the last watcher leaves
};

// How a refresh ended.
struct DnsRegistry::Outcome {
  enum Kind { kUpdated, kHeldEmpty, kFailed } kind = kFailed;
  Status error;
};

namespace {

class DnsWatch final : public Watch {
 public:
  DnsWatch(std::shared_ptr<DnsRegistry::Entry> e, std::shared_ptr<detail::WatchState> w)
      : e_(std::move(e)), w_(std::move(w)) {}
  ~DnsWatch() override;

 private:
  std::shared_ptr<DnsRegistry::Entry> e_;
  std::shared_ptr<detail::WatchState> w_;
};

}  // namespace

DnsWatch::~DnsWatch() {
  {
    std::lock_guard lock(w_->mu);  // waits for a callback running now; none runs after this
    w_->active = false;
  }
  Context loop;
  {
    std::lock_guard lock(e_->mu);
    std::erase(e_->watchers, w_);
    if (e_->watchers.empty() && e_->loop_running) {
      e_->loop_running = false;
      loop = e_->loop_ctx;
    }
  }
  loop.cancel(Status(Code::kCancelled, "last watch ended"));
}

Result<std::shared_ptr<DnsRegistry>> DnsRegistry::create(Runtime& rt, DnsOptions options) {
  auto config = std::make_unique<Config>();
  auto fail = [](const Status& st) { return make_error(st.code(), "discovery.dns: " + std::string(st.message())); };
  auto ports = dns::parse_ports(options.ports);
  if (!ports && options.mode == DnsMode::kAddress) return fail(ports.error());
  if (ports) config->ports = std::move(*ports);
  auto srv = dns::parse_srv_ports(options.srv_ports);
  if (!srv && options.mode == DnsMode::kSrv) return fail(srv.error());
  if (srv) config->srv = std::move(*srv);
  if ((options.mode == DnsMode::kAddress ? config->ports : config->srv).empty())
    return fail(Status(Code::kInvalidArgument, "no ports to give the instances"));
  if (auto name = dns::expand_name(options.name, "svc"); !name || options.name.find("{service}") == std::string::npos)
    return fail(Status(Code::kInvalidArgument, "name \"" + options.name + "\" is not a DNS name holding {service}"));

  dns::ResolverConfig& rc = config->resolver;
  for (const std::string& s : options.servers) {
    auto server = dns::parse_server(s);
    if (!server) return fail(server.error());
    rc.transport.servers.push_back(*server);
  }
  if (!options.resolv_conf.empty()) {
    auto file = dns::read_resolv_conf(options.resolv_conf);
    if (file) {
      rc.search = file->search;
      rc.ndots = file->ndots;
      if (rc.transport.servers.empty()) rc.transport.servers = file->nameservers;
      // glibc asks the local host when resolv.conf names no server.
      if (rc.transport.servers.empty()) rc.transport.servers.push_back(dns::Server{"127.0.0.1", 53});
    } else if (rc.transport.servers.empty()) {
      return fail(Status(Code::kUnavailable, std::string(file.error().message()) + ", and no servers are configured"));
    }
  }
  if (rc.transport.servers.empty())
    return fail(Status(Code::kInvalidArgument, "no servers configured and no resolv_conf to read them from"));
  rc.transport.timeout = options.timeout;
  rc.transport.attempts = options.attempts;
  rc.ipv4 = options.family != DnsFamily::kIPv6;
  rc.ipv6 = options.family != DnsFamily::kIPv4;
  return std::shared_ptr<DnsRegistry>(new DnsRegistry(rt, std::move(options), std::move(config)));
}

DnsRegistry::DnsRegistry(Runtime& rt, DnsOptions options, std::unique_ptr<Config> config)
    : rt_(rt),
      options_(std::move(options)),
      config_(std::move(config)),
      counters_(std::make_unique<Counters>()),
      stop_(rt.shutdown_context().with_cancel()) {}

DnsRegistry::~DnsRegistry() {
  stop_.cancel();
}

void DnsRegistry::close() {
  stop_.cancel(Status(Code::kCancelled, "dns registry closed"));
}

DnsStats DnsRegistry::stats() const {
  const Counters& c = *counters_;
  return DnsStats{.lookups = c.lookups.load(),
                  .lookup_failures = c.lookup_failures.load(),
                  .queries = c.transport.queries.load(),
                  .tcp_queries = c.transport.tcp.load(),
                  .timeouts = c.transport.timeouts.load(),
                  .server_errors = c.transport.server_errors.load(),
                  .dropped = c.transport.dropped.load(),
                  .empty_held = c.empty_held.load()};
}

std::vector<std::string> DnsRegistry::servers() const {
  std::vector<std::string> out;
  for (const auto& s : config_->resolver.transport.servers) out.push_back(dns::to_string(s));
  return out;
}

const std::vector<std::string>& DnsRegistry::search() const noexcept {
  return config_->resolver.search;
}

int DnsRegistry::ndots() const noexcept {
  return config_->resolver.ndots;
}

std::shared_ptr<DnsRegistry::Entry> DnsRegistry::entry(const std::string& service) {
  std::lock_guard lock(mu_);
  auto& e = entries_[service];
  if (!e) {
    e = std::make_shared<Entry>();
    e->service = service;
    if (auto name = dns::expand_name(options_.name, service)) {
      e->name = std::move(*name);
    } else {
      e->invalid = name.error();
      e->known = true;
    }
  }
  return e;
}

// The service's set and the TTL of the answers it came from.
Task<Result<std::pair<std::vector<Instance>, std::uint32_t>>> DnsRegistry::resolve(const Context& ctx,
                                                                                   const std::string& service,
                                                                                   const std::string& name) {
  if (options_.mode == DnsMode::kAddress) {
    auto found = co_await dns::lookup_addresses(ctx, config_->resolver, name, counters_->transport);
    if (!found) co_return std::unexpected(found.error());
    co_return std::pair{dns::address_instances(service, *found, config_->ports), found->ttl};
  }
  std::vector<std::pair<dns::PortSpec, dns::SrvLookup>> lookups;
  std::uint32_t ttl = UINT32_MAX;
  for (const dns::PortSpec& spec : config_->srv) {
    std::string owner = "_" + spec.port_name + "._tcp." + name;
    auto found = co_await dns::lookup_srv(ctx, config_->resolver, owner, counters_->transport);
    if (!found) co_return std::unexpected(found.error());
    // A scheme without records and without a negative TTL must not make the others' answers expire.
    if (found->found || found->ttl > 0) ttl = std::min(ttl, found->ttl);
    lookups.emplace_back(spec, std::move(*found));
  }
  co_return std::pair{dns::srv_instances(service, lookups), ttl == UINT32_MAX ? 0 : ttl};
}

// Resolves the service and updates its entry: the new set, or the last one kept (a failure, or an
// empty answer not confirmed yet).
Task<DnsRegistry::Outcome> DnsRegistry::refresh(std::shared_ptr<Entry> e, const Context& ctx) {
  counters_->lookups.fetch_add(1, std::memory_order_relaxed);
  auto resolved = co_await resolve(ctx, e->service, e->name);
  if (!resolved) {
    counters_->lookup_failures.fetch_add(1, std::memory_order_relaxed);
    co_return Outcome{Outcome::kFailed, resolved.error()};
  }
  auto& [set, ttl] = *resolved;
  const auto now = Clock::now();
  std::lock_guard lock(e->mu);
  if (set.empty() && e->known && !e->set.empty()) {
    // A set that empties at once is more often a blip (a DNS server restarting, a Service being
    // replaced) than every instance gone: it is believed when an answer min_refresh later agrees.
    if (!e->empty_since) e->empty_since = now;
    if (now - *e->empty_since < options_.min_refresh) {
      counters_->empty_held.fetch_add(1, std::memory_order_relaxed);
      co_return Outcome{Outcome::kHeldEmpty, Status()};
    }
  }
  e->empty_since.reset();
  e->known = true;
  e->set = std::move(set);
  auto hold =
      std::clamp<std::chrono::milliseconds>(std::chrono::seconds(ttl), options_.min_refresh, options_.max_refresh);
  e->fresh_until = now + hold;
  co_return Outcome{Outcome::kUpdated, Status()};
}

// Hands the entry's current set to its watchers (each skips a set it already has).
void DnsRegistry::publish(Entry& e) {
  std::lock_guard order(e.deliver_mu);
  std::vector<Instance> set;
  std::vector<std::shared_ptr<detail::WatchState>> watchers;
  {
    std::lock_guard lock(e.mu);
    if (!e.known) return;
    set = e.set;
    watchers = e.watchers;
  }
  for (auto& w : watchers) w->deliver(set);
}

Task<Result<std::vector<Instance>>> DnsRegistry::instances(const Context& ctx, std::string service) {
  std::shared_ptr<Entry> e = entry(service);
  if (!e->invalid.ok()) co_return std::unexpected(e->invalid);
  std::optional<std::vector<Instance>> cached;
  {
    std::lock_guard lock(e->mu);
    if (e->known && !e->empty_since && Clock::now() < e->fresh_until) cached = e->set;
  }
  if (cached) co_return std::move(*cached);
  Outcome out = co_await refresh(e, ctx);
  publish(*e);
  std::lock_guard lock(e->mu);
  if (out.kind == Outcome::kFailed && !e->known) co_return std::unexpected(out.error);
  co_return e->set;
}

Task<Result<std::vector<std::string>>> DnsRegistry::services(const Context& ctx) {
  (void)ctx;
  std::vector<std::string> names;
  std::vector<std::shared_ptr<Entry>> all;
  {
    std::lock_guard lock(mu_);
    for (auto& [name, e] : entries_) all.push_back(e);
  }
  for (auto& e : all) {
    std::lock_guard lock(e->mu);
    if (!e->set.empty()) names.push_back(e->service);
  }
  co_return names;
}

std::unique_ptr<Watch> DnsRegistry::watch(std::string service, WatchFn fn) {
  std::shared_ptr<Entry> e = entry(service);
  auto w = std::make_shared<detail::WatchState>();
  w->service = std::move(service);
  w->fn = std::move(fn);
  bool start = false, known = false;
  Context loop;
  {
    std::lock_guard lock(e->mu);
    e->watchers.push_back(w);
    if (!e->loop_running && e->invalid.ok()) {
      e->loop_running = true;
      e->loop_ctx = stop_.with_cancel();
      loop = e->loop_ctx;
      start = true;
    }
    known = e->known;
  }
  auto self = shared_from_this();
  if (start) rt_.spawn(watch_loop(self, e, loop));
  // A set already known (or an invalid name's empty one) reaches the new watcher at once, from a loop
  // (not from inside watch()).
  if (known) rt_.next_loop().post([self, e] { self->publish(*e); });
  return std::make_unique<DnsWatch>(e, w);
}

// Refreshes the entry when its TTL runs out, after a failure with backoff and jitter, after an empty
// answer min_refresh later; ends when its last watcher leaves or the registry closes.
Task<void> DnsRegistry::watch_loop(std::shared_ptr<DnsRegistry> self, std::shared_ptr<Entry> e, Context ctx) {
  (void)self;  // keeps the registry alive while the loop runs
  int failures = 0;
  for (;;) {
    Duration pause = Duration::zero();
    {
      std::lock_guard lock(e->mu);
      auto now = Clock::now();
      if (e->known && !e->empty_since && now < e->fresh_until) pause = e->fresh_until - now;
    }
    if (pause > Duration::zero()) {
      Status slept = co_await sleep_for(ctx, pause);
      if (!slept.ok()) co_return;
    }
    Outcome out = co_await refresh(e, ctx);
    if (ctx.done()) co_return;
    publish(*e);
    if (out.kind == Outcome::kFailed) {
      ++failures;
      Status slept = co_await sleep_for(ctx, detail::backoff(options_.backoff_min, options_.backoff_max, failures));
      if (!slept.ok()) co_return;
      continue;
    }
    failures = 0;
    if (out.kind == Outcome::kHeldEmpty) {
      Status slept = co_await sleep_for(ctx, options_.min_refresh);
      if (!slept.ok()) co_return;
    }
  }
}

}  // namespace svckit::discovery
