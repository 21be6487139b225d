#include "svckit/resilience/rules.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace svckit::resilience {

void RouteRule::describe(config::Binder<RouteRule>& b) {
  b.field("method", &RouteRule::method)
      .check(
          [](const std::string& m) {
            return m == "*" ||
                   (!m.empty() && std::all_of(m.begin(), m.end(), [](char c) { return c >= 'A' && c <= 'Z'; }));
          },
          "an upper-case HTTP method or *");
  b.field("route", &RouteRule::route)
      .required()
      .check([](const std::string& r) { return !r.empty() && r[0] == '/'; }, "must start with /");
  b.field("rate", &RouteRule::rate).range(0.0, 1e9).doc("requests per second (a token bucket); 0: none");
  b.field("burst", &RouteRule::burst).range(0.0, 1e9).doc("the bucket's size; 0: max(1, rate)");
  b.field("max_in_flight", &RouteRule::max_in_flight).range(0, 10000000).doc("a bulkhead; 0: none");
  b.validate([](const RouteRule& r) {
    return r.rate > 0 || r.max_in_flight > 0 ? Status() : Status(Code::kInvalidArgument, "set rate or max_in_flight");
  });
}

Result<RouteRule> parse_route_rule(std::string_view text) {
  auto bad = [&](std::string why) {
    return make_error(Code::kInvalidArgument, "route rule '" + std::string(text) + "': " + why);
  };
  std::vector<std::string> words = detail::split_words(text);
  if (words.size() < 3) return bad("expected METHOD /route key=value...");
  RouteRule r{words[0], words[1]};
  for (char& c : r.method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (r.route.empty() || r.route[0] != '/') return bad("the route must start with /");
  for (std::size_t k = 2; k < words.size(); ++k) {
    auto eq = words[k].find('=');
    if (eq == std::string::npos) return bad("expected key=value, got '" + words[k] + "'");
    std::string key = words[k].substr(0, eq), value = words[k].substr(eq + 1);
    char* end = nullptr;
    double v = std::strtod(value.c_str(), &end);
    if (end == value.c_str() || *end || v <= 0) return bad(key + " must be a positive number");
    if (key == "rate")
      r.rate = v;
    else if (key == "burst")
      r.burst = v;
    else if (key == "max_in_flight")
      r.max_in_flight = static_cast<std::size_t>(v);
    else
      return bad("unknown key '" + key + "' (rate, burst, max_in_flight)");
  }
  if (r.rate == 0 && r.max_in_flight == 0) return bad("set rate or max_in_flight");
  if (r.burst == 0) r.burst = std::max(1.0, r.rate);
  return r;
}

std::vector<std::string> detail::split_words(std::string_view text) {
  std::vector<std::string> words;
  for (std::size_t i = 0; i < text.size();) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    std::size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\t') ++j;
    if (j > i) words.emplace_back(text.substr(i, j - i));
    i = j;
  }
  return words;
}

}  // namespace svckit::resilience
