#pragma once
// Built-in middleware. The default set a service gets from the app runtime is
// recovery + request_id + access_log; the others are opt-in.
#include <chrono>
#include <string>
#include <vector>

#include "svckit/http/router.hpp"
#include "svckit/log/logger.hpp"

namespace svckit::http::middleware {

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

}  // namespace svckit::http::middleware
