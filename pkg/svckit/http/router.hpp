#pragma once
// The router: a radix tree over path segments shared by all methods, so that a path known for other
// methods answers 405 with Allow instead of 404. Patterns: static segments, `:param` (one segment) and
// `*wildcard` (the rest of the path, last only); static beats param beats wildcard, with backtracking.
// Middleware is an onion: global (Router::use), per group, per route, in that order around the handler.
//
// ```cpp
//   Task<void> auth(http::Request& req, http::Response& res, http::Next next);   // middleware
//   Task<void> get_user(http::Request& req, http::Response& res);
//   Task<void> upload(http::Request& req, http::Response& res);
//   http::Router r;
//   r.use(http::middleware::request_id());
//   r.get("/hello", [](http::Request&, http::Response& res) { res.json(200, R"({"msg":"Hello svckit"})"); });
//   auto api = r.group("/v1");
//   api.use(auth);
//   api.get("/users/:id", get_user).timeout(2s);      // a coroutine handler: Task<void>(Request&, Response&)
//   api.post("/files/*path", upload).body_limit(64 << 20);
// ```
#include <array>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "svckit/core/task.hpp"
#include "svckit/http/message.hpp"

namespace svckit::http {

using Handler = std::function<Task<void>(Request&, Response&)>;
using SyncHandler = std::function<void(Request&, Response&)>;

struct Chain;
class Next;
using Middleware = std::function<Task<void>(Request&, Response&, Next)>;

// The middleware forms of the per-route options, usable globally, per group and per route
// (middleware::body_limit / middleware::timeout make them). The router recognises them when it
// freezes: a body limit becomes the route's limit, enforced by the server before the body is read
// (the innermost one wins, so a group can raise a global limit for its uploads) and costs nothing at
// run time; a timeout stays in the onion and narrows the request Context's deadline.
struct BodyLimit {
  std::uint64_t bytes;
  Task<void> operator()(Request& req, Response& res, Next next) const;
};
struct Timeout {
  std::chrono::nanoseconds duration;
  Task<void> operator()(Request& req, Response& res, Next next) const;
};

// Calls the rest of the onion.
class Next {
 public:
  Next(const Chain* chain, std::size_t index) : chain_(chain), index_(index) {}
  Task<void> operator()(Request& req, Response& res) const;

 private:
  const Chain* chain_;
  std::size_t index_;
};
struct Chain {
  std::vector<Middleware> middleware;
  Handler handler;
  SyncHandler sync;  // set instead of handler for plain functions
  // True when the whole request can run without a coroutine: no middleware and a sync handler.
  bool is_sync() const noexcept { return middleware.empty() && sync; }
  Task<void> run(Request& req, Response& res) const { return Next(this, 0)(req, res); }
};

struct RouteDoc;  // svckit/http/openapi.hpp

struct Route {
  Method method;
  std::string pattern;
  std::vector<Middleware> middleware;  // group + route middleware, outermost first
  Handler handler;
  SyncHandler sync;
  std::uint64_t max_body = 0;  // 0: the server's default (set by .body_limit() or a BodyLimit middleware)
  std::chrono::nanoseconds timeout{0};
  bool stream_body = false;             // the handler reads the body through req.stream() (set by .stream_body())
  Chain chain;                          // global + middleware + timeout + handler, built by Router::freeze()
  std::shared_ptr<const RouteDoc> doc;  // what the OpenAPI document says of it (set by .doc())
};

class RouteBuilder {
 public:
  explicit RouteBuilder(Route& route) : route_(route) {}
  RouteBuilder& use(Middleware m);
  // Largest request body this route accepts (413 beyond it).
  RouteBuilder& body_limit(std::uint64_t bytes);
  // The request's Context deadline; DEADLINE_EXCEEDED (504) when the handler overruns it.
  RouteBuilder& timeout(std::chrono::nanoseconds t);
  // The server reads no body before the handler: the handler reads it piece by piece with
  // req.stream()->read() (req.body() stays empty), within the route's body limit. For proxies and
  // uploads larger than memory should hold.
  RouteBuilder& stream_body();
  // The route's request and response types, summary, examples... in the service's OpenAPI document
  // (svckit/http/openapi.hpp has RouteDoc and the generator).
  RouteBuilder& doc(RouteDoc d);

 private:
  Route& route_;
};

class Router;

class Group {
 public:
  Group(Router& router, std::string prefix, std::vector<Middleware> middleware)
      : router_(&router), prefix_(std::move(prefix)), middleware_(std::move(middleware)) {}
  // Middleware for the routes registered on this group after this call.
  void use(Middleware m) { middleware_.push_back(std::move(m)); }
  Group group(std::string_view prefix) const { return Group(*router_, prefix_ + std::string(prefix), middleware_); }

  template <class F>
  RouteBuilder handle(Method m, std::string_view path, F&& fn);
  template <class F>
  RouteBuilder get(std::string_view p, F&& f) {
    return handle(Method::kGet, p, std::forward<F>(f));
  }
  template <class F>
  RouteBuilder post(std::string_view p, F&& f) {
    return handle(Method::kPost, p, std::forward<F>(f));
  }
  template <class F>
  RouteBuilder put(std::string_view p, F&& f) {
    return handle(Method::kPut, p, std::forward<F>(f));
  }
  template <class F>
  RouteBuilder patch(std::string_view p, F&& f) {
    return handle(Method::kPatch, p, std::forward<F>(f));
  }
  template <class F>
  RouteBuilder del(std::string_view p, F&& f) {
    return handle(Method::kDelete, p, std::forward<F>(f));
  }
  template <class F>
  RouteBuilder options(std::string_view p, F&& f) {
    return handle(Method::kOptions, p, std::forward<F>(f));
  }
  template <class F>
  RouteBuilder head(std::string_view p, F&& f) {
    return handle(Method::kHead, p, std::forward<F>(f));
  }

 private:
  Router* router_;
  std::string prefix_;
  std::vector<Middleware> middleware_;
};

struct RouterOptions {
  // "/users/" → 301/308 to "/users" (or the reverse) when only the other form exists, as Gin does.
  bool redirect_trailing_slash = true;
};

class Router {
 public:
  explicit Router(RouterOptions options = {});
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Global middleware: wraps every route and the 404/405 answers, whenever it is added.
  void use(Middleware m);
  Group group(std::string_view prefix) { return Group(*this, std::string(prefix), {}); }
  template <class F>
  RouteBuilder get(std::string_view p, F&& f) {
    return root().get(p, std::forward<F>(f));
  }
  template <class F>
  RouteBuilder post(std::string_view p, F&& f) {
    return root().post(p, std::forward<F>(f));
  }
  template <class F>
  RouteBuilder put(std::string_view p, F&& f) {
    return root().put(p, std::forward<F>(f));
  }
  template <class F>
  RouteBuilder patch(std::string_view p, F&& f) {
    return root().patch(p, std::forward<F>(f));
  }
  template <class F>
  RouteBuilder del(std::string_view p, F&& f) {
    return root().del(p, std::forward<F>(f));
  }
  template <class F>
  RouteBuilder handle(Method m, std::string_view p, F&& f) {
    return root().handle(m, p, std::forward<F>(f));
  }

  // Registers a route; a duplicate or a conflicting pattern is a programmer error (std::logic_error).
  Route& add(Method method, std::string_view pattern, std::vector<Middleware> middleware, Handler handler,
             SyncHandler sync);

  struct Match {
    const Route* route = nullptr;  // set when status == 200
    int status = 404;              // 200, 404, 405, or 301/308 with redirect
    std::string allow;             // for 405
    std::string redirect;          // for 301/308
  };
  // Finds the route for method + path and fills req's params and route template.
  Match find(Method method, std::string_view path, Request& req) const;

  // Builds every route's chain; the server calls it before serving. Routes added later are refused.
  void freeze();
  // Runs fn once every route is registered, in freeze() (before serving): for what is built from the
  // whole route table, such as the OpenAPI document.
  void on_freeze(std::function<void(const Router&)> fn);
  bool frozen() const noexcept { return frozen_; }
  // The chain that answers 404/405/redirects (global middleware around a writer of the error).
  const Chain& fallback_chain() const noexcept { return fallback_; }
  const std::deque<Route>& routes() const noexcept { return routes_; }
  // The body limit of requests that match no route (a global BodyLimit middleware), 0 if none.
  std::uint64_t default_body_limit() const noexcept { return default_body_limit_; }
  // Every method some route accepts ("GET, HEAD, POST"), set by freeze(): the server's Allow for
  // OPTIONS * (RFC 9110 §9.3.7).
  const std::string& allowed_methods() const noexcept { return allowed_methods_; }

 private:
  struct Node;
  Group root() { return Group(*this, "", {}); }
  const Node* match(const Node* node, std::string_view rest, Request& req) const;

  RouterOptions options_;
  std::unique_ptr<Node> tree_;
  std::deque<Route> routes_;
  std::vector<Middleware> global_;
  Chain fallback_;
  std::vector<std::function<void(const Router&)>> on_freeze_;
  std::uint64_t default_body_limit_ = 0;
  std::string allowed_methods_;
  bool frozen_ = false;
};

template <class F>
RouteBuilder Group::handle(Method m, std::string_view path, F&& fn) {
  std::string full = prefix_ + std::string(path);
  if constexpr (std::is_invocable_r_v<Task<void>, F&, Request&, Response&> &&
                !std::is_void_v<std::invoke_result_t<F&, Request&, Response&>>) {
    return RouteBuilder(router_->add(m, full, middleware_, Handler(std::forward<F>(fn)), nullptr));
  } else {
    return RouteBuilder(router_->add(m, full, middleware_, nullptr, SyncHandler(std::forward<F>(fn))));
  }
}

}  // namespace svckit::http
