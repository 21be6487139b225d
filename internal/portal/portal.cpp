#include "portal.hpp"

#include <memory>
#include <vector>

#include "svckit/http/embedded.hpp"

namespace svckit::embedded {
std::span<const http::EmbeddedFile> portal_assets();  // generated from internal/portal/web
}

namespace svckit::portal {

void Settings::describe(config::Binder<Settings>& b) {
  b.field("enabled", &Settings::enabled).doc("serve the web portal at / and /portal/ (docs/portal.md)");
}

void mount(http::Router& router, const Settings& settings) {
  if (!settings.enabled) return;
  auto files = std::make_shared<http::EmbeddedFiles>(embedded::portal_assets(), std::string(kCsp));
  auto page = [files](http::Request& req, http::Response& res) {
    if (!files->serve("index.html", req, res))
      res.error(Status(Code::kNotFound, "NO_PORTAL", "the portal's files are not in this binary"));
  };
  auto file = [files](http::Request& req, http::Response& res) {
    // The page itself only at "/", so that its relative links resolve one way.
    if (req.param("file") == "index.html" || !files->serve(req.param("file"), req, res))
      res.error(Status(Code::kNotFound, "NOT_FOUND", "no such portal file"));
  };
  router.get("/", page);  // HEAD too (the router answers HEAD with GET's handler)
  router.get("/portal/*file", file);
}

}  // namespace svckit::portal
