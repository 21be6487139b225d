#include "svckit/http/client.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <future>
#include <span>
#include <vector>

#include "svckit/core/strings.hpp"
#include "svckit/http/detail/client_exchange.hpp"
#include "svckit/metrics/metrics.hpp"
#include "svckit/trace/tracer.hpp"

namespace svckit::http {

std::string_view ClientResponse::header(std::string_view name) const noexcept {
  for (auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return {};
}

Result<Url> parse_url(std::string_view url) {
  Url u;
  constexpr std::string_view kDiscovery = "discovery:///";
  if (url.substr(0, kDiscovery.size()) == kDiscovery) {
    std::string_view rest = url.substr(kDiscovery.size());
    auto slash = rest.find_first_of("/?");
    std::string_view service = rest.substr(0, slash);
    if (service.empty()) return make_error(Code::kInvalidArgument, "URL \"" + std::string(url) + "\" names no service");
    for (char c : service)
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.'))
        return make_error(Code::kInvalidArgument, "invalid service name in \"" + std::string(url) + "\"");
    u.service = std::string(service);
    u.host = u.service;
    std::string_view target = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    u.target = target.empty() ? "/" : (target.front() == '?' ? "/" + std::string(target) : std::string(target));
    for (char c : u.target)
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
        return make_error(Code::kInvalidArgument, "URL path must be percent-encoded");
    return u;
  }
  constexpr std::string_view kScheme = "http://";
  constexpr std::string_view kTlsScheme = "https://";
  if (url.substr(0, kTlsScheme.size()) == kTlsScheme) {
    u.tls = true;
    u.port = 443;
    url.remove_prefix(kTlsScheme.size());
  } else if (url.substr(0, kScheme.size()) == kScheme) {
    url.remove_prefix(kScheme.size());
  } else {
    return make_error(Code::kInvalidArgument,
                      "unsupported URL \"" + std::string(url) + "\" (http://, https:// or discovery:/// only)");
  }
  auto slash = url.find_first_of("/?");
  std::string_view authority = url.substr(0, slash);
  std::string_view rest = slash == std::string_view::npos ? std::string_view() : url.substr(slash);
  if (authority.empty() || authority.find('@') != std::string_view::npos)
    return make_error(Code::kInvalidArgument, "invalid URL authority in \"" + std::string(url) + "\"");
  std::string_view host = authority;
  if (authority.front() == '[') {  // [v6]:port
    auto close = authority.find(']');
    if (close == std::string_view::npos) return make_error(Code::kInvalidArgument, "invalid IPv6 host");
    host = authority.substr(1, close - 1);
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority.front() != ':') return make_error(Code::kInvalidArgument, "invalid port");
  } else {
    auto colon = authority.rfind(':');
    host = authority.substr(0, colon);
    authority = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
  }
  if (!authority.empty()) {
    std::string_view p = authority.substr(1);
    unsigned port = 0;
    auto r = std::from_chars(p.data(), p.data() + p.size(), port);
    if (p.empty() || r.ec != std::errc() || r.ptr != p.data() + p.size() || port == 0 || port > 65535)
      return make_error(Code::kInvalidArgument, "invalid port in URL");
    u.port = static_cast<std::uint16_t>(port);
  }
  if (host.empty()) return make_error(Code::kInvalidArgument, "URL without a host");
  u.host = std::string(host);
  u.target = rest.empty() ? "/" : (rest.front() == '?' ? "/" + std::string(rest) : std::string(rest));
  for (char c : u.target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return make_error(Code::kInvalidArgument, "URL path must be percent-encoded");
  return u;
}

Client::Client(Runtime& rt, ClientOptions options) : impl_(std::make_unique<Impl>(rt, std::move(options))) {}
Client::~Client() = default;

ClientStats Client::stats() const noexcept {
  return ClientStats{impl_->requests.load(),       impl_->opened.load(),           impl_->reused.load(),
                     impl_->retries.load(),        impl_->instance_retries.load(), impl_->ejections.load(),
                     impl_->tls_handshakes.load(), impl_->tls_resumed.load()};
}

std::size_t Client::idle_connections() const noexcept {
  std::size_t n = 0;
  for (auto& m : impl_->pools)
    for (auto& [k, p] : m) n += p.idle.size();
  return n;
}

Task<Result<ClientResponse>> Client::get(const Context& ctx, std::string url) {
  ClientRequest r;
  r.url = std::move(url);
  co_return co_await send(ctx, std::move(r));
}

Task<Result<ClientResponse>> Client::post(const Context& ctx, std::string url, std::string body,
                                          std::string content_type) {
  ClientRequest r;
  r.method = Method::kPost;
  r.url = std::move(url);
  r.body = std::move(body);
  r.headers.emplace_back("Content-Type", std::move(content_type));
  co_return co_await send(ctx, std::move(r));
}

namespace {

struct ClientMetrics {
  metrics::CounterVec& requests;
  metrics::HistogramVec& duration;
};

ClientMetrics& client_metrics() {
  auto& r = metrics::Registry::global();
  static ClientMetrics m{
      r.counter_vec({.name = "svckit_http_client_requests_total",
                     .help = "HTTP client calls by upstream host, method and outcome (HTTP status or error code)."},
                    {"host", "method", "status"}),
      r.histogram_vec(
          {.name = "svckit_http_client_request_duration_seconds", .help = "HTTP client call latency by upstream host."},
          {"host", "method"})};
  return m;
}

// The series of the label sets this thread used last: a call reuses its host's handles instead of a
// labelled lookup (a key built, hashed and looked up under a lock) per call.
struct ClientSeries {
  std::string host;
  Method method;
  std::string status;
  metrics::Counter requests;
  metrics::Histogram duration;
};

ClientSeries& client_series(std::string_view host, Method method, std::string_view status) {
  thread_local std::vector<ClientSeries> recent;
  thread_local std::size_t next = 0;
  for (auto& s : recent)
    if (s.method == method && s.host == host && s.status == status) return s;
  constexpr std::size_t kKept = 32;
  ClientMetrics& m = client_metrics();
  std::string_view name = method_name(method);
  ClientSeries fresh{std::string(host), method, std::string(status), m.requests.with({host, name, status}),
                     m.duration.with({host, name})};
  if (recent.size() < kKept) return recent.emplace_back(std::move(fresh));
  ClientSeries& slot = recent[next++ % kKept];
  slot = std::move(fresh);
  return slot;
}

// host:port of a URL, the label of its calls: written into the caller's buffer (a name like
// "gateway.hello:80" is past std::string's inline capacity), or into `heap` past that.
std::string_view host_label(const Result<Url>& url, std::span<char> buf, std::string& heap) {
  if (!url) return "invalid";
  char port[8];
  auto r = std::to_chars(port, port + sizeof port, url->port);
  const std::string_view digits(port, r.ptr);
  const std::size_t n = url->host.size() + 1 + digits.size();
  if (n > buf.size()) {
    heap = url->host;
    heap += ':';
    heap += digits;
    return heap;
  }
  char* out = std::copy(url->host.begin(), url->host.end(), buf.data());
  *out++ = ':';
  std::copy(digits.begin(), digits.end(), out);
  return std::string_view(buf.data(), n);
}

}  // namespace

// Observability around every call: a client span (child of the caller's span) whose context travels
// in the propagation headers (written with the request head: Exchange::encode), baggage, and RED
// metrics per upstream host; none for a probe's call.
Task<Result<ClientResponse>> Client::send(const Context& ctx, ClientRequest request) {
  Result<Url> url = parse_url(request.url);
  if (!impl_->options.observe || is_probe(ctx)) {
    Task<Result<ClientResponse>> plain = send_untraced(ctx, std::move(request), std::move(url));
    co_return co_await std::move(plain);
  }
  auto start = Clock::now();
  std::shared_ptr<trace::Tracer> tracer = trace::Tracer::global();
  const Method method = request.method;
  Context call = ctx;
  trace::Span span;
  if (tracer) {
    span = tracer->start(ctx, method_name(method), trace::SpanKind::kClient);
    if (span.recording()) {
      span.set_attribute("http.request.method", method_name(method));
      span.set_attribute("url.full", request.url);
      if (url) {
        span.set_attribute("server.address", url->host);
        span.set_attribute("server.port", std::int64_t{url->port});
      }
    }
    call = trace::with_span(ctx, span.context());
  }
  std::array<char, 64> host_buf;
  std::string host_heap;
  const std::string_view host = host_label(url, host_buf, host_heap);

  Task<Result<ClientResponse>> sending = send_untraced(call, std::move(request), std::move(url));
  Result<ClientResponse> res = co_await std::move(sending);

  char code[8];
  std::string_view status = code_name(res ? Code::kOk : res.error().code());
  if (res) status = std::string_view(code, std::to_chars(code, code + sizeof code, res->status).ptr);
  ClientSeries& series = client_series(host, method, status);
  series.requests.inc();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (span.recording())  // sampled: the call's latency bucket keeps the client span as its exemplar
    series.duration.observe(seconds, {span.context().trace_id.bytes, span.context().span_id.bytes});
  else
    series.duration.observe(seconds);
  if (span.recording()) {
    if (res) {
      span.set_attribute("http.response.status_code", std::int64_t{res->status});
      if (res->status >= 400) span.set_status(trace::StatusCode::kError, "HTTP " + std::to_string(res->status));
    } else {
      span.record_error(res.error());
    }
  }
  co_return res;
}

namespace {
Task<void> post_for_exporter(std::shared_ptr<Client> client, Context ctx, ClientRequest req,
                             std::shared_ptr<std::promise<Result<ClientResponse>>> done) {
  Result<ClientResponse> r = co_await client->send(ctx, std::move(req));
  done->set_value(std::move(r));
}
}  // namespace

trace::Transport otlp_transport(Runtime& rt) {
  auto client = std::make_shared<Client>(rt, ClientOptions{.observe = false});
  return [client, &rt](const trace::PostRequest& r) -> Result<trace::PostResponse> {
    // After the loops stopped nothing would run the request: say so at once instead of after a timeout.
    if (!rt.running()) return make_error(Code::kUnavailable, "the runtime is not running");
    ClientRequest req;
    req.method = Method::kPost;
    req.url = r.url;
    req.headers = r.headers;
    req.body = r.body;
    auto done = std::make_shared<std::promise<Result<ClientResponse>>>();
    auto future = done->get_future();
    rt.next_loop().spawn(post_for_exporter(client, Context().with_timeout(r.timeout), std::move(req), done));
    if (future.wait_for(r.timeout + std::chrono::seconds(2)) != std::future_status::ready)
      return make_error(Code::kUnavailable, "the runtime is not running");
    Result<ClientResponse> res = future.get();
    if (!res) return std::unexpected(res.error());
    trace::PostResponse out{res->status, std::nullopt, std::move(res->body)};
    std::string_view ra = res->header("Retry-After");
    int secs = 0;
    if (!ra.empty() && std::from_chars(ra.data(), ra.data() + ra.size(), secs).ec == std::errc() && secs >= 0)
      out.retry_after = std::chrono::seconds(secs);
    return out;
  };
}

}  // namespace svckit::http
