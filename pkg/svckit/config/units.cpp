#include "svckit/config/units.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace svckit::config {

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Reads a non-negative decimal number ("12", "1.5", ".5") from the front of s.
bool take_number(std::string_view& s, double& out) {
  std::size_t i = 0;
  bool digits = false;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, digits = true;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, digits = true;
  }
  if (!digits) return false;
  auto r = std::from_chars(s.data(), s.data() + i, out);
  if (r.ec != std::errc()) return false;
  s.remove_prefix(i);
  return true;
}
}  // namespace

Result<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  std::string_view s = trim(text);
  auto bad = [&](std::string why) {
    return make_error(Code::kInvalidArgument, "invalid duration \"" + std::string(text) + "\": " + why +
                                                  " (use e.g. 250ms, 1.5s, 1m30s; units ns us ms s m h)");
  };
  if (s.empty()) return bad("empty");
  bool negative = false;
  if (s.front() == '-' || s.front() == '+') {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::nanoseconds(0);
  long double total = 0;
  while (!s.empty()) {
    double n;
    if (!take_number(s, n)) return bad("expected a number");
    std::size_t u = 0;
    while (u < s.size() && !std::isdigit(static_cast<unsigned char>(s[u])) && s[u] != '.') ++u;
    std::string_view unit = s.substr(0, u);
    s.remove_prefix(u);
    long double scale;
    if (unit == "ns")
      scale = 1;
    else if (unit == "us" || unit == "µs")
      scale = 1e3;
    else if (unit == "ms")
      scale = 1e6;
    else if (unit == "s")
      scale = 1e9;
    else if (unit == "m")
      scale = 60e9;
    else if (unit == "h")
      scale = 3600e9;
    else if (unit.empty())
      return bad("missing unit");
    else
      return bad("unknown unit \"" + std::string(unit) + "\"");
    total += n * scale;
  }
  if (total > static_cast<long double>(std::numeric_limits<std::int64_t>::max())) return bad("too large");
  auto ns = static_cast<std::int64_t>(std::llround(static_cast<double>(total)));
  return std::chrono::nanoseconds(negative ? -ns : ns);
}

std::string format_duration(std::chrono::nanoseconds d) {
  std::int64_t ns = d.count();
  if (ns == 0) return "0s";
  std::string sign = ns < 0 ? "-" : "";
  std::uint64_t v = ns < 0 ? static_cast<std::uint64_t>(-(ns + 1)) + 1 : static_cast<std::uint64_t>(ns);
  struct Unit {
    std::uint64_t ns;
    const char* name;
  };
  static constexpr Unit kUnits[] = {
      {3600000000000ull, "h"}, {60000000000ull, "m"}, {1000000000ull, "s"}, {1000000ull, "ms"}, {1000ull, "us"}};
  for (auto& u : kUnits)
    if (v % u.ns == 0) return sign + std::to_string(v / u.ns) + u.name;
  return sign + std::to_string(v) + "ns";
}

Result<ByteSize> parse_size(std::string_view text) {
  std::string_view s = trim(text);
  auto bad = [&](std::string why) {
    return make_error(Code::kInvalidArgument, "invalid size \"" + std::string(text) + "\": " + why +
                                                  " (use e.g. 4MiB, 512KB, 1GiB or a number of bytes)");
  };
  double n;
  if (!take_number(s, n)) return bad("expected a number");
  std::string_view unit = trim(s);
  long double scale;
  if (unit.empty() || unit == "B")
    scale = 1;
  else if (unit == "KiB" || unit == "Ki" || unit == "K")
    scale = 1024.0L;
  else if (unit == "MiB" || unit == "Mi" || unit == "M")
    scale = 1024.0L * 1024;
  else if (unit == "GiB" || unit == "Gi" || unit == "G")
    scale = 1024.0L * 1024 * 1024;
  else if (unit == "TiB" || unit == "Ti")
    scale = 1024.0L * 1024 * 1024 * 1024;
  else if (unit == "KB" || unit == "kB")
    scale = 1e3;
  else if (unit == "MB")
    scale = 1e6;
  else if (unit == "GB")
    scale = 1e9;
  else if (unit == "TB")
    scale = 1e12;
  else
    return bad("unknown unit \"" + std::string(unit) + "\"");
  long double bytes = n * scale;
  if (bytes > static_cast<long double>(std::numeric_limits<std::uint64_t>::max())) return bad("too large");
  if (bytes != std::floor(bytes)) return bad("not a whole number of bytes");
  return ByteSize(static_cast<std::uint64_t>(bytes));
}

std::string format_size(ByteSize size) {
  std::uint64_t b = size.bytes;
  if (b == 0) return "0";
  static constexpr struct {
    int shift;
    const char* name;
  } kUnits[] = {{40, "TiB"}, {30, "GiB"}, {20, "MiB"}, {10, "KiB"}};
  for (auto& u : kUnits)
    if (b % (1ull << u.shift) == 0) return std::to_string(b >> u.shift) + u.name;
  return std::to_string(b);
}

}  // namespace svckit::config
