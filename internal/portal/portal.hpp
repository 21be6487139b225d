#pragma once
// The platform's web portal (docs/portal.md): plain HTML/JS/CSS files embedded in the gateway's binary
// and served by the gateway itself at `/` and `/portal/*`, so that the pages and the APIs behind the
// gateway share one origin. The pages' policy: nothing inline, nothing from elsewhere (a strict CSP),
// no framing, no referrer, no sniffing. These are ordinary router routes beside the gateway's
// catch-all: a proxied request never passes through this code.
#include "svckit/config/binder.hpp"
#include "svckit/http/router.hpp"

namespace svckit::portal {

// The `portal:` configuration section of the gateway.
struct Settings {
  bool enabled = true;
  static void describe(config::Binder<Settings>& b);
};

// The Content-Security-Policy of every portal file.
inline constexpr std::string_view kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// GET (and HEAD) / (the page) and /portal/*file (its files); nothing when settings.enabled is false.
void mount(http::Router& router, const Settings& settings);

}  // namespace svckit::portal
