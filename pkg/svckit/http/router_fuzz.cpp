// libFuzzer target for the router (make fuzz, target router). The input is route templates, one per
// line, then an empty line, then request paths. Templates the router refuses (conflicts, duplicates,
// bad wildcards) are skipped; every path is looked up and checked against a reference that tries each
// accepted template on its own: the router finds a route exactly when some template matches, picks
// the one that static-beats-param-beats-wildcard order prefers, with the same parameters, and
// redirects only to the other trailing-slash form when that one matches. Each template's own shape
// (parameters and wildcard filled in) finds that template.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "svckit/http/router.hpp"

using namespace svckit::http;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    auto p = s.find(sep);
    out.push_back(s.substr(0, p));
    if (p == std::string_view::npos) return out;
    s.remove_prefix(p + 1);
  }
}

using Params = std::vector<std::pair<std::string, std::string>>;

// Kinds of a template's segments in the router's order of preference.
int kind(std::string_view seg) {
  if (!seg.empty() && seg.front() == '*') return 2;
  if (!seg.empty() && seg.front() == ':') return 1;
  return 0;
}

// Does `pattern` match `path` on its own? Both start with '/'.
std::optional<Params> match_one(std::string_view pattern, std::string_view path) {
  auto ps = split(pattern.substr(1), '/');
  std::string_view rest = path.substr(1);
  Params params;
  for (std::size_t i = 0; i < ps.size(); ++i) {
    std::string_view seg = ps[i];
    if (kind(seg) == 2) {
      params.emplace_back(std::string(seg.substr(1)), std::string(rest));
      return params;
    }
    auto slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    bool last = i + 1 == ps.size();
    if (last != (slash == std::string_view::npos)) return std::nullopt;
    if (kind(seg) == 1) {
      if (part.empty()) return std::nullopt;
      params.emplace_back(std::string(seg.substr(1)), std::string(part));
    } else if (seg != part) {
      return std::nullopt;
    }
    if (!last) rest.remove_prefix(slash + 1);
  }
  return params;
}

// The preferred template of those that match: at the first segment where two differ in kind, the
// more specific kind wins.
bool preferred(std::string_view a, std::string_view b) {
  auto sa = split(a.substr(1), '/'), sb = split(b.substr(1), '/');
  for (std::size_t i = 0; i < sa.size() && i < sb.size(); ++i)
    if (kind(sa[i]) != kind(sb[i])) return kind(sa[i]) < kind(sb[i]);
  return false;
}

struct Found {
  const std::string* pattern = nullptr;
  Params params;
};

Found reference(const std::vector<std::string>& templates, std::string_view path) {
  Found best;
  if (path.empty() || path.front() != '/') return best;
  for (const auto& t : templates) {
    auto m = match_one(t, path);
    if (m && (!best.pattern || preferred(t, *best.pattern))) best = Found{&t, std::move(*m)};
  }
  return best;
}

void check_lookup(const Router& router, const std::vector<std::string>& templates, std::string_view path) {
  Request req;
  RequestHead head;
  req.set_head(&head);
  Router::Match m = router.find(Method::kGet, path, req);
  Found want = reference(templates, path);
  if (want.pattern) {
    require(m.status == 200 && m.route->pattern == *want.pattern);
    require(req.param_count() == want.params.size());
    for (std::size_t i = 0; i < want.params.size(); ++i)
      require(req.param_at(i).name == want.params[i].first && req.param_at(i).value == want.params[i].second);
    return;
  }
  require(m.status == 404 || m.status == 301);
  if (m.status == 301) {
    std::string other = path.back() == '/' ? std::string(path.substr(0, path.size() - 1)) : std::string(path) + "/";
    require(m.redirect == other && reference(templates, other).pattern);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t len) {
  std::string_view in(reinterpret_cast<const char*>(bytes), len);
  auto blank = in.find("\n\n");
  std::string_view table = in.substr(0, blank);
  std::string_view paths = blank == std::string_view::npos ? std::string_view() : in.substr(blank + 2);

  Router router;
  std::vector<std::string> templates;
  for (std::string_view t : split(table, '\n')) {
    if (templates.size() == 64) break;
    try {
      router.get(t, [](Request&, Response&) {});
      templates.emplace_back(t);
    } catch (const std::logic_error&) {
    }
  }
  router.freeze();

  for (const auto& t : templates) {
    // The template's own shape: each parameter filled in, the wildcard given two segments.
    std::string path;
    for (std::string_view seg : split(std::string_view(t).substr(1), '/')) {
      path += '/';
      if (kind(seg) == 1)
        path += "p";
      else if (kind(seg) == 2)
        path += "w/x";
      else
        path += seg;
    }
    Request req;
    RequestHead head;
    req.set_head(&head);
    require(router.find(Method::kGet, path, req).status == 200);
    check_lookup(router, templates, path);
  }
  if (!paths.empty())
    for (std::string_view p : split(paths, '\n')) check_lookup(router, templates, p);
  return 0;
}
