#include "svckit/discovery/detail/dns_config.hpp"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace svckit::discovery::detail::dns {

namespace {

bool is_ipv4(const std::string& s) {
  in_addr a{};
  return ::inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool is_ipv6(const std::string& s) {
  in6_addr a{};
  std::string plain = s.substr(0, s.find('%'));  // a scope (fe80::1%eth0) is Asio's to resolve
  return ::inet_pton(AF_INET6, plain.c_str(), &a) == 1;
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

std::string without_dot(std::string_view s) {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return std::string(s);
}

bool valid_label(std::string_view l, bool underscore) {
  if (l.empty() || l.size() > 63) return false;
  return std::all_of(l.begin(), l.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           (underscore && c == '_');
  });
}

bool valid_scheme(std::string_view s) {
  if (s.empty() || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
  });
}

Status bad_item(std::string_view item, std::string_view why) {
  return Status(Code::kInvalidArgument, "\"" + std::string(item) + "\": " + std::string(why));
}

Status duplicate(const std::vector<PortSpec>& out, std::string_view item) {
  for (std::size_t i = 0; i + 1 < out.size(); ++i)
    if (out[i].scheme == out.back().scheme) return bad_item(item, "the scheme is listed twice");
  return Status();
}

}  // namespace

std::string to_string(const Server& s) {
  bool v6 = s.address.find(':') != std::string::npos;
  return (v6 ? "[" + s.address + "]" : s.address) + ":" + std::to_string(s.port);
}

Result<Server> parse_server(std::string_view text) {
  auto invalid = [&] {
    return make_error(Code::kInvalidArgument,
                      "DNS server \"" + std::string(text) + "\": expected an IP address with an optional :port");
  };
  Server s;
  std::string_view host = text;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return invalid();
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return invalid();
      port = rest.substr(1);
      if (port.empty()) return invalid();
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    auto colon = text.find(':');
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (port.empty()) return invalid();
  }
  s.address = std::string(host);
  if (!is_ipv4(s.address) && !is_ipv6(s.address)) return invalid();
  if (!port.empty()) {
    unsigned p = 0;
    auto r = std::from_chars(port.data(), port.data() + port.size(), p);
    if (r.ec != std::errc() || r.ptr != port.data() + port.size() || p == 0 || p > 65535) return invalid();
    s.port = static_cast<std::uint16_t>(p);
  }
  return s;
}

ResolvConf parse_resolv_conf(std::string_view text) {
  ResolvConf rc;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    auto w = words(line);
    if (w.size() < 2) continue;
    if (w[0] == "nameserver") {
      if (rc.nameservers.size() >= 3) continue;
      // glibc reads the address alone: no port, no brackets.
      std::string addr(w[1]);
      if (is_ipv4(addr) || is_ipv6(addr)) rc.nameservers.push_back(Server{addr, 53});
    } else if (w[0] == "domain" || w[0] == "search") {
      rc.search.clear();
      rc.has_search = true;
      for (std::size_t i = 1; i < w.size(); ++i) {
        if (w[i].front() == '#' || w[i].front() == ';') break;
        rc.search.push_back(without_dot(w[i]));
        if (w[0] == "domain") break;
      }
    } else if (w[0] == "options") {
      for (std::size_t i = 1; i < w.size(); ++i) {
        if (!w[i].starts_with("ndots:")) continue;
        std::string_view v = w[i].substr(6);
        int n = 0;
        auto r = std::from_chars(v.data(), v.data() + v.size(), n);
        if (r.ec == std::errc() && n >= 0) rc.ndots = std::min(n, 15);
      }
    }
  }
  return rc;
}

Result<ResolvConf> read_resolv_conf(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(Code::kUnavailable, "cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  ResolvConf rc = parse_resolv_conf(text.str());
  if (!rc.has_search) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0)
      if (const char* dot = std::strchr(host, '.'); dot && dot[1]) rc.search.push_back(without_dot(dot + 1));
  }
  return rc;
}

std::vector<std::string> search_names(std::string_view name, const std::vector<std::string>& search, int ndots) {
  std::vector<std::string> out;
  const bool trailing_dot = !name.empty() && name.back() == '.';
  const auto dots = std::count(name.begin(), name.end(), '.');
  const std::string base = without_dot(name);
  auto add = [&](std::string n) {
    if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(std::move(n));
  };
  if (trailing_dot) return {base};
  bool tried_as_is = false;
  if (dots >= ndots) {
    add(base);
    tried_as_is = true;
  }
  bool root_on_list = false;
  for (const std::string& domain : search) {
    if (domain.empty() || domain == ".") root_on_list = true;
    if (root_on_list && tried_as_is) continue;
    add(domain.empty() || domain == "." ? base : base + "." + domain);
  }
  if (!tried_as_is && !root_on_list) add(base);
  return out;
}

bool valid_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return false;
  while (!name.empty()) {
    auto dot = name.find('.');
    if (!valid_label(name.substr(0, dot), true)) return false;
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
    if (name.empty()) return false;
  }
  return true;
}

Result<std::string> expand_name(std::string_view tmpl, std::string_view service) {
  std::string out;
  constexpr std::string_view kPlaceholder = "{service}";
  for (;;) {
    auto at = tmpl.find(kPlaceholder);
    out += tmpl.substr(0, at);
    if (at == std::string_view::npos) break;
    out += service;
    tmpl.remove_prefix(at + kPlaceholder.size());
  }
  if (!valid_name(out))
    return make_error(Code::kInvalidArgument,
                      "service \"" + std::string(service) + "\" gives \"" + out + "\", which is not a DNS name");
  return out;
}

Result<std::vector<PortSpec>> parse_ports(const std::vector<std::string>& items) {
  std::vector<PortSpec> out;
  for (const std::string& item : items) {
    auto colon = item.find(':');
    if (colon == std::string::npos) return std::unexpected(bad_item(item, "expected scheme:port, e.g. http:8080"));
    PortSpec p;
    p.scheme = item.substr(0, colon);
    if (!valid_scheme(p.scheme)) return std::unexpected(bad_item(item, "the scheme is not a URL scheme"));
    std::string_view port = std::string_view(item).substr(colon + 1);
    unsigned n = 0;
    auto r = std::from_chars(port.data(), port.data() + port.size(), n);
    if (port.empty() || r.ec != std::errc() || r.ptr != port.data() + port.size() || n == 0 || n > 65535)
      return std::unexpected(bad_item(item, "the port must be 1..65535"));
    p.port = static_cast<std::uint16_t>(n);
    out.push_back(std::move(p));
    if (Status st = duplicate(out, item); !st.ok()) return std::unexpected(st);
  }
  return out;
}

Result<std::vector<PortSpec>> parse_srv_ports(const std::vector<std::string>& items) {
  std::vector<PortSpec> out;
  for (const std::string& item : items) {
    auto colon = item.find(':');
    PortSpec p;
    p.scheme = item.substr(0, colon);
    p.port_name = colon == std::string::npos ? p.scheme : item.substr(colon + 1);
    if (!valid_scheme(p.scheme)) return std::unexpected(bad_item(item, "the scheme is not a URL scheme"));
    if (!valid_label(p.port_name, false))
      return std::unexpected(bad_item(item, "the port name must be letters, digits and '-' (1..63)"));
    out.push_back(std::move(p));
    if (Status st = duplicate(out, item); !st.ok()) return std::unexpected(st);
  }
  return out;
}

}  // namespace svckit::discovery::detail::dns
