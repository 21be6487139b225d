// libFuzzer target for configuration input (make fuzz, target config): a YAML document through
// parse_yaml, then `KEY=value` lines laid over it as environment variables are (plain text, lists
// comma-separated), bound into a struct with strings, integers, floating point, durations, sizes, an
// enum, a nested section, a list and a map of structs, and validation rules. Besides crashes and
// exceptions escaping it checks fixed points: a bound struct written back as keys (as defaults are)
// binds to the same keys again, and every value that parses as a duration or a size formats to text
// that parses to the same value.
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "svckit/config/config.hpp"

namespace config = svckit::config;
using namespace std::chrono_literals;
using config::operator""_MiB;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

enum class Mode { kDebug, kRelease };
constexpr auto config_names(Mode) {
  return std::array{std::pair{Mode::kDebug, "debug"}, std::pair{Mode::kRelease, "release"}};
}

struct Upstream {
  std::string name;
  std::chrono::milliseconds timeout{1000};
  config::ByteSize limit = 1_MiB;
  static void describe(config::Binder<Upstream>& b) {
    b.field("name", &Upstream::name).required();
    b.field("timeout", &Upstream::timeout).range(1ms, 1h);
    b.field("limit", &Upstream::limit);
  }
};

struct Tuning {
  bool enabled = false;
  double ratio = 0.5;
  std::vector<std::string> tags;
  std::uint32_t buffer = 4096;
  static void describe(config::Binder<Tuning>& b) {
    b.field("enabled", &Tuning::enabled);
    b.field("ratio", &Tuning::ratio).range(0.0, 1.0);
    b.field("tags", &Tuning::tags);
    b.bytes("buffer", &Tuning::buffer);
  }
};

struct Settings {
  std::string host = "localhost";
  int port = 8080;
  std::int8_t small = 0;
  std::uint64_t big = 0;
  std::chrono::nanoseconds precise{0};
  std::chrono::seconds coarse{30};
  config::ByteSize max_body = 4_MiB;
  Mode mode = Mode::kRelease;
  Tuning tuning;
  std::vector<Upstream> upstreams;
  std::map<std::string, Upstream> routes;
  static void describe(config::Binder<Settings>& b) {
    b.field("host", &Settings::host).non_empty();
    b.field("port", &Settings::port).range(1, 65535);
    b.field("small", &Settings::small);
    b.field("big", &Settings::big);
    b.field("precise", &Settings::precise);
    b.field("coarse", &Settings::coarse);
    b.field("max_body", &Settings::max_body);
    b.field("mode", &Settings::mode);
    b.section("tuning", &Settings::tuning);
    b.field("upstreams", &Settings::upstreams);
    b.field("routes", &Settings::routes);
  }
};

// Lists from the environment are comma-separated with blanks trimmed: items that hold a comma, start
// or end with a blank, or are empty cannot be written that way, so the fixed point skips them.
bool writable(const Settings& s) {
  for (const auto& t : s.tuning.tags)
    if (t.empty() || t.find(',') != std::string::npos || t.front() == ' ' || t.back() == ' ') return false;
  return true;
}

config::Layer written(const Settings& s) {
  config::Layer out;
  config::detail::write_defaults(s, "svc", out);
  return out;
}

bool same(const config::Layer& a, const config::Layer& b) {
  if (a.size() != b.size()) return false;
  for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib)
    if (ia->first != ib->first || ia->second.value != ib->second.value) return false;
  return true;
}

void check_units(std::string_view v) {
  if (auto d = config::parse_duration(v)) {
    auto again = config::parse_duration(config::format_duration(*d));
    require(again.has_value() && *again == *d);
  }
  if (auto s = config::parse_size(v)) {
    auto again = config::parse_size(config::format_size(*s));
    require(again.has_value() && *again == *s);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t len) {
  std::string_view in(reinterpret_cast<const char*>(bytes), len);
  auto mark = in.find("\n#env\n");
  std::string_view yaml = in.substr(0, mark);
  std::string_view env = mark == std::string_view::npos ? std::string_view() : in.substr(mark + 6);

  auto layer = config::parse_yaml(yaml, "fuzz.yaml");
  config::Snapshot snap;
  if (layer) snap.values = std::move(*layer);
  while (!env.empty()) {
    auto nl = env.find('\n');
    std::string_view line = env.substr(0, nl);
    env = nl == std::string_view::npos ? std::string_view() : env.substr(nl + 1);
    auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    check_units(line.substr(eq + 1));
    snap.values["svc." + std::string(line.substr(0, eq))] =
        config::Entry{std::string(line.substr(eq + 1)), {}, false, config::Origin{"env", 0}};
  }
  for (const auto& [key, entry] : snap.values) check_units(entry.value);

  auto bound = config::bind<Settings>(snap, "svc");
  if (!bound) {
    require(!bound.error().message().empty());
    return 0;
  }
  require(!bound->host.empty() && bound->port >= 1 && bound->port <= 65535);
  require(bound->tuning.ratio >= 0.0 && bound->tuning.ratio <= 1.0);
  for (const auto& u : bound->upstreams) require(u.timeout >= 1ms && u.timeout <= 1h);
  if (!writable(*bound)) return 0;

  config::Snapshot again;
  again.values = written(*bound);
  auto rebound = config::bind<Settings>(again, "svc");
  require(rebound.has_value());
  require(same(written(*rebound), again.values));
  return 0;
}
