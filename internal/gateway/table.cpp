#include "table.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>

#include "svckit/core/strings.hpp"
#include "svckit/http/client.hpp"
#include "svckit/resilience/observed.hpp"
#include "svckit/resilience/redis_limiter.hpp"

namespace svckit::gateway {

namespace {

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

std::string policy_key(const RouteConfig& r) {
  return std::to_string(r.rate_limit) + "|" + std::to_string(r.rate_burst) + "|" + r.rate_limit_key + "|" +
         r.rate_limit_redis + "|" + std::to_string(r.breaker_failures) + "|" +
         std::to_string(r.breaker_open_for.count()) + "|" + std::to_string(r.retry_budget);
}

// "host:port" → {host, port} for the Redis limiter.
std::pair<std::string, int> host_port(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return {s, 6379};
  int port = 6379;
  std::from_chars(s.data() + colon + 1, s.data() + s.size(), port);
  return {s.substr(0, colon), port};
}

// The discovery name an upstream list is called through: a discovery:/// upstream's own service, or
// `static_name` under which the gateway registers the http:// and https:// URLs (ids `id_prefix`-N, into `out`).
Result<std::string> upstream_service(const std::vector<std::string>& list, std::string static_name,
                                     const std::string& id_prefix, std::vector<discovery::Instance>& out) {
  auto first = http::parse_url(list.front());
  if (!first) return std::unexpected(first.error());
  if (!first->service.empty()) return first->service;
  for (std::size_t k = 0; k < list.size(); ++k) {
    auto u = http::parse_url(list[k]);
    if (!u) return std::unexpected(u.error());
    discovery::Instance inst;
    inst.id = id_prefix + "-" + std::to_string(k);
    inst.name = static_name;
    inst.endpoints = {(u->tls ? "https://" : "http://") + u->host + ":" + std::to_string(u->port)};
    out.push_back(std::move(inst));
  }
  return static_name;
}

}  // namespace

KeyedLimiter::KeyedLimiter(double rate, double burst, std::size_t max_keys)
    : rate_(std::max(rate, 1e-9)), burst_(std::max(burst, 1.0)), max_keys_(max_keys) {}

Status KeyedLimiter::try_acquire(std::string_view key) {
  const std::int64_t now = steady_ns();
  std::lock_guard lock(mu_);
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) {
      // Forget the keys whose buckets have refilled: they are where a new key would start anyway.
      std::erase_if(buckets_, [&](const auto& kv) {
        return kv.second.tokens + (now - kv.second.last_ns) * 1e-9 * rate_ >= burst_;
      });
      if (buckets_.size() >= max_keys_) buckets_.clear();
    }
    it = buckets_.emplace(std::string(key), Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  b.tokens = std::min(burst_, b.tokens + (now - b.last_ns) * 1e-9 * rate_);
  b.last_ns = now;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return Status();
  }
  auto wait = std::chrono::nanoseconds(static_cast<std::int64_t>((1.0 - b.tokens) / rate_ * 1e9));
  return resilience::rate_limited("client", wait);
}

std::shared_ptr<RouteState> StateStore::state_for(const RouteConfig& r) {
  std::lock_guard lock(mu_);
  auto& slot = states_[r.name];
  if (!slot) slot = std::make_shared<RouteState>();
  std::string key = policy_key(r);
  if (slot->policy_key != key || !slot->budget) {
    // A changed policy starts afresh: a new bucket, breaker and budget (counters stay).
    slot->policy_key = key;
    const double burst = r.rate_burst > 0 ? r.rate_burst : std::max(1.0, r.rate_limit);
    slot->limiter.reset();
    slot->keyed.reset();
    if (r.rate_limit > 0 && r.rate_limit_key == "route") {
      if (!r.rate_limit_redis.empty()) {
        auto [host, port] = host_port(r.rate_limit_redis);
        slot->limiter = std::make_shared<resilience::RedisTokenBucket>(resilience::RedisLimiterOptions{
            .host = host, .port = port, .key = "svckit:gateway:" + r.name, .rate = r.rate_limit, .burst = burst});
      } else {
        slot->limiter = std::make_shared<resilience::TokenBucket>(r.rate_limit, burst);
      }
    } else if (r.rate_limit > 0) {
      slot->keyed = std::make_shared<KeyedLimiter>(r.rate_limit, burst);
    }
    slot->breaker.reset();
    if (r.breaker_failures > 0) {
      const std::uint32_t failures = static_cast<std::uint32_t>(r.breaker_failures);
      slot->breaker = resilience::observed_breaker(
          {.name = "gateway:" + r.name,
           .timeout = r.breaker_open_for,
           .ready_to_trip = [failures](const resilience::Counts& c) { return c.consecutive_failures > failures; }});
    }
    slot->budget = std::make_shared<resilience::RetryBudget>(r.retry_budget, 1.0);
  }
  return slot;
}

std::shared_ptr<RouteState> StateStore::find(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = states_.find(std::string(name));
  return it == states_.end() ? nullptr : it->second;
}

Result<std::shared_ptr<const RouteTable>> RouteTable::build(const RoutesFile& file, StateStore& states,
                                                            std::uint64_t generation,
                                                            const std::vector<auth::Algorithm>* verifier_algorithms) {
  auto table = std::make_shared<RouteTable>();
  table->generation_ = generation;
  table->routes_.reserve(file.routes.size());
  for (std::size_t i = 0; i < file.routes.size(); ++i) {
    const RouteConfig& r = file.routes[i];
    CompiledRoute c;
    c.cfg = r;
    c.index = i;
    for (const auto& h : r.hosts) {
      if (h.starts_with("*."))
        c.wildcard_suffixes.push_back(lower(h.substr(1)));
      else
        c.exact_hosts.push_back(lower(h));
    }
    if (r.path_type == PathType::kTemplate)
      for (auto s : split_path(r.path)) c.segments.emplace_back(s);
    for (const auto& m : r.methods) {
      if (m == "*") {
        c.method_mask = 0;
        break;
      }
      c.method_mask |= 1u << static_cast<unsigned>(http::parse_method(m));
    }
    for (const auto& [k, v] : r.headers) c.headers.emplace_back(k, v);
    auto service = upstream_service(r.upstream, "gateway." + r.name, r.name, c.static_instances);
    if (!service) return std::unexpected(service.error());
    c.service = std::move(*service);
    c.url_base = "discovery:///" + c.service;
    for (auto [list, role] : {std::pair{&r.mirror, "mirror"}, std::pair{&r.canary_upstream, "canary"}}) {
      if (list->empty()) continue;
      std::vector<discovery::Instance> instances;
      auto name =
          upstream_service(*list, std::string("gateway-") + role + "." + r.name, r.name + "-" + role, instances);
      if (!name) return std::unexpected(name.error());
      if (!instances.empty()) c.role_statics.emplace_back(*name, std::move(instances));
      (std::string_view(role) == "mirror" ? c.mirror_base : c.canary_base) = "discovery:///" + *name;
    }
    for (const auto& o : r.retry_on) {
      if (o == "connect-failure")
        c.retry_connect = true;
      else if (o == "timeout")
        c.retry_timeout = true;
      else if (o == "reset")
        c.retry_reset = true;
      else
        c.retry_statuses.push_back(std::stoi(o));
    }
    if (r.auth == "jwt") {
      if (!verifier_algorithms)
        return make_error(Code::kFailedPrecondition,
                          "route \"" + r.name +
                              "\": auth: jwt needs a token verifier and the gateway has none (configure the "
                              "gateway_auth section: jwks_url or jwks_file, issuer); the route is not served open");
      for (const auto& name : r.auth_algorithms) {
        auto alg = auth::parse_algorithm(name);
        if (!alg ||
            std::find(verifier_algorithms->begin(), verifier_algorithms->end(), *alg) == verifier_algorithms->end())
          return make_error(Code::kInvalidArgument, "route \"" + r.name + "\": auth_algorithms: " + name +
                                                        " is not in gateway_auth.algorithms");
        c.auth_algorithms.push_back(*alg);
      }
      if (c.auth_algorithms.empty()) c.auth_algorithms = *verifier_algorithms;
    }
    c.state = states.state_for(r);
    c.limiter = c.state->limiter;
    c.keyed = c.state->keyed;
    c.breaker = c.state->breaker;
    c.budget = c.state->budget;
    if (!r.canary_version.empty()) c.split = c.state->split;
    table->routes_.push_back(std::move(c));
  }
  std::stable_sort(table->routes_.begin(), table->routes_.end(),
                   [](const CompiledRoute& a, const CompiledRoute& b) { return a.cfg.priority > b.cfg.priority; });
  return std::shared_ptr<const RouteTable>(std::move(table));
}

namespace {

bool host_matches(const CompiledRoute& r, std::string_view host) {
  if (r.exact_hosts.empty() && r.wildcard_suffixes.empty()) return true;
  // Host without its port, unless the pattern names one.
  std::string_view bare = host;
  if (auto colon = bare.rfind(':'); colon != std::string_view::npos && bare.find(']') == std::string_view::npos)
    bare = bare.substr(0, colon);
  for (const auto& h : r.exact_hosts)
    if (iequals(h, h.find(':') != std::string::npos ? host : bare)) return true;
  for (const auto& suffix : r.wildcard_suffixes)  // "*.example.com": one or more labels before
    if (bare.size() > suffix.size() && iequals(bare.substr(bare.size() - suffix.size()), suffix)) return true;
  return false;
}

bool path_matches(const CompiledRoute& r, std::string_view path, RouteMatch& m) {
  const std::string& p = r.cfg.path;
  switch (r.cfg.path_type) {
    case PathType::kExact:
      return path == p;
    case PathType::kPrefix:
      if (!path.starts_with(p)) return false;
      // On a segment boundary: /api matches /api and /api/x, not /apix.
      if (path.size() != p.size() && p.back() != '/' && path[p.size()] != '/') return false;
      m.rest = path.substr(p.size());
      return true;
    case PathType::kTemplate: {
      auto segs = split_path(path);
      if (segs.size() != r.segments.size()) return false;
      for (std::size_t i = 0; i < segs.size(); ++i) {
        const std::string& want = r.segments[i];
        if (!want.empty() && want.front() == ':') {
          if (segs[i].empty()) return false;
          m.params.push_back(Param{std::string_view(want).substr(1), segs[i]});
        } else if (segs[i] != want) {
          return false;
        }
      }
      return true;
    }
  }
  return false;
}

}  // namespace

std::optional<RouteMatch> RouteTable::match(const http::Request& req) const {
  std::string_view host = req.header("Host");
  const unsigned method_bit = 1u << static_cast<unsigned>(req.method());
  for (const auto& r : routes_) {
    if (r.method_mask != 0 && (req.method() == http::Method::kOther || !(r.method_mask & method_bit))) continue;
    if (!host_matches(r, host)) continue;
    bool headers_ok = true;
    for (const auto& [name, value] : r.headers) {
      std::string_view got = req.header(name);
      bool present = false;
      for (auto it = req.headers_begin(); it != req.headers_end(); ++it)
        if (iequals(it->name, name)) present = true;
      if (!present || (value != "*" && got != value)) {
        headers_ok = false;
        break;
      }
    }
    if (!headers_ok) continue;
    RouteMatch m;
    m.route = &r;
    if (!path_matches(r, req.path(), m)) continue;
    return m;
  }
  return std::nullopt;
}

std::string RouteTable::upstream_target(const RouteMatch& m, const http::Request& req) {
  const RouteConfig& r = m.route->cfg;
  std::string out;
  if (r.strip_prefix) {
    std::string_view rest = m.rest;
    if (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
    out = "/";
    out += rest;
  } else if (!r.rewrite.empty()) {
    std::string_view tpl = r.rewrite;
    while (!tpl.empty()) {
      auto colon = tpl.find("/:");
      if (colon == std::string_view::npos) {
        out += tpl;
        break;
      }
      out += tpl.substr(0, colon + 1);
      tpl.remove_prefix(colon + 2);
      auto end = tpl.find('/');
      std::string_view name = tpl.substr(0, end);
      for (const auto& p : m.params)
        if (p.name == name) out += p.value;
      tpl = end == std::string_view::npos ? std::string_view() : tpl.substr(end);
    }
    if (r.path_type == PathType::kPrefix) {  // the prefix replaced, the rest kept
      std::string_view rest = m.rest;
      if (!out.empty() && out.back() == '/' && !rest.empty() && rest.front() == '/') rest.remove_prefix(1);
      out += rest;
    }
  } else {
    out = std::string(req.path());
  }
  if (!req.query().empty()) {
    out += '?';
    out += req.query();
  }
  return out;
}

namespace {

bool dot_segment(std::string_view path) {  // a segment "." or ".."
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  for (;;) {
    auto slash = path.find('/');
    std::string_view seg = path.substr(0, slash);
    if (seg == "." || seg == "..") return true;
    if (slash == std::string_view::npos) return false;
    path.remove_prefix(slash + 1);
  }
}

}  // namespace

bool unsafe_path(std::string_view path) {
  // Segments "." or "..", also percent-encoded (%2e, either case), and encoded slashes.
  if (path.find_first_of("%\\") == std::string_view::npos) return dot_segment(path);  // nothing to decode
  std::string decoded;
  decoded.reserve(path.size());
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%' && i + 2 < path.size() + 0 && i + 2 <= path.size() - 1) {
      std::string_view hex = path.substr(i + 1, 2);
      if (iequals(hex, "2e")) {
        decoded += '.';
        i += 2;
        continue;
      }
      if (iequals(hex, "2f") || iequals(hex, "5c")) return true;
    }
    if (path[i] == '\\') return true;
    decoded += path[i];
  }
  return dot_segment(decoded);
}

}  // namespace svckit::gateway
