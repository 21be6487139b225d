// EmbeddedFiles: content types, the ETag revalidation, the security headers, unknown paths.
#include "svckit/http/embedded.hpp"

#include <gtest/gtest.h>

#include <string>

#include "svckit/http/parser.hpp"

namespace svckit::http {
namespace {

// A request whose head has one If-None-Match field (none when tag is empty).
struct Conditional {
  explicit Conditional(std::string tag) : tag_(std::move(tag)) {
    if (!tag_.empty()) head_.headers[head_.header_count++] = Header{"If-None-Match", tag_};
    req.set_head(&head_);
  }
  Request req;

 private:
  std::string tag_;
  RequestHead head_;
};

constexpr EmbeddedFile kFiles[] = {
    {"index.html", "<!doctype html><p>hi"}, {"app.js", "console.log(1)"}, {"blob.bin", "\x01\x02"}};

TEST(EmbeddedFiles, ServesWithTypeTagAndThePagesSecurityHeaders) {
  EmbeddedFiles files(kFiles, "default-src 'none'");
  Conditional plain("");
  Request& req = plain.req;
  Response res;
  ASSERT_TRUE(files.serve("index.html", req, res));
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "<!doctype html><p>hi");
  EXPECT_EQ(res.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(res.header("Content-Security-Policy"), "default-src 'none'");
  EXPECT_EQ(res.header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(res.header("X-Frame-Options"), "DENY");
  EXPECT_EQ(res.header("Cache-Control"), "no-cache");
  std::string tag(res.header("ETag"));
  EXPECT_EQ(tag.size(), 18u) << tag;

  Response js;
  ASSERT_TRUE(files.serve("app.js", req, js));
  EXPECT_EQ(js.header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_NE(js.header("ETag"), tag) << "each file's tag is over its own bytes";
  Response bin;
  ASSERT_TRUE(files.serve("blob.bin", req, bin));
  EXPECT_EQ(bin.header("Content-Type"), "application/octet-stream");
}

TEST(EmbeddedFiles, AMatchingIfNoneMatchIsA304WithoutBody) {
  EmbeddedFiles files(kFiles, "default-src 'none'");
  Conditional first("");
  Response res;
  ASSERT_TRUE(files.serve("app.js", first.req, res));
  Conditional again{std::string(res.header("ETag"))};
  Response cached;
  ASSERT_TRUE(files.serve("app.js", again.req, cached));
  EXPECT_EQ(cached.status, 304);
  EXPECT_TRUE(cached.body.empty());
  Conditional stale("\"0000000000000000\"");
  Response fresh;
  ASSERT_TRUE(files.serve("app.js", stale.req, fresh));
  EXPECT_EQ(fresh.status, 200);
}

TEST(EmbeddedFiles, AnUnknownPathLeavesTheResponseAlone) {
  EmbeddedFiles files(kFiles, "x");
  Conditional plain("");
  Request& req = plain.req;
  Response res;
  EXPECT_FALSE(files.serve("../index.html", req, res));
  EXPECT_FALSE(files.serve("", req, res));
  EXPECT_TRUE(files.contains("app.js"));
  EXPECT_FALSE(files.contains("missing.css"));
  EXPECT_TRUE(res.header("Content-Security-Policy").empty());
}

}  // namespace
}  // namespace svckit::http
