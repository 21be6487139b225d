#include "portal.hpp"

#include <cstdio>
#include <memory>
#include <vector>

#include "svckit/app/detail/console.hpp"  // EmbeddedAsset: the same embedding as the admin console

namespace svckit::app::detail {
std::span<const EmbeddedAsset> portal_assets();  // generated from internal/portal/web
}

namespace svckit::portal {

namespace {

std::string_view content_type(std::string_view path) {
  if (path.ends_with(".html")) return "text/html; charset=utf-8";
  if (path.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (path.ends_with(".css")) return "text/css; charset=utf-8";
  if (path.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

std::string etag(std::string_view data) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a: the files change only with the binary
  for (unsigned char c : data) h = (h ^ c) * 1099511628211ull;
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(h));
  return buf;
}

struct File {
  std::string path;
  std::string_view data;
  std::string_view type;
  std::string tag;
};

void serve(const File& f, http::Request& req, http::Response& res) {
  res.set_header("Content-Security-Policy", kCsp);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("X-Frame-Options", "DENY");
  // Revalidated on each load (an ETag match is a 304), so a new gateway's pages are never stale.
  res.set_header("Cache-Control", "no-cache");
  res.set_header("ETag", f.tag);
  if (req.header("If-None-Match") == f.tag) {
    res.status = 304;
    res.body.clear();
    return;
  }
  res.status = 200;
  res.set_header("Content-Type", f.type);
  res.body.assign(f.data);
}

}  // namespace

void Settings::describe(config::Binder<Settings>& b) {
  b.field("enabled", &Settings::enabled).doc("serve the web portal at / and /portal/ (docs/portal.md)");
}

void mount(http::Router& router, const Settings& settings) {
  if (!settings.enabled) return;
  auto files = std::make_shared<std::vector<File>>();
  for (const auto& a : app::detail::portal_assets())
    files->push_back(File{std::string(a.path), a.data, content_type(a.path), etag(a.data)});
  auto find = [files](std::string_view path) -> const File* {
    for (const auto& f : *files)
      if (f.path == path) return &f;
    return nullptr;
  };
  auto page = [find](http::Request& req, http::Response& res) {
    if (const File* f = find("index.html")) return serve(*f, req, res);
    res.error(Status(Code::kNotFound, "NO_PORTAL", "the portal's files are not in this binary"));
  };
  auto file = [find](http::Request& req, http::Response& res) {
    if (const File* f = find(req.param("file")); f && f->path != "index.html") return serve(*f, req, res);
    res.error(Status(Code::kNotFound, "NOT_FOUND", "no such portal file"));
  };
  router.get("/", page);  // HEAD too (the router answers HEAD with GET's handler)
  router.get("/portal/*file", file);
}

}  // namespace svckit::portal
