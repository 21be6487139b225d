// libFuzzer target for the Prometheus text and OpenMetrics encoders where they take user strings: help
// text and label values, on registered families and on samples emitted at scrape time (make fuzz,
// target metrics_exposition). The input is a help text and three label values, one per line. The
// oracle is a small reader of the exposition formats' escaping rules: every HELP line and every label
// value in the output reads back to what was given, nothing else breaks the line structure, and the
// output is UTF-8 (Prometheus refuses a scrape that is not).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "svckit/metrics/metrics.hpp"

using namespace svckit::metrics;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    std::uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1F : n == 3 ? c & 0x0F : c & 0x07;
    for (std::size_t k = 1; k < n; ++k) {
      auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n;
  }
  return true;
}

// What the encoder must write for text that is not UTF-8: each maximal invalid piece as U+FFFD.
std::string as_utf8(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = 1;
    for (std::size_t k = 4; k >= 1; --k)
      if (i + k <= s.size() && valid_utf8(s.substr(i, k))) {
        n = k;
        break;
      }
    if (valid_utf8(s.substr(i, n)))
      out.append(s.substr(i, n));
    else
      out += "\xEF\xBF\xBD";
    i += n;
  }
  return out;
}

// HELP text: \\ and \n escaped (and \" in OpenMetrics); anything else after a backslash is an error.
bool unescape_help(std::string_view in, bool openmetrics, std::string& out) {
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '\\') {
      if (openmetrics && in[i] == '"') return false;
      out += in[i];
      continue;
    }
    if (++i == in.size()) return false;
    if (in[i] == '\\')
      out += '\\';
    else if (in[i] == 'n')
      out += '\n';
    else if (in[i] == '"' && openmetrics)
      out += '"';
    else
      return false;
  }
  return true;
}

// `{a="x",b="y"}`: the label values, unescaped; false when the syntax is broken.
bool read_labels(std::string_view in, std::vector<std::pair<std::string, std::string>>& out) {
  std::size_t i = 0;
  if (in.empty() || in[i++] != '{') return false;
  while (i < in.size() && in[i] != '}') {
    auto eq = in.find("=\"", i);
    if (eq == std::string_view::npos) return false;
    std::string name(in.substr(i, eq - i)), value;
    for (i = eq + 2;; ++i) {
      if (i >= in.size()) return false;
      if (in[i] == '"') break;
      if (in[i] != '\\') {
        value += in[i];
        continue;
      }
      if (++i >= in.size()) return false;
      if (in[i] == '\\')
        value += '\\';
      else if (in[i] == '"')
        value += '"';
      else if (in[i] == 'n')
        value += '\n';
      else
        return false;
    }
    ++i;
    out.emplace_back(std::move(name), std::move(value));
    if (i < in.size() && in[i] == ',') ++i;
  }
  return i < in.size();
}

void check(const std::string& text, bool openmetrics, std::string_view help, const std::vector<std::string>& values) {
  require(valid_utf8(text));
  std::string want_help = as_utf8(help);
  std::vector<std::string> want;
  for (const auto& v : values) want.push_back(as_utf8(v));
  int helps = 0, samples = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    require(nl != std::string_view::npos);
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    if (line.starts_with("# HELP fuzz_")) {
      auto sp = line.find(' ', 7);
      require(sp != std::string_view::npos);
      std::string got;
      require(unescape_help(line.substr(sp + 1), openmetrics, got));
      require(got == want_help);
      ++helps;
    } else if (line.starts_with("fuzz_") && line.find('{') != std::string_view::npos) {
      auto brace = line.find('{');
      std::vector<std::pair<std::string, std::string>> labels;
      require(read_labels(line.substr(brace), labels));
      require(labels.size() == 3);
      for (std::size_t i = 0; i < 3; ++i) require(labels[i].second == want[i]);
      ++samples;
    } else {
      require(line.starts_with("#") || line.starts_with("fuzz_") || line.starts_with("svckit_"));
    }
  }
  require(helps == 2 && samples >= 2);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t len) {
  std::string_view in(reinterpret_cast<const char*>(bytes), len);
  std::vector<std::string> parts;
  for (int i = 0; i < 4; ++i) {
    auto nl = in.find('\x01');  // the separator: help text and label values may hold newlines
    parts.emplace_back(in.substr(0, nl));
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  }
  const std::string& help = parts[0];
  std::vector<std::string> values(parts.begin() + 1, parts.end());

  Registry registry;
  auto& vec = registry.counter_vec({.name = "fuzz_requests_total", .help = help}, {"a", "b", "c"});
  vec.with({values[0], values[1], values[2]}).inc();
  registry.add_collector([&](Emitter& e) {
    e.begin("fuzz_emitted", help, Type::kGauge);
    std::pair<std::string_view, std::string_view> labels[] = {{"a", values[0]}, {"b", values[1]}, {"c", values[2]}};
    e.sample("fuzz_emitted", labels, 1.0);
  });
  check(registry.render(Format::kPrometheus), false, help, values);
  check(registry.render(Format::kOpenMetrics), true, help, values);
  return 0;
}
