#include "svckit/http/middleware.hpp"

#include <arpa/inet.h>
#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <random>
#include <unordered_map>

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

// A request id as a context value, rendered into the log line only when one is written: no string
// is built for it per request. Ids longer than the buffer (valid up to 128) are log fields instead.
struct RequestIdValue {
  char id[64];
  std::uint8_t len;
};
void render_request_id(const RequestIdValue& v, RenderedLogFields& out) {
  out.fields[0] = {"request_id", std::string_view(v.id, v.len)};
  out.size = 1;
  out.plain = true;  // valid_request_id's alphabet
}

void new_request_id(RequestIdValue& v) {
  thread_local std::mt19937_64 rng{std::random_device{}() ^ (static_cast<std::uint64_t>(std::random_device{}()) << 32)};
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint64_t a = rng(), b = rng();
  for (int i = 0; i < 16; ++i) {
    v.id[i] = kHex[(a >> (i * 4)) & 0xf];
    v.id[16 + i] = kHex[(b >> (i * 4)) & 0xf];
  }
  v.len = 32;
}
}  // namespace

Middleware request_id() {
  return [](Request& req, Response& res, Next next) -> Task<void> {
    std::string_view incoming = req.header("X-Request-Id");
    RequestIdValue v;
    std::string_view id;
    if (!valid_request_id(incoming)) {
      new_request_id(v);
      id = std::string_view(v.id, v.len);
      req.ctx = req.ctx.with_value<RequestIdValue, render_request_id>(v);
    } else if (incoming.size() <= sizeof v.id) {
      std::memcpy(v.id, incoming.data(), incoming.size());
      v.len = static_cast<std::uint8_t>(incoming.size());
      id = incoming;
      req.ctx = req.ctx.with_value<RequestIdValue, render_request_id>(v);
    } else {
      id = incoming;
      req.ctx = req.ctx.with_log_field("request_id", std::string(incoming));
    }
    res.set_header("X-Request-Id", id);
    co_await next(req, res);
    if (res.header("X-Request-Id").empty()) res.set_header("X-Request-Id", id);  // survived a reset()
  };
}

namespace {

struct HttpMetrics {
  metrics::CounterVec& requests;
  metrics::HistogramVec& duration;
  metrics::Gauge in_flight;
};

struct SeriesKey {
  const void* owner;
  const char* route;  // route templates live as long as the router: their address is their identity
  std::size_t route_size;
  Method method;
  int status;
  bool operator==(const SeriesKey&) const = default;
};
struct SeriesKeyHash {
  std::size_t operator()(const SeriesKey& k) const noexcept {
    std::size_t h = std::hash<const void*>()(k.owner) ^ (std::hash<const void*>()(k.route) * 31);
    return h ^ (static_cast<std::size_t>(k.method) << 20) ^ (static_cast<std::size_t>(k.status) << 4) ^ k.route_size;
  }
};

std::string_view method_label(Method m) {
  return m == Method::kOther ? std::string_view("OTHER") : method_name(m);
}

}  // namespace

Middleware metrics(metrics::Registry& registry) {
  auto m = std::make_shared<HttpMetrics>(HttpMetrics{
      registry.counter_vec({.name = "svckit_http_server_requests_total", .help = "HTTP requests answered."},
                           {"method", "route", "status"}),
      registry.histogram_vec(
          {.name = "svckit_http_server_request_duration_seconds", .help = "Time from routing to the response."},
          {"method", "route"}),
      registry.gauge({.name = "svckit_http_server_requests_in_flight", .help = "HTTP requests being handled."})});
  return [m](Request& req, Response& res, Next next) -> Task<void> {
    auto start = Clock::now();
    m->in_flight.inc();
    struct Done {  // also on an exception escaping the onion (then the status is 500)
      HttpMetrics& m;
      Request& req;
      Response& res;
      Clock::time_point start;
      bool ok = false;
      ~Done() {
        m.in_flight.dec();
        int status = ok ? res.status : 500;
        std::string_view route = req.route().empty() ? std::string_view("unmatched") : req.route();
        thread_local std::unordered_map<SeriesKey, std::pair<metrics::Counter, metrics::Histogram>, SeriesKeyHash>
            cache;
        SeriesKey key{&m, route.data(), route.size(), req.method(), status};
        auto it = cache.find(key);
        if (it == cache.end()) {
          char code[8];
          auto r = std::to_chars(code, code + sizeof code, status);
          std::string_view method = method_label(req.method());
          it = cache
                   .emplace(key, std::pair{m.requests.with({method, route, std::string_view(code, r.ptr)}),
                                           m.duration.with({method, route})})
                   .first;
        }
        it->second.first.inc();
        const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        if (const trace::SpanContext* span = req.sampled_span())
          it->second.second.observe(seconds, {span->trace_id.bytes, span->span_id.bytes});
        else
          it->second.second.observe(seconds);
      }
    } done{*m, req, res, start};
    co_await next(req, res);
    done.ok = true;
  };
}

Middleware tracing(TracingOptions options) {
  return [options](Request& req, Response& res, Next next) -> Task<void> {
    std::shared_ptr<trace::Tracer> tracer = options.tracer ? options.tracer : trace::Tracer::global();
    if (!tracer) {
      co_await next(req, res);
      co_return;
    }
    auto parent = trace::extract([&req](std::string_view name) { return req.header(name); }, tracer->propagation());
    // "GET /v1/users/:id", built on the stack: the span copies it into its recycled storage.
    std::string_view method = req.method() == Method::kOther ? std::string_view("HTTP") : method_name(req.method());
    char name_buf[160];
    std::string long_name;
    std::string_view name = method;
    if (!req.route().empty()) {
      if (method.size() + 1 + req.route().size() <= sizeof name_buf) {
        std::memcpy(name_buf, method.data(), method.size());
        name_buf[method.size()] = ' ';
        std::memcpy(name_buf + method.size() + 1, req.route().data(), req.route().size());
        name = std::string_view(name_buf, method.size() + 1 + req.route().size());
      } else {
        long_name = std::string(method) + ' ' + std::string(req.route());
        name = long_name;
      }
    }
    trace::Span span = tracer->start_span(name, trace::SpanKind::kServer, parent);
    if (span.recording()) {
      span.set_attribute("http.request.method", req.method_text());
      span.set_attribute("url.path", req.path());
      if (!req.query().empty()) span.set_attribute("url.query", req.query());
      if (!req.route().empty()) span.set_attribute("http.route", req.route());
      span.set_attribute("client.address", req.client_ip());
      span.set_attribute("network.protocol.version", req.version_minor() == 0 ? "1.0" : "1.1");
      if (auto ua = req.header("User-Agent"); !ua.empty()) span.set_attribute("user_agent.original", ua);
    }
    Context outer = req.ctx;
    req.ctx = trace::with_span(outer, span.context());
    if (span.recording()) req.set_sampled_span(span.context());
    if (auto b = req.header("baggage"); !b.empty()) req.ctx = trace::with_baggage(req.ctx, trace::parse_baggage(b));
    struct Finish {  // also when an exception escapes
      trace::Span& span;
      Response& res;
      bool ok = false;
      ~Finish() {
        int status = ok ? res.status : 500;
        if (!span.recording()) return;
        span.set_attribute("http.response.status_code", status);
        if (status >= 500) span.set_status(trace::StatusCode::kError, "HTTP " + std::to_string(status));
      }
    } finish{span, res};
    co_await next(req, res);
    finish.ok = true;
    req.ctx = outer;
  };
}

Middleware access_log(log::Logger logger) {
  // No caller on access lines: it would name this line on every one of them.
  return [logger = logger.without_caller()](Request& req, Response& res, Next next) -> Task<void> {
    auto start = Clock::now();
    co_await next(req, res);
    auto elapsed = Clock::now() - start;
    log::Level level =
        res.status >= 500 ? log::Level::kError : (res.status >= 400 ? log::Level::kWarn : log::Level::kInfo);
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

namespace {
std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// True if Accept-Encoding lists gzip (or *) without q=0.
bool accepts_gzip(std::string_view header) {
  while (!header.empty()) {
    auto comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    auto semi = item.find(';');
    std::string_view coding = item.substr(0, semi);
    while (!coding.empty() && coding.back() == ' ') coding.remove_suffix(1);
    if (coding == "gzip" || coding == "x-gzip" || coding == "*") {
      if (semi == std::string_view::npos) return true;
      std::string_view params = item.substr(semi + 1);
      auto q = params.find("q=");
      if (q == std::string_view::npos) return true;
      std::string_view v = params.substr(q + 2);
      // q=0, q=0.0, q=0.000 refuse; anything else accepts.
      bool zero = !v.empty() && v.front() == '0';
      for (std::size_t i = 1; zero && i < v.size() && v[i] != ' ' && v[i] != ';'; ++i)
        if (v[i] != '.' && v[i] != '0') zero = false;
      return !zero;
    }
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}
}  // namespace

Middleware cors(CorsOptions o) {
  bool any = std::find(o.allow_origins.begin(), o.allow_origins.end(), "*") != o.allow_origins.end();
  std::string methods = join(o.allow_methods), headers = join(o.allow_headers), expose = join(o.expose_headers);
  std::string max_age = std::to_string(o.max_age.count());
  return [o, any, methods, headers, expose, max_age](Request& req, Response& res, Next next) -> Task<void> {
    std::string_view origin = req.header("Origin");
    bool allowed = !origin.empty() &&
                   (any || std::find(o.allow_origins.begin(), o.allow_origins.end(), origin) != o.allow_origins.end());
    if (!allowed) {
      co_await next(req, res);
      co_return;
    }
    std::string allow_origin = any && !o.allow_credentials ? std::string("*") : std::string(origin);
    if (req.method() == Method::kOptions && !req.header("Access-Control-Request-Method").empty()) {
      res.reset();  // a preflight never reaches the handler (nor the router's 405)
      res.status = 204;
      res.set_header("Access-Control-Allow-Origin", allow_origin);
      res.set_header("Access-Control-Allow-Methods", methods);
      res.set_header("Access-Control-Allow-Headers", headers);
      res.set_header("Access-Control-Max-Age", max_age);
      if (o.allow_credentials) res.set_header("Access-Control-Allow-Credentials", "true");
      res.set_header("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
      co_return;
    }
    co_await next(req, res);
    res.set_header("Access-Control-Allow-Origin", allow_origin);
    if (!expose.empty()) res.set_header("Access-Control-Expose-Headers", expose);
    if (o.allow_credentials) res.set_header("Access-Control-Allow-Credentials", "true");
    if (allow_origin != "*") res.add_header("Vary", "Origin");
  };
}

Middleware gzip(GzipOptions o) {
  return [o](Request& req, Response& res, Next next) -> Task<void> {
    co_await next(req, res);
    if (res.body.size() < o.min_size || !res.header("Content-Encoding").empty() || res.status < 200 ||
        res.status == 204 || res.status == 304)
      co_return;
    std::string_view type = res.header("Content-Type");
    bool compressible =
        std::any_of(o.types.begin(), o.types.end(), [&](const std::string& p) { return type.starts_with(p); });
    if (!compressible) co_return;
    res.add_header("Vary", "Accept-Encoding");  // caches must key on it whether or not we compress
    if (!accepts_gzip(req.header("Accept-Encoding"))) co_return;
    z_stream z{};
    if (deflateInit2(&z, o.level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) co_return;
    std::string out(deflateBound(&z, static_cast<uLong>(res.body.size())) + 32, '\0');
    z.next_in = reinterpret_cast<Bytef*>(res.body.data());
    z.avail_in = static_cast<uInt>(res.body.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    int rc = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    if (rc != Z_STREAM_END || out.size() >= res.body.size()) co_return;  // not smaller: send as is
    res.body = std::move(out);
    res.set_header("Content-Encoding", "gzip");
  };
}

Result<std::string> gunzip(std::string_view data) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return make_error(Code::kInternal, "inflateInit2 failed");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[16384];
  int rc;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      return make_error(Code::kInvalidArgument, "not a valid gzip stream");
    }
    out.append(buf, sizeof buf - z.avail_out);
  } while (rc != Z_STREAM_END && (z.avail_in > 0 || z.avail_out == 0));
  inflateEnd(&z);
  if (rc != Z_STREAM_END) return make_error(Code::kInvalidArgument, "truncated gzip stream");
  return out;
}

}  // namespace svckit::http::middleware

namespace svckit::http {
SyncHandler metrics_handler(metrics::Registry& registry) {
  return [&registry](Request& req, Response& res) {
    auto format = metrics::negotiate(req.header("Accept"));
    res.status = 200;
    res.set_header("Content-Type", metrics::content_type(format));
    res.body.clear();
    registry.render_to(res.body, format);
  };
}
}  // namespace svckit::http
