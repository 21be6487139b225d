#include "svckit/http/middleware.hpp"

#include <arpa/inet.h>

#include <random>

namespace svckit::http::middleware {

Middleware recovery(log::Logger logger) {
  return [logger](Request& req, Response& res, Next next) -> Task<void> {
    std::string what;
    try {
      co_await next(req, res);
      co_return;
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
      what = "non-standard exception";
    }
    logger.error(req.ctx, "panic recovered: handler threw",
                 {{"error", what}, {"method", req.method_text()}, {"route", req.route()}, {"path", req.path()}});
    res.reset();
    res.error(Status(Code::kInternal, "internal error"));
  };
}

namespace {
bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

std::string new_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}() ^ (static_cast<std::uint64_t>(std::random_device{}()) << 32)};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  std::uint64_t a = rng(), b = rng();
  for (int i = 0; i < 16; ++i) {
    id[i] = kHex[(a >> (i * 4)) & 0xf];
    id[16 + i] = kHex[(b >> (i * 4)) & 0xf];
  }
  return id;
}
}  // namespace

Middleware request_id() {
  return [](Request& req, Response& res, Next next) -> Task<void> {
    std::string_view incoming = req.header("X-Request-Id");
    std::string id = valid_request_id(incoming) ? std::string(incoming) : new_request_id();
    res.set_header("X-Request-Id", id);
    req.ctx = req.ctx.with_log_field("request_id", id);
    co_await next(req, res);
    if (res.header("X-Request-Id").empty()) res.set_header("X-Request-Id", id);  // survived a reset()
  };
}

Middleware access_log(log::Logger logger) {
  return [logger](Request& req, Response& res, Next next) -> Task<void> {
    auto start = Clock::now();
    co_await next(req, res);
    auto elapsed = Clock::now() - start;
    log::Level level = res.status >= 500 ? log::Level::kError : (res.status >= 400 ? log::Level::kWarn : log::Level::kInfo);
    logger.log(level, req.ctx, "http request",
               {{"method", req.method_text()},
                {"path", req.path()},
                {"route", req.route()},
                {"status", res.status},
                {"bytes", res.body.size()},
                {"duration", elapsed},
                {"client_ip", req.client_ip()}});
  };
}

namespace {
struct Cidr {
  std::uint32_t net = 0, mask = 0;
  std::string exact;
};

bool parse_ipv4(std::string_view s, std::uint32_t& out) {
  std::string tmp(s);
  in_addr a{};
  if (inet_pton(AF_INET, tmp.c_str(), &a) != 1) return false;
  out = ntohl(a.s_addr);
  return true;
}

bool trusted(const std::vector<Cidr>& list, std::string_view ip) {
  std::uint32_t v = 0;
  bool v4 = parse_ipv4(ip, v);
  for (auto& c : list) {
    if (!c.exact.empty()) {
      if (c.exact == ip) return true;
    } else if (v4 && (v & c.mask) == c.net) {
      return true;
    }
  }
  return false;
}
}  // namespace

Middleware real_ip(std::vector<std::string> trusted_proxies) {
  std::vector<Cidr> list;
  for (auto& p : trusted_proxies) {
    Cidr c;
    auto slash = p.find('/');
    std::uint32_t net = 0;
    if (slash != std::string::npos && parse_ipv4(std::string_view(p).substr(0, slash), net)) {
      int bits = std::stoi(p.substr(slash + 1));
      c.mask = bits <= 0 ? 0 : (bits >= 32 ? 0xffffffffu : ~((1u << (32 - bits)) - 1));
      c.net = net & c.mask;
    } else {
      c.exact = p;
    }
    list.push_back(std::move(c));
  }
  return [list = std::move(list)](Request& req, Response& res, Next next) -> Task<void> {
    if (trusted(list, req.remote_address())) {
      std::string_view xff = req.header("X-Forwarded-For");
      std::string client;
      // Walk from the right: the first hop we do not trust is the client.
      while (!xff.empty()) {
        auto comma = xff.rfind(',');
        std::string_view hop = comma == std::string_view::npos ? xff : xff.substr(comma + 1);
        while (!hop.empty() && hop.front() == ' ') hop.remove_prefix(1);
        while (!hop.empty() && hop.back() == ' ') hop.remove_suffix(1);
        client = std::string(hop);
        if (!trusted(list, hop)) break;
        if (comma == std::string_view::npos) break;
        xff = xff.substr(0, comma);
      }
      if (client.empty()) client = std::string(req.header("X-Real-IP"));
      if (!client.empty()) req.set_client_ip(std::move(client));
    }
    co_await next(req, res);
  };
}

}  // namespace svckit::http::middleware
