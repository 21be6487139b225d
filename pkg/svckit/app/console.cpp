#include "svckit/app/detail/console.hpp"

#include <cmath>
#include <cstdint>
#include <ctime>
#include <random>

#include "svckit/app/detail/console_state.hpp"
#include "svckit/json/json.hpp"
#include "svckit/resilience/limiter.hpp"
#include "svckit/resilience/shedder.hpp"

namespace svckit::app::detail {

namespace {

// Nothing inline, nothing from elsewhere: the page's own files and same-origin fetches only.
constexpr std::string_view kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

std::string build_info() {
  std::string out = "g++ " __VERSION__;
#ifdef __OPTIMIZE__
  out += ", optimised";
#else
  out += ", not optimised";
#endif
#ifdef NDEBUG
  out += ", assertions off";
#else
  out += ", assertions on";
#endif
  return out;
}

std::string_view breaker_state(double v) {
  if (v == 0) return "closed";
  if (v == 1) return "half-open";
  return "open";
}

void write_number_or_null(json::Writer& w, const std::optional<double>& v) {
  if (v && std::isfinite(*v))
    w.number(*v);
  else
    w.null();
}

struct ConsoleState {
  ConsoleParts parts;
  RedWindow red;
  std::string build = build_info();
  explicit ConsoleState(ConsoleParts p) : parts(std::move(p)), red(parts.window) {}

  std::string render() {
    std::string exposition = parts.registry->render();
    // svckit's HTTP guards count refusals in the global registry whatever registry the App has.
    if (parts.registry != &metrics::Registry::global()) exposition += metrics::Registry::global().render();
    auto samples = parse_exposition(exposition);
    auto report = red.update(RedWindow::Clock::now(), samples);

    std::string out;
    json::Writer w(out);
    w.begin_object();
    w.key("service").string(parts.service).key("version").string(parts.version).key("build").string(build);
    w.key("log_level").string(log::level_name(parts.logger.level()));
    w.key("window_seconds").number(std::chrono::duration<double>(red.window()).count());
    w.key("span_seconds").number(report.span_seconds);
    w.key("red").begin_array();
    for (const auto& f : report.figures) {
      if (f.name.ends_with(" unmatched")) continue;  // 404s of no route: not a route's RED
      w.begin_object().key("kind").string(f.kind).key("name").string(f.name);
      w.key("requests").number(f.requests).key("errors").number(f.errors);
      w.key("rate").number(f.rate).key("error_rate").number(f.error_rate);
      w.key("p50");
      write_number_or_null(w, f.p50);
      w.key("p99");
      write_number_or_null(w, f.p99);
      w.key("total").number(f.total).end_object();
    }
    w.end_array();
    write_runtime(w, samples);
    write_resilience(w, samples);
    w.end_object();
    return out;
  }

  void write_runtime(json::Writer& w, const std::vector<Sample>& samples) const {
    w.key("runtime").begin_object();
    double max_lag = 0;
    std::vector<std::pair<std::string, double>> loops;
    for (const auto& s : samples) {
      auto plain = [&](std::string_view metric, std::string_view key) {
        if (s.name == metric && s.labels.empty()) w.key(key).number(s.value);
      };
      plain("process_resident_memory_bytes", "rss_bytes");
      plain("process_open_fds", "open_fds");
      plain("process_max_fds", "max_fds");
      plain("process_threads", "threads");
      plain("process_cpu_seconds_total", "cpu_seconds");
      plain("svckit_runtime_blocking_queue", "blocking_queue");
      plain("svckit_runtime_blocking_queue_capacity", "blocking_queue_capacity");
      plain("svckit_runtime_blocking_threads", "blocking_threads");
      if (s.name == "process_start_time_seconds" && s.labels.empty())
        w.key("uptime_seconds").number(static_cast<double>(std::time(nullptr)) - s.value);
      if (s.name == "svckit_runtime_loop_lag_seconds") {
        loops.emplace_back(std::string(s.label("loop")), s.value);
        max_lag = std::max(max_lag, s.value);
      }
    }
    w.key("loop_lag_seconds").number(max_lag);
    w.key("loops").begin_array();
    for (const auto& [loop, lag] : loops)
      w.begin_object().key("loop").string(loop).key("lag_seconds").number(lag).end_object();
    w.end_array().end_object();
  }

  void write_resilience(json::Writer& w, const std::vector<Sample>& samples) const {
    w.key("resilience").begin_object();
    w.key("breakers").begin_array();
    for (const auto& s : samples)
      if (s.name == "svckit_resilience_breaker_state")
        w.begin_object()
            .key("name")
            .string(s.label("breaker"))
            .key("state")
            .string(breaker_state(s.value))
            .end_object();
    w.end_array();
    w.key("refused").begin_array();
    for (const auto& s : samples) {
      if (s.name == "svckit_resilience_rejected_total")
        w.begin_object().key("by").string(s.label("kind")).key("count").number(s.value).end_object();
      else if (s.name == "svckit_resilience_call_rejected_total")
        w.begin_object()
            .key("by")
            .string(std::string(s.label("guard")) + " (" + std::string(s.label("reason")) + ")")
            .key("count")
            .number(s.value)
            .end_object();
      else if (s.name == "grpc_server_limited_total" || s.name == "grpc_server_shed_total")
        w.begin_object()
            .key("by")
            .string(std::string(s.name == "grpc_server_shed_total" ? "grpc shed " : "grpc limit ") + "/" +
                    std::string(s.label("grpc_service")) + "/" + std::string(s.label("grpc_method")))
            .key("count")
            .number(s.value)
            .end_object();
    }
    w.end_array();
    w.key("limiters").begin_array();
    if (parts.rate_limit)
      w.begin_object()
          .key("name")
          .string("resilience.rate_limit")
          .key("kind")
          .string("token bucket")
          .key("rate")
          .number(parts.rate_limit->rate())
          .key("burst")
          .number(parts.rate_limit->burst())
          .key("available")
          .number(parts.rate_limit->available())
          .end_object();
    if (parts.bulkhead)
      w.begin_object()
          .key("name")
          .string("resilience.max_in_flight")
          .key("kind")
          .string("bulkhead")
          .key("in_flight")
          .integer(parts.bulkhead->in_flight())
          .key("limit")
          .integer(parts.bulkhead->max())
          .end_object();
    w.end_array();
    w.key("shedder");
    if (parts.shedder) {
      w.begin_object()
          .key("cpu")
          .number(parts.shedder->cpu_usage())
          .key("in_flight")
          .integer(parts.shedder->in_flight())
          .key("dropped")
          .integer(parts.shedder->dropped())
          .end_object();
    } else {
      w.null();
    }
    w.end_object();
  }
};

}  // namespace

std::string random_token() {
  std::random_device rd;  // getrandom(2) on Linux
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 8; ++i) {
    std::uint32_t v = rd();
    for (int j = 0; j < 8; ++j, v >>= 4) out.push_back(kHex[v & 0xf]);
  }
  return out;
}

bool loopback_host(std::string_view host) noexcept {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.starts_with("127.");
}

bool same_secret(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size() || b.empty()) return false;  // the length is no secret: tokens are fixed-size
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

http::Middleware bearer_guard(std::string token) {
  return [token = std::move(token)](http::Request& req, http::Response& res, http::Next next) -> Task<void> {
    std::string_view path = req.path();
    // Probes and the scrape stay open (the kubelet and Prometheus; NetworkPolicy narrows who reaches
    // them), and so do the page's files: they hold no data, and the page asks for the token.
    bool open =
        path == "/healthz" || path == "/readyz" || path == "/metrics" || path == "/" || path.starts_with("/console/");
    if (!open) {
      std::string_view auth = req.header("Authorization");
      constexpr std::string_view kScheme = "Bearer ";
      bool ok = auth.size() > kScheme.size() && auth.substr(0, kScheme.size()) == kScheme &&
                same_secret(auth.substr(kScheme.size()), token);
      if (!ok) {
        res.set_header("WWW-Authenticate", R"(Bearer realm="svckit-admin")");
        res.error(Status(Code::kUnauthenticated, "ADMIN_TOKEN_REQUIRED",
                         "this admin port needs Authorization: Bearer <admin.token>"));
        co_return;
      }
    }
    co_await next(req, res);
  };
}

http::Middleware csrf_guard(std::string token) {
  return [token = std::move(token)](http::Request& req, http::Response& res, http::Next next) -> Task<void> {
    // A browser says where a request comes from; anything but this origin (or a typed URL) is refused
    // before the token is even looked at.
    std::string_view site = req.header("Sec-Fetch-Site");
    bool cross = !site.empty() && site != "same-origin" && site != "none";
    if (std::string_view origin = req.header("Origin"); !origin.empty() && origin != "null") {
      std::string_view host = req.header("Host");
      cross = cross || !(origin.starts_with("http://") && origin.substr(7) == host);
    } else if (origin == "null") {
      cross = true;
    }
    if (cross) {
      res.error(
          Status(Code::kPermissionDenied, "CROSS_SITE_REQUEST", "state-changing admin calls are same-origin only"));
      co_return;
    }
    if (!same_secret(req.header("X-CSRF-Token"), token)) {
      res.error(Status(Code::kPermissionDenied, "CSRF_TOKEN_REQUIRED",
                       "send X-CSRF-Token with the token from GET /debug/csrf"));
      co_return;
    }
    co_await next(req, res);
  };
}

void mount_console(http::Router& admin, ConsoleParts parts) {
  auto files = std::make_shared<http::EmbeddedFiles>(embedded::console_assets(), std::string(kCsp));
  admin.get("/", [files](http::Request& req, http::Response& res) {
    if (!files->serve("index.html", req, res))
      res.error(Status(Code::kNotFound, "NO_CONSOLE", "the console's files are not in this binary"));
  });
  admin.get("/console/*file", [files](http::Request& req, http::Response& res) {
    if (!files->serve(req.param("file"), req, res))
      res.error(Status(Code::kNotFound, "NOT_FOUND", "no such console file"));
  });
  auto state = std::make_shared<ConsoleState>(std::move(parts));
  admin.get("/debug/console", [state](http::Request&, http::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.json(200, state->render());
  });
}

}  // namespace svckit::app::detail
