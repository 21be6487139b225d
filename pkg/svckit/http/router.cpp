#include "svckit/http/router.hpp"

#include <stdexcept>

#include "svckit/core/runtime.hpp"

namespace svckit::http {

namespace {
constexpr std::size_t kMethods = 9;  // Method::kGet .. Method::kTrace

}  // namespace

Task<void> BodyLimit::operator()(Request& req, Response& res, Next next) const {
  // Folded into the route at freeze(); reached only when a chain is run outside a frozen router.
  if (req.body().size() > bytes) {
    res.error(Status::from_http(413, "request body too large"));
    co_return;
  }
  co_await next(req, res);
}

Task<void> Timeout::operator()(Request& req, Response& res, Next next) const {
  Context outer = req.ctx;
  req.ctx = outer.with_timeout(duration);
  {
    svckit::detail::DeadlineGuard guard(req.ctx);
    co_await next(req, res);
  }
  if (req.ctx.err().code() == Code::kDeadlineExceeded && res.status < 400)
    res.error(Status(Code::kDeadlineExceeded, "route timeout exceeded"));
  req.ctx = outer;
}

Task<void> Next::operator()(Request& req, Response& res) const {
  const Chain& c = *chain_;
  if (index_ < c.middleware.size()) return c.middleware[index_](req, res, Next(chain_, index_ + 1));
  if (c.sync) {
    // A sync handler at the end of an onion: run it inline and hand back a finished task.
    c.sync(req, res);
    return []() -> Task<void> { co_return; }();
  }
  return c.handler(req, res);
}

RouteBuilder& RouteBuilder::use(Middleware m) {
  route_.middleware.push_back(std::move(m));
  return *this;
}
RouteBuilder& RouteBuilder::body_limit(std::uint64_t bytes) {
  route_.max_body = bytes;
  return *this;
}
RouteBuilder& RouteBuilder::stream_body() {
  route_.stream_body = true;
  return *this;
}
RouteBuilder& RouteBuilder::timeout(std::chrono::nanoseconds t) {
  route_.timeout = t;
  return *this;
}

struct Router::Node {
  std::string segment;  // static text of this node ("" for the root)
  std::vector<std::unique_ptr<Node>> statics;
  std::unique_ptr<Node> param;
  std::string param_name;
  std::unique_ptr<Node> wildcard;
  std::string wildcard_name;
  std::array<Route*, kMethods> routes{};

  bool has_routes() const noexcept {
    for (auto* r : routes)
      if (r) return true;
    return false;
  }
};

Router::Router(RouterOptions options) : options_(options), tree_(std::make_unique<Node>()) {}
Router::~Router() = default;

void Router::use(Middleware m) {
  if (frozen_) throw std::logic_error("Router::use after the server started");
  global_.push_back(std::move(m));
}

Route& Router::add(Method method, std::string_view pattern, std::vector<Middleware> middleware, Handler handler,
                   SyncHandler sync) {
  if (frozen_) throw std::logic_error("route added after the server started: " + std::string(pattern));
  if (method == Method::kOther) throw std::logic_error("routes need a standard method");
  if (pattern.empty() || pattern.front() != '/')
    throw std::logic_error("route must start with '/': " + std::string(pattern));
  Node* node = tree_.get();
  std::string_view rest = pattern.substr(1);
  bool at_root = rest.empty();
  std::size_t params = 0;
  while (!at_root) {
    auto slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    bool last = slash == std::string_view::npos;
    // A Request holds kMaxParams parameters: more would match and then read as missing.
    if (!seg.empty() && (seg.front() == ':' || seg.front() == '*') && ++params > kMaxParams)
      throw std::logic_error("more than " + std::to_string(kMaxParams) + " parameters in " + std::string(pattern));
    if (!seg.empty() && seg.front() == ':') {
      std::string_view name = seg.substr(1);
      if (name.empty()) throw std::logic_error("empty parameter name in " + std::string(pattern));
      if (node->param && node->param_name != name)
        throw std::logic_error("route " + std::string(pattern) + " conflicts: parameter :" + std::string(name) +
                               " where :" + node->param_name + " exists");
      if (!node->param) {
        node->param = std::make_unique<Node>();
        node->param_name = std::string(name);
      }
      node = node->param.get();
    } else if (!seg.empty() && seg.front() == '*') {
      if (!last) throw std::logic_error("a wildcard must be the last segment: " + std::string(pattern));
      std::string_view name = seg.substr(1);
      if (name.empty()) throw std::logic_error("empty wildcard name in " + std::string(pattern));
      if (node->wildcard && node->wildcard_name != name)
        throw std::logic_error("route " + std::string(pattern) + " conflicts with wildcard *" + node->wildcard_name);
      if (!node->wildcard) {
        node->wildcard = std::make_unique<Node>();
        node->wildcard_name = std::string(name);
      }
      node = node->wildcard.get();
    } else {
      Node* next = nullptr;
      for (auto& c : node->statics)
        if (c->segment == seg) next = c.get();
      if (!next) {
        node->statics.push_back(std::make_unique<Node>());
        next = node->statics.back().get();
        next->segment = std::string(seg);
      }
      node = next;
    }
    if (last) break;
    rest.remove_prefix(slash + 1);
  }
  auto idx = static_cast<std::size_t>(method);
  if (node->routes[idx])
    throw std::logic_error("duplicate route " + std::string(method_name(method)) + " " + std::string(pattern));
  Route& r = routes_.emplace_back();
  r.method = method;
  r.pattern = std::string(pattern);
  r.middleware = std::move(middleware);
  r.handler = std::move(handler);
  r.sync = std::move(sync);
  node->routes[idx] = &r;
  return r;
}

void Router::freeze() {
  if (frozen_) return;
  frozen_ = true;
  // BodyLimit entries are folded into a limit (innermost wins) and dropped from the onion.
  auto fold = [](const std::vector<Middleware>& in, std::vector<Middleware>& out, std::uint64_t& limit) {
    for (const auto& m : in) {
      if (const BodyLimit* b = m.target<BodyLimit>()) {
        limit = b->bytes;
        continue;
      }
      out.push_back(m);
    }
  };
  std::vector<Middleware> global;
  fold(global_, global, default_body_limit_);
  bool accepted[kMethods] = {};
  for (auto& r : routes_) {
    accepted[static_cast<std::size_t>(r.method)] = true;
    std::uint64_t limit = default_body_limit_;
    r.chain.middleware.clear();
    fold(global_, r.chain.middleware, limit);
    fold(r.middleware, r.chain.middleware, limit);
    if (r.max_body == 0) r.max_body = limit;  // an explicit .body_limit() wins
    if (r.timeout.count() > 0) r.chain.middleware.emplace_back(Timeout{r.timeout});
    r.chain.handler = r.handler;
    r.chain.sync = r.sync;
  }
  accepted[static_cast<std::size_t>(Method::kHead)] |= accepted[static_cast<std::size_t>(Method::kGet)];
  for (std::size_t i = 0; i < kMethods; ++i) {
    if (!accepted[i]) continue;
    if (!allowed_methods_.empty()) allowed_methods_ += ", ";
    allowed_methods_ += method_name(static_cast<Method>(i));
  }
  fallback_.middleware = std::move(global);
  fallback_.sync = [](Request&, Response&) {};  // the server wrote the 404/405/redirect already
  for (auto& fn : on_freeze_) fn(*this);
  on_freeze_.clear();
}

void Router::on_freeze(std::function<void(const Router&)> fn) {
  if (frozen_) throw std::logic_error("Router::on_freeze after the server started");
  on_freeze_.push_back(std::move(fn));
}

// rest: the path after this node's segment and its '/'. Empty means "ends here" only when `done`.
const Router::Node* Router::match(const Node* node, std::string_view rest, Request& req) const {
  auto slash = rest.find('/');
  std::string_view seg = rest.substr(0, slash);
  bool last = slash == std::string_view::npos;
  std::string_view after = last ? std::string_view() : rest.substr(slash + 1);

  for (auto& child : node->statics) {
    if (child->segment != seg) continue;
    if (last) {
      if (child->has_routes()) return child.get();
    } else if (const Node* n = match(child.get(), after, req)) {
      return n;
    }
    break;
  }
  if (node->param && !seg.empty()) {
    std::size_t mark = req.param_count();
    req.add_param(node->param_name, seg);
    if (last) {
      if (node->param->has_routes()) return node->param.get();
    } else if (const Node* n = match(node->param.get(), after, req)) {
      return n;
    }
    req.truncate_params(mark);  // drop what this branch added
  }
  if (node->wildcard && node->wildcard->has_routes()) {
    req.add_param(node->wildcard_name, rest);  // the rest of the path, slashes included
    return node->wildcard.get();
  }
  return nullptr;
}

Router::Match Router::find(Method method, std::string_view path, Request& req) const {
  Match m;
  req.clear_params();
  const Node* node = nullptr;
  if (path.empty() || path.front() != '/') return m;
  std::string_view rest = path.substr(1);
  if (rest.empty()) {
    node = tree_->has_routes() ? tree_.get() : nullptr;
    // "/" can still be a wildcard's match: /*path.
    if (!node && tree_->wildcard && tree_->wildcard->has_routes()) {
      req.add_param(tree_->wildcard_name, rest);
      node = tree_->wildcard.get();
    }
  } else {
    node = match(tree_.get(), rest, req);
  }

  if (node) {
    auto idx = static_cast<std::size_t>(method);
    const Route* r = method == Method::kOther ? nullptr : node->routes[idx];
    if (!r && method == Method::kHead) r = node->routes[static_cast<std::size_t>(Method::kGet)];
    if (r) {
      m.route = r;
      m.status = 200;
      req.set_route(r->pattern);
      return m;
    }
    m.status = 405;
    for (std::size_t i = 0; i < kMethods; ++i) {
      if (!node->routes[i]) continue;
      if (!m.allow.empty()) m.allow += ", ";
      m.allow += method_name(static_cast<Method>(i));
      if (static_cast<Method>(i) == Method::kGet && !node->routes[static_cast<std::size_t>(Method::kHead)])
        m.allow += ", HEAD";
    }
    req.clear_params();
    return m;
  }

  req.clear_params();
  if (options_.redirect_trailing_slash && path.size() > 1) {
    std::string other = path.back() == '/' ? std::string(path.substr(0, path.size() - 1)) : std::string(path) + "/";
    Request probe;
    RequestHead dummy;
    probe.set_head(&dummy);
    std::string_view o = other;
    const Node* alt =
        o.size() == 1 ? (tree_->has_routes() ? tree_.get() : nullptr) : match(tree_.get(), o.substr(1), probe);
    if (alt && alt->has_routes()) {
      m.status = method == Method::kGet || method == Method::kHead ? 301 : 308;
      m.redirect = std::move(other);
      if (!req.query().empty()) {
        m.redirect += '?';
        m.redirect += req.query();
      }
    }
  }
  return m;
}

}  // namespace svckit::http
