#include "svckit/http/embedded.hpp"

#include <cstdint>
#include <cstdio>

namespace svckit::http {

std::string_view content_type_for(std::string_view path) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".json", "application/json"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
  };
  for (const auto& [ext, type] : kTypes)
    if (path.ends_with(ext)) return type;
  return "application/octet-stream";
}

namespace {
std::string etag_of(std::string_view data) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a: the files change only with the binary
  for (unsigned char c : data) h = (h ^ c) * 1099511628211ull;
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(h));
  return buf;
}
}  // namespace

EmbeddedFiles::EmbeddedFiles(std::span<const EmbeddedFile> files, std::string csp) : csp_(std::move(csp)) {
  files_.reserve(files.size());
  for (const auto& f : files)
    files_.push_back(File{std::string(f.path), f.data, content_type_for(f.path), etag_of(f.data)});
}

const EmbeddedFiles::File* EmbeddedFiles::find(std::string_view path) const {
  for (const auto& f : files_)
    if (f.path == path) return &f;
  return nullptr;
}

bool EmbeddedFiles::serve(std::string_view path, const Request& req, Response& res) const {
  const File* f = find(path);
  if (!f) return false;
  res.set_header("Content-Security-Policy", csp_);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Cache-Control", "no-cache");
  res.set_header("ETag", f->etag);
  if (req.header("If-None-Match") == f->etag) {
    res.status = 304;
    res.body.clear();
    return true;
  }
  res.status = 200;
  res.set_header("Content-Type", f->type);
  res.body.assign(f->data);
  return true;
}

}  // namespace svckit::http
