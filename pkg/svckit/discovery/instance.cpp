#include "svckit/discovery/instance.hpp"

#include <charconv>

namespace svckit::discovery {

std::optional<std::string_view> Instance::endpoint(std::string_view scheme) const noexcept {
  for (const std::string& e : endpoints) {
    std::string_view v = e;
    if (v.size() > scheme.size() + 3 && v.substr(0, scheme.size()) == scheme && v.substr(scheme.size(), 3) == "://")
      return v.substr(scheme.size() + 3);
  }
  return std::nullopt;
}

Status validate_endpoint(std::string_view endpoint) {
  auto bad = [&](std::string_view why) {
    return Status(Code::kInvalidArgument, "endpoint \"" + std::string(endpoint) + "\": " + std::string(why));
  };
  auto sep = endpoint.find("://");
  if (sep == std::string_view::npos || sep == 0) return bad("expected scheme://host:port");
  std::string_view authority = endpoint.substr(sep + 3);
  std::string_view host;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos || close + 1 >= authority.size() || authority[close + 1] != ':')
      return bad("expected [v6]:port");
    host = authority.substr(1, close - 1);
    port = authority.substr(close + 2);
  } else {
    auto colon = authority.rfind(':');
    if (colon == std::string_view::npos) return bad("no port");
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return bad("no host");
  if (host == "0.0.0.0" || host == "::" || host == "*") return bad("a wildcard address is not reachable");
  unsigned p = 0;
  auto r = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || r.ec != std::errc() || r.ptr != port.data() + port.size() || p == 0 || p > 65535)
    return bad("the port must be 1..65535");
  return Status();
}

void Instance::json_schema(json::Schema<Instance>& s) {
  s.field("id", &Instance::id).required().length(1, 200);
  s.field("name", &Instance::name).required().length(1, 200);
  s.field("version", &Instance::version).omit_empty();
  s.field("endpoints", &Instance::endpoints).max_items(16);
  s.field("metadata", &Instance::metadata).omit_empty();
  s.field("weight", &Instance::weight).range(0, 1000000);
  s.field("zone", &Instance::zone).omit_empty();
}

void Instance::describe(config::Binder<Instance>& b) {
  b.field("id", &Instance::id).required().doc("unique within the service");
  b.field("name", &Instance::name).doc("the service's name (a static list sets it from its key)");
  b.field("version", &Instance::version).doc("matched by version filters and canary routes");
  b.field("endpoints", &Instance::endpoints)
      .check(
          [](const std::vector<std::string>& es) {
            for (const std::string& e : es)
              if (!validate_endpoint(e).ok()) return false;
            return !es.empty();
          },
          "expected one or more scheme://host:port with a port 1..65535 and a host clients can reach (not a "
          "wildcard address such as 0.0.0.0)")
      .doc("scheme://host:port, e.g. http://10.0.0.7:8080");
  b.field("weight", &Instance::weight).range(0, 1000000).doc("relative weight for weighted balancers");
  b.field("zone", &Instance::zone).doc("matched by zone filters");
  b.field("metadata", &Instance::metadata).doc("free-form; admin: the instance's admin URL (active health checks)");
  b.validate([](const Instance& i) -> Status {
    if (i.endpoints.empty()) return Status(Code::kInvalidArgument, "an instance needs at least one endpoint");
    for (const std::string& e : i.endpoints)
      if (Status st = validate_endpoint(e); !st.ok()) return st;
    return Status();
  });
}

std::vector<Instance> filter(const std::vector<Instance>& set, std::string_view version, std::string_view zone) {
  std::vector<Instance> out;
  for (const Instance& i : set)
    if ((version.empty() || i.version == version) && (zone.empty() || i.zone == zone)) out.push_back(i);
  return out;
}

bool valid_http_endpoints(const std::vector<std::string>& endpoints) {
  for (const std::string& e : endpoints)
    if (!validate_endpoint(e).ok() || e.rfind("http://", 0) != 0) return false;
  return !endpoints.empty();
}

std::vector<Instance> prefer_zone(const std::vector<Instance>& set, std::string_view zone) {
  if (zone.empty()) return set;
  std::vector<Instance> local = filter(set, {}, zone);
  return local.empty() ? set : local;
}

}  // namespace svckit::discovery
