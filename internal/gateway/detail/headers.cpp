#include "headers.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <optional>

#include "svckit/core/strings.hpp"

namespace svckit::gateway::detail {

namespace {

std::optional<std::uint32_t> ipv4(std::string_view s) {
  std::string text(s);
  in_addr a{};
  if (::inet_pton(AF_INET, text.c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void add_tokens(std::string_view value, std::vector<std::string>& out) {
  while (!value.empty()) {
    auto comma = value.find(',');
    std::string_view t = value.substr(0, comma);
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
    if (!t.empty()) out.push_back(lower(t));
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

// Fields the gateway (or its HTTP client) writes itself, dropped from what the client sent.
bool rewritten(std::string_view name) {
  static constexpr std::string_view kOwn[] = {"host",         "content-length", "expect",      "x-request-timeout-ms",
                                              "x-request-id", "traceparent",    "b3",          "uber-trace-id",
                                              "baggage",      "x-b3-traceid",   "x-b3-spanid", "x-b3-parentspanid",
                                              "x-b3-sampled", "x-b3-flags",     "x-mirror"};
  for (auto k : kOwn)
    if (iequals(name, k)) return true;
  return false;
}

}  // namespace

bool identity_field(std::string_view name) {
  return name.size() >= 7 && iequals(name.substr(0, 7), "x-user-");
}

namespace {

bool forwarding(std::string_view name) {
  return iequals(name, "x-forwarded-for") || iequals(name, "x-forwarded-proto") || iequals(name, "x-forwarded-host") ||
         iequals(name, "forwarded") || iequals(name, "x-real-ip");
}

// A Forwarded node: IPv6 quoted and bracketed (RFC 7239 §6).
std::string forwarded_node(std::string_view address) {
  if (address.find(':') != std::string_view::npos) return "\"[" + std::string(address) + "]\"";
  return std::string(address);
}

std::string forwarded_value(std::string_view v) {  // a token, or a quoted string
  for (char c : v)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == ':'))
      return "\"" + std::string(v) + "\"";
  return std::string(v);
}

}  // namespace

TrustedProxies::TrustedProxies(const std::vector<std::string>& entries) {
  for (const auto& e : entries) {
    auto slash = e.find('/');
    if (slash == std::string::npos) {
      exact_.push_back(e);
      continue;
    }
    auto net = ipv4(std::string_view(e).substr(0, slash));
    int bits = 0;
    auto tail = std::string_view(e).substr(slash + 1);
    auto r = std::from_chars(tail.data(), tail.data() + tail.size(), bits);
    if (!net || r.ec != std::errc() || bits < 0 || bits > 32) continue;
    std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
    cidrs_.emplace_back(*net & mask, mask);
  }
}

bool TrustedProxies::contains(std::string_view address) const {
  for (const auto& e : exact_)
    if (e == address) return true;
  if (cidrs_.empty()) return false;
  auto a = ipv4(address);
  if (!a) return false;
  for (auto [net, mask] : cidrs_)
    if ((*a & mask) == net) return true;
  return false;
}

std::vector<std::string> connection_tokens(const http::Request& req) {
  std::vector<std::string> out;
  for (auto it = req.headers_begin(); it != req.headers_end(); ++it)
    if (iequals(it->name, "connection")) add_tokens(it->value, out);
  return out;
}

std::vector<std::string> connection_tokens(const Headers& headers) {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers)
    if (iequals(k, "connection")) add_tokens(v, out);
  return out;
}

bool hop_by_hop(std::string_view name, const std::vector<std::string>& tokens) {
  if (iequals(name, "connection") || iequals(name, "keep-alive") || iequals(name, "te") || iequals(name, "trailer") ||
      iequals(name, "transfer-encoding") || iequals(name, "upgrade"))
    return true;
  if (name.size() >= 6 && iequals(name.substr(0, 6), "proxy-")) return true;
  for (const auto& t : tokens)
    if (iequals(name, t)) return true;
  return false;
}

Headers upstream_request_headers(const http::Request& req, const ForwardInfo& info) {
  Headers out;
  out.reserve(static_cast<std::size_t>(req.headers_end() - req.headers_begin()) + 6);
  const auto tokens = connection_tokens(req);
  std::string xff, xfp, xfh, fwd;
  for (auto it = req.headers_begin(); it != req.headers_end(); ++it) {
    std::string_view name = it->name, value = it->value;
    if (hop_by_hop(name, tokens)) continue;
    if (forwarding(name)) {
      if (!info.trusted_peer) continue;  // an untrusted peer's claims are dropped
      std::string* into = iequals(name, "x-forwarded-for")     ? &xff
                          : iequals(name, "x-forwarded-proto") ? &xfp
                          : iequals(name, "x-forwarded-host")  ? &xfh
                          : iequals(name, "forwarded")         ? &fwd
                                                               : nullptr;
      if (!into) {
        out.emplace_back(std::string(name), std::string(value));  // X-Real-IP from a trusted proxy
        continue;
      }
      if (into == &xfp || into == &xfh) {
        if (into->empty()) *into = std::string(value);  // the first proxy's view of the original
      } else {
        if (!into->empty()) *into += ", ";
        *into += value;
      }
      continue;
    }
    if (rewritten(name) || identity_field(name)) continue;
    if (info.drop_authorization && iequals(name, "authorization")) continue;
    out.emplace_back(std::string(name), std::string(value));
  }
  std::string_view peer = req.remote_address();
  std::string_view host = req.header("Host");
  if (info.preserve_host && !host.empty()) out.emplace_back("Host", std::string(host));
  if (!xff.empty()) xff += ", ";
  xff += peer;
  out.emplace_back("X-Forwarded-For", std::move(xff));
  const char* proto = req.tls() ? "https" : "http";  // how the client reached this gateway
  out.emplace_back("X-Forwarded-Proto", xfp.empty() ? std::string(proto) : xfp);
  if (!xfh.empty() || !host.empty()) out.emplace_back("X-Forwarded-Host", xfh.empty() ? std::string(host) : xfh);
  if (!fwd.empty()) fwd += ", ";
  fwd += "for=" + forwarded_node(peer);
  if (!host.empty()) fwd += ";host=" + forwarded_value(host);
  fwd += ";proto=";
  fwd += proto;
  out.emplace_back("Forwarded", std::move(fwd));
  if (!info.request_id.empty()) out.emplace_back("X-Request-Id", std::string(info.request_id));
  if (info.identity) out.insert(out.end(), info.identity->begin(), info.identity->end());
  if (info.upgrade) {
    out.emplace_back("Connection", "Upgrade");
    out.emplace_back("Upgrade", std::string(req.header("Upgrade")));
  }
  return out;
}

void copy_response_headers(const Headers& upstream, int status, http::Response& res) {
  const auto tokens = connection_tokens(upstream);
  for (const auto& [k, v] : upstream) {
    if (status == 101 && iequals(k, "upgrade")) {
      res.add_header(k, v);
      continue;
    }
    if (hop_by_hop(k, tokens)) continue;
    if (iequals(k, "content-length") || iequals(k, "date") || iequals(k, "server")) continue;
    // The gateway's own request id (set by the request_id middleware) stays the one answered.
    if (iequals(k, "x-request-id") && !res.header("X-Request-Id").empty()) continue;
    res.add_header(k, v);
  }
  if (status == 101) res.add_header("Connection", "Upgrade");
}

}  // namespace svckit::gateway::detail
