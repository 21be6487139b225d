#include "svckit/http/router.hpp"

#include <gtest/gtest.h>

#include "svckit/core/runtime.hpp"
#include "svckit/testing/github_routes.hpp"

namespace svckit::http {
namespace {

TEST(RouterTest, EveryGithubRouteFindsItselfWithItsParams) {
  Router r;
  for (auto& [m, p] : testdata::kGithubRoutes) r.handle(m, p, [](Request&, Response&) {});
  r.freeze();
  RequestHead head;
  Request req;
  req.set_head(&head);
  for (auto& [m, p] : testdata::kGithubRoutes) {
    std::string path = testdata::concrete_path(p);
    auto match = r.find(m, path, req);
    ASSERT_EQ(match.status, 200) << p;
    EXPECT_EQ(match.route->pattern, p);
    EXPECT_EQ(req.route(), p);
    for (std::size_t i = 0; i < req.param_count(); ++i)
      EXPECT_EQ(std::string(req.param_at(i).value), std::string(req.param_at(i).name) + "_value") << p;
  }
  EXPECT_EQ(r.routes().size(), std::size(testdata::kGithubRoutes));
}

TEST(RouterTest, PriorityAndBacktracking) {
  Router r;
  r.get("/a/:x/c", [](Request&, Response&) {});
  r.get("/a/b/d", [](Request&, Response&) {});
  r.get("/s/*rest", [](Request&, Response&) {});
  r.get("/s/fixed", [](Request&, Response&) {});
  r.freeze();
  RequestHead head;
  Request req;
  req.set_head(&head);
  // "/a/b/c": the static "b" branch has no "c", so the router backtracks into ":x".
  auto m = r.find(Method::kGet, "/a/b/c", req);
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.route->pattern, "/a/:x/c");
  EXPECT_EQ(req.param("x"), "b");
  EXPECT_EQ(req.param_count(), 1u);
  EXPECT_EQ(r.find(Method::kGet, "/a/b/d", req).route->pattern, "/a/b/d");
  EXPECT_EQ(r.find(Method::kGet, "/s/fixed", req).route->pattern, "/s/fixed");
  EXPECT_EQ(r.find(Method::kGet, "/s/fixed/more", req).route->pattern, "/s/*rest");
  EXPECT_EQ(req.param("rest"), "fixed/more");
  EXPECT_EQ(r.find(Method::kGet, "/a/x", req).status, 404);
  EXPECT_EQ(r.find(Method::kGet, "/a//c", req).status, 404);  // a param never matches an empty segment
}

TEST(RouterTest, ConflictsAreProgrammerErrors) {
  Router r;
  r.get("/u/:id", [](Request&, Response&) {});
  EXPECT_THROW(r.get("/u/:name/x", [](Request&, Response&) {}), std::logic_error);
  EXPECT_THROW(r.get("/u/:id", [](Request&, Response&) {}), std::logic_error);
  EXPECT_THROW(r.get("/f/*a/b", [](Request&, Response&) {}), std::logic_error);
  EXPECT_THROW(r.get("nope", [](Request&, Response&) {}), std::logic_error);
  r.freeze();
  EXPECT_THROW(r.get("/late", [](Request&, Response&) {}), std::logic_error);
}

// Found by the router fuzzer: a template with more parameters than a Request holds matched, and the
// parameters past the 16th read as empty in the handler.
TEST(RouterTest, MoreParametersThanARequestHoldsAreRefused) {
  Router r;
  std::string most, too_many, path;
  for (std::size_t i = 0; i < kMaxParams; ++i) {
    most += "/:p" + std::to_string(i);
    path += "/v" + std::to_string(i);
  }
  too_many = "/x" + most + "/*rest";
  r.get(most, [](Request&, Response&) {});
  EXPECT_THROW(r.get(too_many, [](Request&, Response&) {}), std::logic_error);
  Request req;
  RequestHead head;
  req.set_head(&head);
  ASSERT_EQ(r.find(Method::kGet, path, req).status, 200);
  EXPECT_EQ(req.param("p" + std::to_string(kMaxParams - 1)), "v" + std::to_string(kMaxParams - 1));
}

TEST(RouterTest, GroupsAndMiddlewareOrder) {
  Router r;
  std::string trace;
  r.use([&trace](Request& q, Response& s, Next n) -> Task<void> {
    trace += "g<";
    co_await n(q, s);
    trace += ">g";
  });
  auto api = r.group("/api");
  api.use([&trace](Request& q, Response& s, Next n) -> Task<void> {
    trace += "a<";
    co_await n(q, s);
    trace += ">a";
  });
  api.get("/x", [&trace](Request&, Response&) { trace += "h"; })
      .use([&trace](Request& q, Response& s, Next n) -> Task<void> {
        trace += "r<";
        co_await n(q, s);
        trace += ">r";
      });
  r.freeze();
  RequestHead head;
  Request req;
  req.set_head(&head);
  Response res;
  auto m = r.find(Method::kGet, "/api/x", req);
  ASSERT_EQ(m.status, 200);
  Runtime rt({.workers = 1});
  rt.block_on(m.route->chain.run(req, res));
  EXPECT_EQ(trace, "g<a<r<h>r>a>g");
  EXPECT_FALSE(m.route->chain.is_sync());
}

}  // namespace
}  // namespace svckit::http
