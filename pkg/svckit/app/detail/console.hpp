#pragma once
// The admin console (the admin port's `/`) and the admin port's guards; App wires them, see
// docs/admin.md. The page is plain files embedded in the binary (console/, generated into
// console_assets.cpp by cmake/SvckitEmbed.cmake) and polls GET /debug/console for live state.
#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "svckit/http/embedded.hpp"
#include "svckit/http/router.hpp"
#include "svckit/log/logger.hpp"
#include "svckit/metrics/metrics.hpp"

namespace svckit::resilience {
class Shedder;
class TokenBucket;
class Bulkhead;
}  // namespace svckit::resilience

namespace svckit::embedded {
std::span<const http::EmbeddedFile> console_assets();  // generated from pkg/svckit/app/console
}

namespace svckit::app::detail {

struct ConsoleParts {
  metrics::Registry* registry = nullptr;
  log::Logger logger;
  std::string service;
  std::string version;
  std::shared_ptr<resilience::Shedder> shedder;  // may be null
  // The traffic port's own limiters (resilience.rate_limit, resilience.max_in_flight); may be null.
  std::shared_ptr<resilience::TokenBucket> rate_limit;
  std::shared_ptr<resilience::Bulkhead> bulkhead;
  std::chrono::milliseconds window{10000};  // RED figures cover this much (or what polling gave)
};

// GET / and /console/*file (the page), GET /debug/console (its JSON).
void mount_console(http::Router& admin, ConsoleParts parts);

// 32 random bytes as hex: the per-process CSRF token.
std::string random_token();
bool loopback_host(std::string_view host) noexcept;
// Constant-time equality for secrets.
bool same_secret(std::string_view a, std::string_view b) noexcept;

// On every admin route but the probes, the scrape and the page's own files: `Authorization: Bearer
// <token>` or 401. Installed only when the admin port binds beyond loopback.
http::Middleware bearer_guard(std::string token);
// For state-changing admin routes: a same-origin request carrying `X-CSRF-Token: <token>` (the page
// reads it from GET /debug/csrf), else 403.
http::Middleware csrf_guard(std::string token);

}  // namespace svckit::app::detail
