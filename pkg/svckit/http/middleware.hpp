#pragma once
// Built-in middleware. The default set, outermost first: metrics, tracing, request_id, access_log, recovery
// (innermost, so that the others see the 500 it makes of an exception). The others are opt-in.
#include <chrono>
#include <string>
#include <vector>

#include "svckit/http/router.hpp"
#include "svckit/log/logger.hpp"
#include "svckit/metrics/metrics.hpp"
#include "svckit/trace/tracer.hpp"

namespace svckit::http::middleware {

// RED metrics for every request, labelled by the route template (never the raw path):
//   svckit_http_server_requests_total{method,route,status}
//   svckit_http_server_request_duration_seconds{method,route}   (histogram, default buckets)
//   svckit_http_server_requests_in_flight
// Requests that match no route are labelled route="unmatched"; unknown methods method="OTHER".
// A request whose server span is sampled (the tracing middleware, inside this one) leaves its trace id
// and span id on its latency bucket as an OpenMetrics exemplar.
// Series handles are cached per thread, so a request costs two clock reads and a few adds.
Middleware metrics(metrics::Registry& registry = metrics::Registry::global());

struct TracingOptions {
  std::shared_ptr<trace::Tracer> tracer;  // null: trace::Tracer::global() at each request (none: no spans)
};
// A server span per request, child of the caller's span when a propagation header (the tracer's
// formats: W3C, B3, Jaeger) carries one: named "METHOD /route/:template", with the HTTP semantic
// convention attributes, ERROR for 5xx. req.ctx carries the span (for child spans and outgoing
// calls), its trace_id/span_id as log fields, and the request's W3C baggage. Place it outside the
// access log so that the log line carries the ids.
Middleware tracing(TracingOptions options = {});

// An exception escaping the rest of the onion becomes a 500 in the error format and one log line.
Middleware recovery(log::Logger logger = log::global());

// Accepts an incoming X-Request-Id (1-128 chars of [A-Za-z0-9._:-]) or generates one; echoes it in the
// response and adds request_id to the request Context's log fields.
Middleware request_id();

// One structured line per request: method, path, route template, status, bytes, duration, client IP,
// with the Context's fields (request_id, trace_id...).
Middleware access_log(log::Logger logger);

// Trusts X-Forwarded-For / X-Real-IP only when the direct peer is one of `trusted_proxies` (exact
// addresses or IPv4 CIDRs like 10.0.0.0/8); the client IP is then the right-most untrusted hop.
Middleware real_ip(std::vector<std::string> trusted_proxies);

struct CorsOptions {
  std::vector<std::string> allow_origins = {"*"};  // exact origins, or "*"
  std::vector<std::string> allow_methods = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
  std::vector<std::string> allow_headers = {"Content-Type", "Authorization", "X-Request-Id"};
  std::vector<std::string> expose_headers = {"X-Request-Id"};
  bool allow_credentials = false;  // with credentials the origin is echoed, never "*"
  std::chrono::seconds max_age{600};
};
// CORS (Fetch standard): answers preflights (OPTIONS + Access-Control-Request-Method) with 204 without
// calling the handler; adds Access-Control-Allow-Origin and friends to actual requests from allowed
// origins; leaves requests from other origins untouched (the browser then blocks them).
Middleware cors(CorsOptions options = {});

struct GzipOptions {
  int level = 6;                // zlib 1..9
  std::size_t min_size = 1024;  // smaller bodies are not worth it
  std::vector<std::string> types = {"text/", "application/json", "application/javascript", "application/xml",
                                    "image/svg+xml"};  // Content-Type prefixes
};
// Compresses response bodies with gzip when the client accepts it (Accept-Encoding, q > 0), the type
// is compressible and the body is large enough; sets Content-Encoding and Vary: Accept-Encoding.
Middleware gzip(GzipOptions options = {});

// Largest request body accepted (413 beyond it, and no
// `100 Continue`). Enforced by the server before it reads the body; the innermost limit on a route's
// path wins, and the route's own .body_limit() beats them all. Global use also bounds unmatched paths.
inline Middleware body_limit(std::uint64_t bytes) {
  return BodyLimit{bytes};
}

// The request Context's deadline becomes min(current, now + d); when the rest of the onion overruns
// it the answer is 504 DEADLINE_EXCEEDED (unless it already wrote an error). Outgoing calls made with
// req.ctx carry what remains.
inline Middleware timeout(std::chrono::nanoseconds d) {
  return Timeout{d};
}

// Decompresses a gzip body (for tests and clients); INVALID_ARGUMENT if it is not valid gzip.
Result<std::string> gunzip(std::string_view data);

}  // namespace svckit::http::middleware

namespace svckit::http {
// GET /metrics: the registry in the format the scraper's Accept header asks for (Prometheus text
// 0.0.4 or OpenMetrics 1.0).
SyncHandler metrics_handler(metrics::Registry& registry = metrics::Registry::global());
}  // namespace svckit::http
