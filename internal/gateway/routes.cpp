#include "routes.hpp"

#include <set>

#include "svckit/auth/key.hpp"
#include "svckit/config/config.hpp"
#include "svckit/config/layer.hpp"
#include "svckit/http/client.hpp"
#include "svckit/http/parser.hpp"

namespace svckit::gateway {

using namespace std::chrono_literals;

namespace {

bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
          c == '.'))
      return false;
  return true;
}

bool valid_token(std::string_view s) {  // an HTTP header name
  if (s.empty()) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) ||
          std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos))
      return false;
  return true;
}

bool valid_host_pattern(std::string_view h) {
  if (h.starts_with("*.")) h.remove_prefix(2);
  if (h.empty()) return false;
  for (char c : h)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == ':')) return false;
  return true;
}

// The `:name` segments of a template path.
std::set<std::string, std::less<>> template_params(std::string_view path) {
  std::set<std::string, std::less<>> out;
  std::size_t pos = 0;
  while ((pos = path.find("/:", pos)) != std::string_view::npos) {
    std::size_t end = path.find('/', pos + 1);
    out.emplace(path.substr(pos + 2, end == std::string_view::npos ? std::string_view::npos : end - pos - 2));
    pos += 1;
  }
  return out;
}

// An upstream list: one discovery:///service, or http://host:port URLs (no path).
Status check_upstream_list(std::string_view key, const std::vector<std::string>& list) {
  const std::string k(key);
  for (const auto& u : list) {
    auto url = http::parse_url(u);
    if (!url) return Status(Code::kInvalidArgument, k + ": " + std::string(url.error().message()));
    if (!url->service.empty() && list.size() > 1)
      return Status(Code::kInvalidArgument, k + ": a discovery:/// upstream stands alone");
    if (url->target != "/")
      return Status(Code::kInvalidArgument, k + ": \"" + u + "\" has a path; use rewrite for upstream paths");
  }
  return Status();
}

Status check_upstream(const RouteConfig& r) {
  if (r.upstream.empty())
    return Status(Code::kInvalidArgument, "upstream: required: discovery:///service or http:// URLs");
  return check_upstream_list("upstream", r.upstream);
}

Status check_mirror_canary(const RouteConfig& r) {
  if (Status st = check_upstream_list("mirror", r.mirror); !st.ok()) return st;
  if (r.mirror.empty() && r.mirror_percent > 0) return Status(Code::kInvalidArgument, "mirror_percent: needs mirror");
  if (r.mirror_timeout > r.timeout) return Status(Code::kInvalidArgument, "mirror_timeout: must not exceed timeout");
  if (Status st = check_upstream_list("canary_upstream", r.canary_upstream); !st.ok()) return st;
  if (!r.canary_version.empty()) {
    if (!r.canary_upstream.empty())
      return Status(Code::kInvalidArgument, "canary_version and canary_upstream: choose one");
    if (r.upstream.size() != 1 || !r.upstream.front().starts_with("discovery:///"))
      return Status(Code::kInvalidArgument,
                    "canary_version: needs a discovery:/// upstream (static upstreams: canary_upstream)");
  }
  const bool canary = !r.canary_version.empty() || !r.canary_upstream.empty();
  if (!canary && r.canary_weight > 0)
    return Status(Code::kInvalidArgument, "canary_weight: needs canary_version or canary_upstream");
  if (!canary && !r.canary_header.empty())
    return Status(Code::kInvalidArgument, "canary_header: needs canary_version or canary_upstream");
  if (!r.canary_header.empty() && !valid_token(r.canary_header))
    return Status(Code::kInvalidArgument, "canary_header: invalid header name \"" + r.canary_header + "\"");
  const std::string& key = r.canary_key;
  if (key != "user" && key != "client_ip" && key != "random" &&
      !(key.starts_with("header:") && valid_token(key.substr(7))))
    return Status(Code::kInvalidArgument, "canary_key: user, client_ip, header:NAME or random");
  return Status();
}

Status check_auth(const RouteConfig& r) {
  for (const auto& a : r.auth_algorithms)
    if (!auth::parse_algorithm(a))
      return Status(Code::kInvalidArgument, "auth_algorithms: \"" + a + "\" is not one of EdDSA, ES256, RS256, PS256");
  for (const auto& role : r.auth_roles)
    if (role.empty()) return Status(Code::kInvalidArgument, "auth_roles: an empty role");
  for (const auto& scope : r.auth_scopes)
    if (scope.empty()) return Status(Code::kInvalidArgument, "auth_scopes: an empty scope");
  if (r.auth == "jwt") return Status();
  // Policies of a token on a route that takes none would look enforced and not be.
  if (!r.auth_roles.empty()) return Status(Code::kInvalidArgument, "auth_roles: needs auth: jwt");
  if (!r.auth_scopes.empty()) return Status(Code::kInvalidArgument, "auth_scopes: needs auth: jwt");
  if (!r.auth_algorithms.empty()) return Status(Code::kInvalidArgument, "auth_algorithms: needs auth: jwt");
  if (r.auth_optional) return Status(Code::kInvalidArgument, "auth_optional: needs auth: jwt");
  if (r.rate_limit_key == "user") return Status(Code::kInvalidArgument, "rate_limit_key: user needs auth: jwt");
  return Status();
}

Status check_route(const RouteConfig& r) {
  if (r.path.empty() || r.path.front() != '/') return Status(Code::kInvalidArgument, "path: must start with /");
  if (r.path_type != PathType::kTemplate && r.path.find("/:") != std::string::npos)
    return Status(Code::kInvalidArgument, "path: `:name` segments need path_type: template");
  if (r.strip_prefix && r.path_type != PathType::kPrefix)
    return Status(Code::kInvalidArgument, "strip_prefix: only for path_type: prefix");
  if (r.strip_prefix && !r.rewrite.empty())
    return Status(Code::kInvalidArgument, "strip_prefix and rewrite: choose one");
  if (!r.rewrite.empty()) {
    if (r.rewrite.front() != '/') return Status(Code::kInvalidArgument, "rewrite: must start with /");
    auto have = template_params(r.path_type == PathType::kTemplate ? r.path : std::string_view());
    for (const auto& p : template_params(r.rewrite))
      if (!have.contains(p)) return Status(Code::kInvalidArgument, "rewrite: :" + p + " is not a parameter of path");
  }
  for (const auto& m : r.methods)
    if (http::parse_method(m) == http::Method::kOther && m != "*")
      return Status(Code::kInvalidArgument, "methods: unknown method \"" + m + "\"");
  for (const auto& h : r.hosts)
    if (!valid_host_pattern(h)) return Status(Code::kInvalidArgument, "hosts: invalid host \"" + h + "\"");
  for (const auto& [k, v] : r.headers)
    if (!valid_token(k)) return Status(Code::kInvalidArgument, "headers: invalid header name \"" + k + "\"");
  for (const auto& o : r.retry_on) {
    if (o == "connect-failure" || o == "timeout" || o == "reset") continue;
    int code = 0;
    auto [p, ec] = std::from_chars(o.data(), o.data() + o.size(), code);
    if (ec != std::errc() || p != o.data() + o.size() || code < 500 || code > 599)
      return Status(Code::kInvalidArgument,
                    "retry_on: \"" + o + "\" is not connect-failure, timeout, reset or a 5xx status");
  }
  if (r.rate_limit_key != "route" && r.rate_limit_key != "client_ip" && r.rate_limit_key != "user" &&
      !(r.rate_limit_key.starts_with("header:") && valid_token(r.rate_limit_key.substr(7))))
    return Status(Code::kInvalidArgument, "rate_limit_key: route, client_ip, header:NAME or user");
  if (!r.rate_limit_redis.empty() && r.rate_limit_key != "route")
    return Status(Code::kInvalidArgument, "rate_limit_redis: only with rate_limit_key: route");
  if (r.try_timeout > r.timeout) return Status(Code::kInvalidArgument, "try_timeout: must not exceed timeout");
  if (r.retry_max_backoff < r.retry_backoff)
    return Status(Code::kInvalidArgument, "retry_max_backoff: must not be below retry_backoff");
  if (Status st = check_auth(r); !st.ok()) return st;
  if (Status st = check_mirror_canary(r); !st.ok()) return st;
  return check_upstream(r);
}

}  // namespace

void RouteConfig::describe(config::Binder<RouteConfig>& b) {
  b.field("name", &RouteConfig::name)
      .required()
      .check([](const std::string& s) { return valid_name(s); }, "1-64 of [A-Za-z0-9._-]");
  b.field("priority", &RouteConfig::priority).range(-1000000, 1000000).doc("higher first; ties keep file order");
  b.field("hosts", &RouteConfig::hosts).doc("exact or *.suffix; empty matches any Host");
  b.field("path", &RouteConfig::path).non_empty();
  b.field("path_type", &RouteConfig::path_type);
  b.field("methods", &RouteConfig::methods);
  b.field("headers", &RouteConfig::headers).doc("header: value, or * for present");
  b.field("upstream", &RouteConfig::upstream);
  b.field("strip_prefix", &RouteConfig::strip_prefix);
  b.field("rewrite", &RouteConfig::rewrite);
  b.field("preserve_host", &RouteConfig::preserve_host);
  b.field("websocket", &RouteConfig::websocket);
  b.field("timeout", &RouteConfig::timeout).range(1ms, 24h);
  b.field("try_timeout", &RouteConfig::try_timeout).range(0ms, 24h);
  b.bytes("max_body", &RouteConfig::max_body).range(0, 1ull << 40);
  b.field("retries", &RouteConfig::retries).range(0, 10);
  b.field("retry_on", &RouteConfig::retry_on);
  b.field("retry_backoff", &RouteConfig::retry_backoff).range(0ms, 1min);
  b.field("retry_max_backoff", &RouteConfig::retry_max_backoff).range(0ms, 5min);
  b.field("retry_budget", &RouteConfig::retry_budget).range(0.0, 10.0);
  b.field("retry_non_idempotent", &RouteConfig::retry_non_idempotent);
  b.field("rate_limit", &RouteConfig::rate_limit).range(0.0, 1e9);
  b.field("rate_burst", &RouteConfig::rate_burst).range(0.0, 1e9);
  b.field("rate_limit_key", &RouteConfig::rate_limit_key);
  b.field("rate_limit_redis", &RouteConfig::rate_limit_redis);
  b.field("breaker_failures", &RouteConfig::breaker_failures).range(0, 1000000);
  b.field("breaker_open_for", &RouteConfig::breaker_open_for).range(1ms, 1h);
  b.field("cors_origins", &RouteConfig::cors_origins);
  b.field("cors_methods", &RouteConfig::cors_methods);
  b.field("cors_headers", &RouteConfig::cors_headers);
  b.field("cors_expose", &RouteConfig::cors_expose);
  b.field("cors_credentials", &RouteConfig::cors_credentials);
  b.field("cors_max_age", &RouteConfig::cors_max_age).range(0s, 24h);
  b.field("auth", &RouteConfig::auth).one_of({"none", "jwt"});
  b.field("auth_roles", &RouteConfig::auth_roles).doc("any of these roles");
  b.field("auth_scopes", &RouteConfig::auth_scopes).doc("all of these scopes");
  b.field("auth_algorithms", &RouteConfig::auth_algorithms).doc("a subset of gateway_auth.algorithms");
  b.field("auth_optional", &RouteConfig::auth_optional).doc("requests without a token pass, without identity");
  b.field("auth_forward_token", &RouteConfig::auth_forward_token).doc("send Authorization upstream");
  b.field("mirror", &RouteConfig::mirror).doc("shadow upstream: discovery:///service or http:// URLs");
  b.field("mirror_percent", &RouteConfig::mirror_percent).range(0.0, 100.0).doc("share of requests copied");
  b.bytes("mirror_max_body", &RouteConfig::mirror_max_body).range(0, 64ull << 20).doc("larger bodies: no copy");
  b.field("mirror_timeout", &RouteConfig::mirror_timeout).range(0ms, 24h).doc("0: try_timeout, else timeout");
  b.field("mirror_max_in_flight", &RouteConfig::mirror_max_in_flight).range(1, 100000);
  b.field("canary_upstream", &RouteConfig::canary_upstream).doc("the canary set: same syntax as upstream");
  b.field("canary_version", &RouteConfig::canary_version).doc("discovery:/// upstreams: the canary's version");
  b.field("canary_weight", &RouteConfig::canary_weight).range(0.0, 100.0).doc("share of keys to the canary");
  b.field("canary_header", &RouteConfig::canary_header).doc("value always or never overrides the split");
  b.field("canary_key", &RouteConfig::canary_key).doc("user, client_ip, header:NAME or random");
  b.validate(check_route);
}

void RoutesFile::describe(config::Binder<RoutesFile>& b) {
  b.field("routes", &RoutesFile::routes);
  b.validate([](const RoutesFile& f) {
    std::set<std::string, std::less<>> names;
    for (const auto& r : f.routes)
      if (!names.insert(r.name).second)
        return Status(Code::kInvalidArgument, "routes: name \"" + r.name + "\" repeats");
    return Status();
  });
}

namespace {
Result<RoutesFile> bind_routes(config::Layer layer) {
  std::vector<std::string> errors;
  for (const auto& [key, e] : layer)
    if (key != "routes" && !key.starts_with("routes."))
      errors.push_back(key + ": unknown key (" + e.origin.to_string() + ")");
  if (!errors.empty()) return std::unexpected(config::detail::join_errors(errors));
  config::Snapshot snap;
  snap.values = std::move(layer);
  return config::bind<RoutesFile>(snap, "");
}
}  // namespace

Result<RoutesFile> load_routes(const std::string& path) {
  auto layer = config::load_file(path);
  if (!layer) return std::unexpected(layer.error());
  return bind_routes(std::move(*layer));
}

Result<RoutesFile> parse_routes(std::string_view yaml, const std::string& source_name) {
  auto layer = config::parse_yaml(yaml, source_name);
  if (!layer) return std::unexpected(layer.error());
  return bind_routes(std::move(*layer));
}

void UpstreamTls::describe(config::Binder<UpstreamTls>& b) {
  b.field("address", &UpstreamTls::address).non_empty().doc("host:port of an https upstream");
  b.section("", &UpstreamTls::tls);
}

void GatewaySettings::describe(config::Binder<GatewaySettings>& b) {
  b.field("routes_file", &GatewaySettings::routes_file).non_empty().doc("relative paths from the service root");
  b.field("reload_interval", &GatewaySettings::reload_interval).range(10ms, 1h);
  b.field("trusted_proxies", &GatewaySettings::trusted_proxies).doc("addresses or IPv4 CIDRs");
  b.field("upstream_max_connections", &GatewaySettings::upstream_max_connections).range(1, 100000);
  b.field("upstream_max_idle", &GatewaySettings::upstream_max_idle).range(0, 100000);
  b.field("upstream_idle_timeout", &GatewaySettings::upstream_idle_timeout).range(1ms, 1h);
  b.section("upstream_tls", &GatewaySettings::upstream_tls);
  b.field("upstream_tls_hosts", &GatewaySettings::upstream_tls_hosts)
      .doc("per upstream address: {address: host:port, ca_file, cert_file, key_file, server_name, verify}");
  b.field("auth_cache_size", &GatewaySettings::auth_cache_size).range(0, 10000000).doc("verified tokens remembered");
  b.field("auth_cache_ttl", &GatewaySettings::auth_cache_ttl).range(1s, 24h).doc("longest a token stays verified");
  b.field("auth_retry_after", &GatewaySettings::auth_retry_after)
      .range(1s, 1h)
      .doc("Retry-After of 503 KEYS_UNAVAILABLE");
}

}  // namespace svckit::gateway
