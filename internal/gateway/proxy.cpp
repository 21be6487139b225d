// One request through the gateway: match, identity (auth: jwt), limits, the tries upstream with the body streamed both
// ways, the websocket tunnel, the gateway's own errors, and the access line and metrics.
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <random>

#include "canary.hpp"
#include "detail/call.hpp"
#include "detail/headers.hpp"
#include "detail/metrics.hpp"
#include "gateway.hpp"
#include "mirror.hpp"
#include "svckit/core/strings.hpp"
#include "svckit/http/stream.hpp"

namespace svckit::gateway {

namespace {

bool idempotent(http::Method m) {
  return m == http::Method::kGet || m == http::Method::kHead || m == http::Method::kPut || m == http::Method::kDelete ||
         m == http::Method::kOptions || m == http::Method::kTrace;
}

// Full-jitter exponential backoff for try number `attempt` (0: before the second try).
Duration backoff(const RouteConfig& r, int attempt) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  double cap = static_cast<double>(r.retry_backoff.count()) * std::pow(2.0, attempt);
  cap = std::min(cap, static_cast<double>(r.retry_max_backoff.count()));
  std::uniform_real_distribution<double> d(0.0, std::max(cap, 0.0));
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(d(rng)));
}

// Retry-After in seconds (an HTTP date is not honoured: nullopt).
std::optional<Duration> retry_after(std::string_view v) {
  unsigned secs = 0;
  auto r = std::from_chars(v.data(), v.data() + v.size(), secs);
  if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size()) return std::nullopt;
  return std::chrono::seconds(secs);
}

bool contains_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    auto comma = value.find(',');
    std::string_view t = value.substr(0, comma);
    while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
    while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
    if (iequals(t, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

enum class Failure { kConnect, kTimeout, kBroken };

// The route's series for the label value `value` (numbered `key`): the last one's handle when it is
// this one (the usual case), else looked up and kept in its place.
metrics::Counter route_series(std::atomic<std::uint64_t>& last, metrics::CounterVec& vec, std::string_view route,
                              std::uint32_t key, std::string_view value) {
  const std::uint64_t tag = static_cast<std::uint64_t>(key + 1) << 32;
  const std::uint64_t seen = last.load(std::memory_order_relaxed);
  if ((seen & ~std::uint64_t{0xffffffff}) == tag) return metrics::Counter(static_cast<std::uint32_t>(seen));
  metrics::Counter counter = vec.with({route, value});
  last.store(tag | counter.cell(), std::memory_order_relaxed);
  return counter;
}

metrics::Counter by_status(std::atomic<std::uint64_t>& last, metrics::CounterVec& vec, std::string_view route,
                           int status) {
  char code[8];
  auto r = std::to_chars(code, code + sizeof code, status);
  return route_series(last, vec, route, static_cast<std::uint32_t>(status), std::string_view(code, r.ptr));
}

}  // namespace

Task<void> Gateway::handle(http::Request& req, http::Response& res) {
  Call c(req, res);
  c.table = table();
  if (!c.table) {
    respond_error(c, Status(Code::kUnavailable, "NO_ROUTES", "no route table is loaded"), 503);
  } else if (unsafe_path(req.path())) {
    respond_error(c, Status(Code::kInvalidArgument, "BAD_PATH", "dot segments and encoded slashes are not routed"),
                  400);
  } else if (auto m = c.table->match(req); !m) {
    respond_error(c, Status(Code::kNotFound, "ROUTE_NOT_FOUND", "no route for " + std::string(req.path())), 404);
  } else {
    c.match = std::move(*m);
    c.route = c.match.route;
    RouteCounters& k = c.route->state->counters;
    k.requests.fetch_add(1, std::memory_order_relaxed);
    k.in_flight.fetch_add(1, std::memory_order_relaxed);
    struct InFlight {  // also when an exception leaves
      RouteCounters& k;
      ~InFlight() { k.in_flight.fetch_sub(1, std::memory_order_relaxed); }
    } in_flight{k};
    co_await proxy(c);
  }
  finish(c);
}

Task<bool> Gateway::authenticate(Call& c) {
  const CompiledRoute& r = *c.route;
  if (!auth_) {  // a table with auth: jwt is refused without a verifier; never served open regardless
    respond_error(c, Status(Code::kUnavailable, "NO_VERIFIER", "the gateway has no token verifier"), 503);
    co_return false;
  }
  Task<AuthDecision> checking = auth_->authenticate(c.req.ctx, c.req.header("Authorization"), r.cfg, r.auth_algorithms);
  AuthDecision d = co_await std::move(checking);
  route_series(r.state->series.auth, metrics_->auth, r.cfg.name, static_cast<std::uint32_t>(d.outcome),
               outcome_name(d.outcome))
      .inc();
  if (d.looked_up) (d.cache_hit ? metrics_->auth_cache_hit : metrics_->auth_cache_miss).inc();
  if (d.outcome == AuthOutcome::kOk || d.outcome == AuthOutcome::kAnonymous) {
    c.identity = std::move(d.identity);
    co_return true;
  }
  r.state->counters.auth_refused.fetch_add(1, std::memory_order_relaxed);
  for (const auto& [name, value] : d.headers) c.res.set_header(name, value);
  respond_error(c, d.error, d.http_status);
  co_return false;
}

void Gateway::respond_error(Call& c, const Status& st, int http_status) {
  if (c.head_sent) return;  // the client has a head already: the connection is closed instead
  c.res.error(Status(st).with_http_status(http_status));
  for (const auto& [k, v] : c.cors) c.res.set_header(k, v);
  c.status = http_status;
  c.error = std::string(st.message());
}

Task<void> Gateway::proxy(Call& c) {
  const CompiledRoute& r = *c.route;
  const RouteConfig& cfg = r.cfg;
  http::Request& req = c.req;
  RouteCounters& k = r.state->counters;

  // CORS: allowed origins get their headers; a preflight is answered here.
  if (std::string_view origin = req.header("Origin"); !cfg.cors_origins.empty() && !origin.empty()) {
    const bool any = std::find(cfg.cors_origins.begin(), cfg.cors_origins.end(), "*") != cfg.cors_origins.end();
    if (any || std::find(cfg.cors_origins.begin(), cfg.cors_origins.end(), origin) != cfg.cors_origins.end()) {
      c.cors.emplace_back("Access-Control-Allow-Origin", any && !cfg.cors_credentials ? "*" : std::string(origin));
      if (!any || cfg.cors_credentials) c.cors.emplace_back("Vary", "Origin");
      if (cfg.cors_credentials) c.cors.emplace_back("Access-Control-Allow-Credentials", "true");
      if (req.method() == http::Method::kOptions && !req.header("Access-Control-Request-Method").empty()) {
        c.res.status = 204;
        for (const auto& [name, v] : c.cors) c.res.set_header(name, v);
        c.res.set_header("Access-Control-Allow-Methods", join(cfg.cors_methods));
        c.res.set_header("Access-Control-Allow-Headers", join(cfg.cors_headers));
        c.res.set_header("Access-Control-Max-Age", std::to_string(cfg.cors_max_age.count()));
        c.status = 204;
        co_return;
      }
      if (!cfg.cors_expose.empty()) c.cors.emplace_back("Access-Control-Expose-Headers", join(cfg.cors_expose));
    }
  }
  // Identity before any limit: a request that is not let in is not counted against anyone's rate.
  if (cfg.auth == "jwt") {
    Task<bool> checking = authenticate(c);
    if (!co_await std::move(checking)) co_return;
  }
  if (auto len = c.stream.content_length(); len && *len > cfg.max_body) {
    respond_error(c, Status(Code::kResourceExhausted, "BODY_TOO_LARGE", "request body over the route's limit"), 413);
    co_return;
  }
  Status limited;
  if (r.limiter) {
    limited = r.limiter->try_acquire();
  } else if (r.keyed) {
    std::string user_key;
    std::string_view key;
    if (cfg.rate_limit_key == "client_ip") {
      key = req.client_ip();
    } else if (cfg.rate_limit_key == "user") {  // the verified subject; anonymous requests by address
      user_key = c.identity ? "user:" + c.identity->principal->subject : "ip:" + std::string(req.client_ip());
      key = user_key;
    } else {
      key = req.header(std::string_view(cfg.rate_limit_key).substr(7));
    }
    limited = r.keyed->try_acquire(key);
  }
  if (!limited.ok()) {
    k.rate_limited.fetch_add(1, std::memory_order_relaxed);
    std::uint64_t ms = 1000;
    std::string_view text = limited.metadata_value("retry_after_ms");
    std::from_chars(text.data(), text.data() + text.size(), ms);
    c.res.set_header("Retry-After", std::to_string(std::max<std::uint64_t>(1, (ms + 999) / 1000)));
    respond_error(c, Status(Code::kResourceExhausted, "RATE_LIMITED", "rate limit of route " + cfg.name + " reached"),
                  429);
    co_return;
  }

  c.upgrade = cfg.websocket && req.method() == http::Method::kGet &&
              contains_token(req.header("Upgrade"), "websocket") && detail::connection_tokens(req).contains("upgrade");
  std::string_view request_id = c.res.header("X-Request-Id");
  if (request_id.empty()) request_id = req.header("X-Request-Id");
  const detail::ForwardInfo info{.trusted_peer = trusted_->contains(req.remote_address()),
                                 .preserve_host = cfg.preserve_host,
                                 .upgrade = c.upgrade,
                                 .request_id = request_id,
                                 .identity = c.identity ? &c.identity->headers : nullptr,
                                 .drop_authorization = !cfg.auth_forward_token && cfg.auth == "jwt"};
  detail::upstream_request_headers(req, info, c.wire);
  if (c.stream.has_body()) {
    constexpr std::size_t kPrefetch = 64 * 1024;
    while (c.prefetched.size() < kPrefetch) {
      Result<std::string_view> piece = co_await c.stream.read();
      if (!piece) {
        if (piece.error().reason() != "CLIENT_CLOSED")
          respond_error(c, piece.error(), piece.error().to_http());
        else
          c.status = 499;
        co_return;
      }
      if (piece->empty()) {
        c.prefetched_all = true;
        break;
      }
      c.prefetched.append(*piece);
      if (c.prefetched.size() > cfg.max_body) {
        respond_error(c, Status(Code::kResourceExhausted, "BODY_TOO_LARGE", "request body over the route's limit"),
                      413);
        co_return;
      }
    }
    c.bytes_in = c.prefetched.size();
  }
  const std::string target = RouteTable::upstream_target(c.match, req);
  begin_mirror(c, c.wire, target);
  std::string_view base = choose_side(c);  // the route's or the call's: both outlive the tries
  std::string stable;                      // the stable side's base after a canary had no instance
  const bool has_body = c.stream.has_body();
  c.ctx = req.ctx.with_timeout(cfg.timeout);
  c.may_retry = cfg.retries > 0 && !c.upgrade && (idempotent(req.method()) || cfg.retry_non_idempotent);
  r.budget->on_call();

  for (;; ++c.attempt) {
    std::optional<resilience::CircuitBreaker::Ticket> ticket;
    if (r.breaker) {
      auto t = r.breaker->allow();
      if (!t) {
        respond_error(c, Status(Code::kUnavailable, "BREAKER_OPEN", "upstream of route " + cfg.name + " is failing"),
                      503);
        co_return;
      }
      ticket = *t;
    }
    http::ClientRequest up;
    up.method = req.method();
    up.url.reserve(base.size() + target.size());
    up.url += base;
    up.url += target;
    up.wire_headers = c.wire;
    up.avoid_instance = c.avoid;
    if (has_body) {
      up.body_length = c.stream.content_length();
      c.replay = 0;
      up.body_source = [this, &c, max = cfg.max_body]() -> Task<Result<std::string_view>> {
        if (c.replay < c.prefetched.size()) {
          std::string_view first = std::string_view(c.prefetched).substr(c.replay);
          c.replay = c.prefetched.size();
          co_return first;
        }
        if (c.prefetched_all) co_return std::string_view();
        c.body_started = true;  // from here on the body cannot be sent again
        Result<std::string_view> piece = co_await c.stream.read();
        if (!piece) {
          c.source_error = piece.error();
          co_return piece;
        }
        c.bytes_in += piece->size();
        if (c.bytes_in > max) {
          c.source_error = Status(Code::kResourceExhausted, "BODY_TOO_LARGE", "request body over the route's limit")
                               .with_http_status(413);
          co_return std::unexpected(c.source_error);
        }
        gather_mirror(c, *piece);  // the copy's body, up to mirror_max_body; the end sends it
        co_return piece;
      };
    }
    up.on_head = [this, &c](const http::ClientResponse& head) -> Task<Status> {
      const RouteConfig& rc = c.route->cfg;
      c.upstream_ms = std::chrono::duration<double, std::milli>(Clock::now() - c.try_start).count();
      c.route->state->series.upstream.observe(c.upstream_ms / 1000.0);
      c.upstream = head.address;
      const auto& statuses = c.route->retry_statuses;
      if (c.may_retry && c.attempt < rc.retries && !c.body_started &&
          std::find(statuses.begin(), statuses.end(), head.status) != statuses.end()) {
        Duration wait = backoff(rc, c.attempt);
        if (auto ra = retry_after(head.header("Retry-After"))) wait = std::max(wait, *ra);
        if (wait < c.ctx.remaining() && c.route->budget->try_spend()) {
          c.discard = true;  // this answer is dropped and the request tried again
          c.retry_wait = wait;
          co_return Status();
        }
      }
      c.res.status = head.status;
      detail::copy_response_headers(head.headers, head.status, c.res);
      for (const auto& [name, v] : c.cors) c.res.set_header(name, v);
      std::optional<std::uint64_t> length = head.chunked ? std::nullopt : head.content_length;
      c.status = head.status;
      c.head_sent = true;
      co_return co_await c.stream.write_head(c.res, length);
    };
    up.body_sink = [&c](std::string_view piece) -> Task<Status> {
      if (c.discard) co_return Status();
      c.bytes_out += piece.size();
      co_return co_await c.stream.write(piece);
    };
    const bool own_try_deadline = cfg.try_timeout.count() > 0 && cfg.try_timeout < c.ctx.remaining();
    Context try_ctx = own_try_deadline ? c.ctx.with_timeout(cfg.try_timeout) : c.ctx;
    c.discard = false;
    c.try_start = Clock::now();
    ++c.tries;
    Result<http::ClientResponse> res = co_await client_->send(try_ctx, std::move(up));

    if (res) {
      if (ticket) r.breaker->done(*ticket, res->status >= 500 ? Status(Code::kUnavailable, "upstream 5xx") : Status());
      by_status(r.state->series.tries, metrics_->tries, cfg.name, res->status).inc();
      c.upstream = res->address;
      if (c.discard) {
        k.retries.fetch_add(1, std::memory_order_relaxed);
        c.avoid = res->instance;
        Status slept = co_await sleep_for(c.ctx, c.retry_wait);
        if (slept.ok()) continue;
        respond_error(c, Status(Code::kDeadlineExceeded, "UPSTREAM_TIMEOUT", "no answer within the route's timeout"),
                      504);
        co_return;
      }
      if (res->upgraded) {
        co_await tunnel(c, *res);
        co_return;
      }
      Status done = co_await c.stream.finish();
      if (!done.ok()) c.error = std::string(done.message());
      co_return;
    }

    const Status& err = res.error();
    if (err.reason() == "NO_INSTANCE" && !c.body_started) {  // a canary with no instance: the stable side
      if (stable = fall_back_to_stable(c); !stable.empty()) {
        if (ticket) r.breaker->done(*ticket, Status());
        base = stable;
        --c.attempt;
        continue;
      }
    }
    c.upstream = std::string(err.metadata_value("address"));
    metrics_->tries.with({cfg.name, std::string(code_name(err.code()))}).inc();
    const bool client_side = !c.source_error.ok() || req.ctx.err().reason() == "CLIENT_CLOSED";
    if (ticket) r.breaker->done(*ticket, client_side ? Status() : err);
    if (c.head_sent) {  // the answer broke off mid-body: the client's connection is closed under it
      c.error = std::string(err.message());
      co_return;
    }
    if (client_side) {
      if (!c.source_error.ok() && c.source_error.reason() != "CLIENT_CLOSED") {
        respond_error(c, c.source_error, c.source_error.to_http());
      } else {
        c.status = 499;  // nobody to answer
        c.error = "client closed the connection";
      }
      co_return;
    }
    Failure kind = err.code() == Code::kDeadlineExceeded                               ? Failure::kTimeout
                   : err.reason() == "CONNECT_FAILED" || err.reason() == "NO_INSTANCE" ? Failure::kConnect
                   : err.code() == Code::kResourceExhausted                            ? Failure::kConnect
                                                                                       : Failure::kBroken;
    // A try that timed out on its own deadline may go again; the route's deadline ends the request.
    const bool whole_deadline = kind == Failure::kTimeout && !c.ctx.err().ok();
    // Nothing reached the upstream when the connection failed: any method may go again.
    const bool method_ok = c.may_retry || (kind == Failure::kConnect && cfg.retries > 0 && !c.upgrade);
    const bool kind_ok = (kind == Failure::kConnect && r.retry_connect) ||
                         (kind == Failure::kTimeout && r.retry_timeout) || (kind == Failure::kBroken && r.retry_reset);
    if (method_ok && kind_ok && !whole_deadline && c.attempt < cfg.retries && !c.body_started) {
      Duration wait = backoff(cfg, c.attempt);
      if (wait < c.ctx.remaining() && r.budget->try_spend()) {
        k.retries.fetch_add(1, std::memory_order_relaxed);
        c.avoid = std::string(err.metadata_value("instance"));
        Status slept = co_await sleep_for(c.ctx, wait);
        if (slept.ok()) continue;
      }
    }
    k.upstream_failures.fetch_add(1, std::memory_order_relaxed);
    if (kind == Failure::kTimeout)
      respond_error(c, Status(Code::kDeadlineExceeded, "UPSTREAM_TIMEOUT", std::string(err.message())), 504);
    else if (kind == Failure::kConnect)
      respond_error(c, Status(Code::kUnavailable, "UPSTREAM_UNAVAILABLE", std::string(err.message())), 503);
    else
      respond_error(c, Status(Code::kUnavailable, "BAD_GATEWAY", std::string(err.message())), 502);
    co_return;
  }
}

namespace {

struct TunnelState {
  http::Stream& client;
  http::UpgradedConnection& upstream;
  bool closing = false;
  std::uint64_t up = 0, down = 0;
  void close_both() {
    if (closing) return;
    closing = true;
    client.cancel_raw();
    upstream.cancel();
  }
};

Task<void> upstream_to_client(TunnelState& t) {
  std::array<char, 16 * 1024> buf;
  for (;;) {
    Result<std::size_t> n = co_await t.upstream.read(buf);
    if (!n || *n == 0) break;
    t.down += *n;
    Status st = co_await t.client.write_raw(std::string_view(buf.data(), *n));
    if (!st.ok()) break;
  }
  t.close_both();
}

Task<void> client_to_upstream(TunnelState& t) {
  std::array<char, 16 * 1024> buf;
  for (;;) {
    Result<std::size_t> n = co_await t.client.read_raw(buf);
    if (!n || *n == 0) break;
    t.up += *n;
    Status st = co_await t.upstream.write(std::string_view(buf.data(), *n));
    if (!st.ok()) break;
  }
  t.close_both();
}

}  // namespace

// Bytes both ways until either side closes; then both are closed.
Task<void> Gateway::tunnel(Call& c, const http::ClientResponse& answer) {
  std::shared_ptr<http::UpgradedConnection> upstream = answer.upgraded;
  c.res.status = 101;
  detail::copy_response_headers(answer.headers, 101, c.res);
  c.status = 101;
  c.head_sent = true;
  Status st = co_await c.stream.write_head(c.res, std::nullopt);
  if (!st.ok()) co_return;
  TunnelState t{c.stream, *upstream};
  // Both directions on this loop: one started here and left running, the other awaited.
  Task<void> down = upstream_to_client(t);
  down.start_inline();
  co_await client_to_upstream(t);
  co_await std::move(down).join();
  c.bytes_in = t.up;
  c.bytes_out = t.down;
}

void Gateway::finish(Call& c) {
  const int status = c.status ? c.status : c.res.status;
  const std::string_view route = c.route ? std::string_view(c.route->cfg.name) : std::string_view("unmatched");
  const double total = std::chrono::duration<double>(Clock::now() - c.start).count();
  // A sampled request's latency keeps its span as the bucket's exemplar.
  const trace::SpanContext* sampled = c.req.sampled_span();
  if (c.route) {
    RouteSeries& series = c.route->state->series;
    by_status(series.requests, metrics_->requests, route, status).inc();
    if (sampled)
      series.duration.observe(total, {sampled->trace_id.bytes, sampled->span_id.bytes});
    else
      series.duration.observe(total);
  } else {
    char code[8];
    auto r = std::to_chars(code, code + sizeof code, status);
    metrics_->requests.with({route, std::string_view(code, r.ptr)}).inc();
    if (sampled)
      metrics_->duration.with({route}).observe(total, {sampled->trace_id.bytes, sampled->span_id.bytes});
    else
      metrics_->duration.with({route}).observe(total);
  }
  if (c.route) {
    RouteCounters& k = c.route->state->counters;
    if (c.mirror) mirrors_->release(*c.route);  // a copy whose body never ended is not sent
    if (c.side != Call::Side::kNone) {
      const bool canary = c.side == Call::Side::kCanary;
      (canary ? k.canary : k.stable).fetch_add(1, std::memory_order_relaxed);
      metrics_->canary.with({route, canary ? "canary" : "stable"}).inc();
    }
    if (status >= 500)
      k.errors_5xx.fetch_add(1, std::memory_order_relaxed);
    else if (status >= 400)
      k.errors_4xx.fetch_add(1, std::memory_order_relaxed);
  }
  const log::Level level = status >= 500 ? log::Level::kError : status >= 400 ? log::Level::kWarn : log::Level::kInfo;
  options_.logger.log(level, c.req.ctx, "gateway request",
                      {{"route", route},
                       {"method", c.req.method_text()},
                       {"path", c.req.path()},
                       {"status", status},
                       {"upstream", c.upstream},
                       {"tries", c.tries},
                       {"duration_ms", total * 1000.0},
                       {"upstream_ms", c.upstream_ms},
                       {"bytes_in", c.bytes_in},
                       {"bytes_out", c.bytes_out},
                       {"client_ip", c.req.client_ip()},
                       {"error", c.error}});
}

}  // namespace svckit::gateway
