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
void append_forwarded_node(std::string& out, std::string_view address) {
  if (address.find(':') == std::string_view::npos) {
    out += address;
    return;
  }
  out += "\"[";
  out += address;
  out += "]\"";
}

void append_forwarded_value(std::string& out, std::string_view v) {  // a token, or a quoted string
  for (char c : v)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == ':')) {
      out += '"';
      out += v;
      out += '"';
      return;
    }
  out += v;
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
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

void ConnectionTokens::add_field(std::string_view value) {
  if (count_ < fields_.size())
    fields_[count_++] = value;
  else
    more_.push_back(value);
}

bool ConnectionTokens::contains(std::string_view name) const noexcept {
  auto listed = [&](std::string_view value) {
    while (!value.empty()) {
      auto comma = value.find(',');
      std::string_view t = value.substr(0, comma);
      while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
      while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
      if (!t.empty() && iequals(t, name)) return true;
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
    return false;
  };
  for (std::size_t i = 0; i < count_; ++i)
    if (listed(fields_[i])) return true;
  for (auto v : more_)
    if (listed(v)) return true;
  return false;
}

ConnectionTokens connection_tokens(const http::Request& req) {
  ConnectionTokens out;
  for (auto it = req.headers_begin(); it != req.headers_end(); ++it)
    if (iequals(it->name, "connection")) out.add_field(it->value);
  return out;
}

ConnectionTokens connection_tokens(const Headers& headers) {
  ConnectionTokens out;
  for (const auto& [k, v] : headers)
    if (iequals(k, "connection")) out.add_field(v);
  return out;
}

bool hop_by_hop(std::string_view name, const ConnectionTokens& tokens) {
  if (iequals(name, "connection") || iequals(name, "keep-alive") || iequals(name, "te") || iequals(name, "trailer") ||
      iequals(name, "transfer-encoding") || iequals(name, "upgrade"))
    return true;
  if (name.size() >= 6 && iequals(name.substr(0, 6), "proxy-")) return true;
  return tokens.contains(name);
}

void upstream_request_headers(const http::Request& req, const ForwardInfo& info, std::string& out) {
  const auto tokens = connection_tokens(req);
  // Trusted peers' forwarding fields: the chains are joined (views while there is one value each).
  std::string_view xfp, xfh;
  std::string xff, fwd;
  for (auto it = req.headers_begin(); it != req.headers_end(); ++it) {
    std::string_view name = it->name, value = it->value;
    if (hop_by_hop(name, tokens)) continue;
    if (forwarding(name)) {
      if (!info.trusted_peer) continue;  // an untrusted peer's claims are dropped
      if (iequals(name, "x-forwarded-proto")) {
        if (xfp.empty()) xfp = value;  // the first proxy's view of the original
      } else if (iequals(name, "x-forwarded-host")) {
        if (xfh.empty()) xfh = value;
      } else if (iequals(name, "x-forwarded-for") || iequals(name, "forwarded")) {
        std::string& into = iequals(name, "forwarded") ? fwd : xff;
        if (!into.empty()) into += ", ";
        into += value;
      } else {
        append_field(out, name, value);  // X-Real-IP from a trusted proxy
      }
      continue;
    }
    if (rewritten(name) || identity_field(name)) continue;
    if (info.drop_authorization && iequals(name, "authorization")) continue;
    append_field(out, name, value);
  }
  std::string_view peer = req.remote_address();
  std::string_view host = req.header("Host");
  if (info.preserve_host && !host.empty()) append_field(out, "Host", host);
  out += "X-Forwarded-For: ";
  if (!xff.empty()) {
    out += xff;
    out += ", ";
  }
  out += peer;
  out += "\r\n";
  const std::string_view proto = req.tls() ? "https" : "http";  // how the client reached this gateway
  append_field(out, "X-Forwarded-Proto", xfp.empty() ? proto : xfp);
  if (!xfh.empty() || !host.empty()) append_field(out, "X-Forwarded-Host", xfh.empty() ? host : xfh);
  out += "Forwarded: ";
  if (!fwd.empty()) {
    out += fwd;
    out += ", ";
  }
  out += "for=";
  append_forwarded_node(out, peer);
  if (!host.empty()) {
    out += ";host=";
    append_forwarded_value(out, host);
  }
  out += ";proto=";
  out += proto;
  out += "\r\n";
  if (!info.request_id.empty()) append_field(out, "X-Request-Id", info.request_id);
  if (info.identity)
    for (const auto& [k, v] : *info.identity) append_field(out, k, v);
  if (info.upgrade) {
    append_field(out, "Connection", "Upgrade");
    append_field(out, "Upgrade", req.header("Upgrade"));
  }
}

namespace {
thread_local std::vector<std::string> t_buffers;
}  // namespace

std::string take_buffer() {
  if (t_buffers.empty()) {
    std::string fresh;
    fresh.reserve(512);
    return fresh;
  }
  std::string b = std::move(t_buffers.back());
  t_buffers.pop_back();
  return b;
}

void give_back_buffer(std::string&& buffer) {
  constexpr std::size_t kKept = 256, kLargest = 16 * 1024;  // a huge one is not kept
  if (t_buffers.size() >= kKept || buffer.capacity() > kLargest) return;
  buffer.clear();
  t_buffers.push_back(std::move(buffer));
}

Headers parse_wire_headers(std::string_view wire) {
  Headers out;
  while (!wire.empty()) {
    auto eol = wire.find("\r\n");
    std::string_view line = wire.substr(0, eol);
    if (auto colon = line.find(": "); colon != std::string_view::npos)
      out.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 2)));
    if (eol == std::string_view::npos) break;
    wire.remove_prefix(eol + 2);
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
