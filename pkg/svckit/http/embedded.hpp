#pragma once
// Files compiled into the binary (a page's HTML, scripts, styles and icons; cmake/SvckitEmbed.cmake
// generates the list) served the way a browser wants them: a content type from the extension, an ETag
// over the bytes (a matching If-None-Match is a 304), revalidation on every load (`Cache-Control:
// no-cache`, so a new binary's page is never stale) and a page's security headers: the caller's
// Content-Security-Policy, nosniff, no referrer, no framing. The admin console and the gateway's
// portal serve their pages with it.
//
// ```cpp
//   // svckit_embed_assets(target my_page dir FILES index.html) generates such a list: embedded::my_page()
//   static constexpr http::EmbeddedFile kPage[] = {{"index.html", "<!doctype html><title>hi</title>"}};
//   auto files = std::make_shared<http::EmbeddedFiles>(kPage, "default-src 'self'");
//   router.get("/", [files](http::Request& req, http::Response& res) {
//     if (!files->serve("index.html", req, res)) res.error(Status(Code::kNotFound, "no page in this binary"));
//   });
// ```
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "svckit/http/message.hpp"

namespace svckit::http {

struct EmbeddedFile {
  std::string_view path;  // relative to the embedded directory: "index.html", "app.js"
  std::string_view data;
};

class EmbeddedFiles {
 public:
  EmbeddedFiles(std::span<const EmbeddedFile> files, std::string content_security_policy);

  bool contains(std::string_view path) const { return find(path) != nullptr; }
  // Answers with the file at `path`; false, with `res` untouched, when there is none.
  bool serve(std::string_view path, const Request& req, Response& res) const;

 private:
  struct File {
    std::string path;
    std::string_view data;
    std::string_view type;
    std::string etag;
  };
  const File* find(std::string_view path) const;
  std::vector<File> files_;
  std::string csp_;
};

// The content type a browser expects for a file name's extension (application/octet-stream when unknown).
std::string_view content_type_for(std::string_view path);

}  // namespace svckit::http
