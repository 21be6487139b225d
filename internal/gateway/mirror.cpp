#include "mirror.hpp"

#include <random>
#include <thread>

#include "canary.hpp"
#include "detail/call.hpp"
#include "svckit/core/strings.hpp"
#include "svckit/trace/tracer.hpp"

namespace svckit::gateway {

std::string shadow_host(std::string_view host) {
  std::size_t end = host.size();
  if (auto colon = host.rfind(':'); colon != std::string_view::npos && host.find(']') == std::string_view::npos)
    end = colon;  // host:port (an IPv6 literal keeps its brackets: [::1]:80 → [::1]-shadow:80)
  else if (auto close = host.rfind("]:"); close != std::string_view::npos)
    end = close + 1;
  std::string out(host.substr(0, end));
  out += "-shadow";
  out += host.substr(end);
  return out;
}

std::vector<std::pair<std::string, std::string>> mirror_headers(
    const std::vector<std::pair<std::string, std::string>>& primary, std::string_view client_host) {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(primary.size() + 2);
  for (const auto& [k, v] : primary)
    if (!iequals(k, "host")) out.emplace_back(k, v);
  if (!client_host.empty()) out.emplace_back("Host", shadow_host(client_host));
  out.emplace_back("X-Mirror", "1");
  return out;
}

Mirrors::Mirrors(Runtime& rt, http::Client& client, metrics::CounterVec& outcomes)
    : rt_(rt), client_(client), outcomes_(outcomes) {}

Mirrors::~Mirrors() {
  stop_.cancel(Status(Code::kCancelled, "gateway stopping"));
  // Copies end promptly once cancelled while their loops run; a stopped runtime never ends them.
  for (int i = 0; i < 5000 && live_->load() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

bool Mirrors::admit(const CompiledRoute& r) {
  RouteCounters& k = r.state->counters;
  const std::int64_t limit = r.cfg.mirror_max_in_flight;
  std::int64_t now = k.mirror_in_flight.load(std::memory_order_relaxed);
  while (now < limit)
    if (k.mirror_in_flight.compare_exchange_weak(now, now + 1, std::memory_order_relaxed)) return true;
  k.mirror_dropped.fetch_add(1, std::memory_order_relaxed);
  outcomes_.with({r.cfg.name, "dropped_in_flight"}).inc();
  return false;
}

void Mirrors::drop_body(const CompiledRoute& r) {
  r.state->counters.mirror_dropped.fetch_add(1, std::memory_order_relaxed);
  outcomes_.with({r.cfg.name, "dropped_body"}).inc();
}

void Mirrors::release(const CompiledRoute& r) {
  r.state->counters.mirror_in_flight.fetch_sub(1, std::memory_order_relaxed);
}

namespace {

Task<void> send_copy(http::Client& client, metrics::CounterVec& outcomes, Context stop, MirrorCopy copy,
                     std::shared_ptr<std::atomic<std::int64_t>> live) {
  Context ctx = stop.with_timeout(copy.timeout);
  if (copy.parent) ctx = trace::with_span(ctx, *copy.parent);
  copy.request.on_body = [](std::string_view) { return Status(); };  // read and dropped
  Task<Result<http::ClientResponse>> sending = client.send(ctx, std::move(copy.request));
  Result<http::ClientResponse> res = co_await std::move(sending);
  RouteCounters& k = copy.state->counters;
  (res ? k.mirrored : k.mirror_failed).fetch_add(1, std::memory_order_relaxed);
  outcomes.with({copy.route, res ? "mirrored" : "failed"}).inc();
  k.mirror_in_flight.fetch_sub(1, std::memory_order_relaxed);
  live->fetch_sub(1);
}

}  // namespace

void Mirrors::launch(MirrorCopy copy) {
  live_->fetch_add(1);
  Loop* loop = Loop::current();
  Task<void> task = send_copy(client_, outcomes_, stop_, std::move(copy), live_);
  if (loop)
    loop->spawn(std::move(task));
  else
    rt_.spawn(std::move(task));
}

// ---- the request path (Gateway members) ----

namespace {

// Sampled by the request id, so one request is mirrored or not wherever it is looked at; requests
// without an id draw at random.
bool sampled(const RouteConfig& cfg, std::string_view request_id) {
  if (cfg.mirror_percent <= 0) return false;
  if (cfg.mirror_percent >= 100) return true;
  if (request_id.empty()) {
    thread_local std::mt19937 rng{std::random_device{}()};
    return within_percent(static_cast<std::uint32_t>(rng() % 10000), cfg.mirror_percent);
  }
  return within_percent(hash_bucket(cfg.name, request_id), cfg.mirror_percent);
}

Duration mirror_timeout(const RouteConfig& cfg) {
  if (cfg.mirror_timeout.count() > 0) return cfg.mirror_timeout;
  return cfg.try_timeout.count() > 0 ? cfg.try_timeout : cfg.timeout;
}

}  // namespace

void Gateway::begin_mirror(Call& c, std::string_view wire_headers, const std::string& target) {
  const CompiledRoute& r = *c.route;
  const RouteConfig& cfg = r.cfg;
  if (r.mirror_base.empty() || c.upgrade) return;  // before the look-ups: most routes mirror nothing
  std::string_view request_id = c.res.header("X-Request-Id");
  if (request_id.empty()) request_id = c.req.header("X-Request-Id");
  if (!sampled(cfg, request_id)) return;
  if (c.stream.has_body()) {
    auto length = c.stream.content_length();
    if ((length && *length > cfg.mirror_max_body) || c.prefetched.size() > cfg.mirror_max_body) {
      mirrors_->drop_body(r);
      return;
    }
  }
  if (!mirrors_->admit(r)) return;
  c.mirror = true;
  c.mirror_copy.method = c.req.method();
  c.mirror_copy.url = r.mirror_base + target;
  c.mirror_copy.headers = mirror_headers(detail::parse_wire_headers(wire_headers), c.req.header("Host"));
  c.mirror_copy.body = c.prefetched;
  if (c.stream.has_body() && !c.prefetched_all) {
    c.mirror_gathering = true;  // sent when the rest of the body has come (gather_mirror)
    return;
  }
  gather_mirror(c, std::string_view());
}

void Gateway::gather_mirror(Call& c, std::string_view piece) {
  if (!c.mirror) return;
  const CompiledRoute& r = *c.route;
  if (!piece.empty()) {
    if (!c.mirror_gathering) return;
    if (c.mirror_copy.body.size() + piece.size() > r.cfg.mirror_max_body) {
      c.mirror = c.mirror_gathering = false;
      c.mirror_copy = http::ClientRequest();
      mirrors_->release(r);
      mirrors_->drop_body(r);
      return;
    }
    c.mirror_copy.body.append(piece);
    return;
  }
  c.mirror = c.mirror_gathering = false;
  MirrorCopy copy{.state = r.state,
                  .route = r.cfg.name,
                  .request = std::move(c.mirror_copy),
                  .timeout = mirror_timeout(r.cfg),
                  .parent = trace::span_from(c.req.ctx)};
  mirrors_->launch(std::move(copy));
}

}  // namespace svckit::gateway
