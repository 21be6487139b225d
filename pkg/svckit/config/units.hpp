#pragma once
// Human units in configuration: durations like "250ms", "1m30s" (Go's time.ParseDuration syntax) and
// byte sizes like "4MiB", "512KB", "1GiB" (IEC and SI suffixes; a bare number is bytes).
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "svckit/core/status.hpp"

namespace svckit::config {

struct ByteSize {
  std::uint64_t bytes = 0;
  constexpr ByteSize() = default;
  constexpr explicit ByteSize(std::uint64_t b) : bytes(b) {}
  friend constexpr auto operator<=>(ByteSize, ByteSize) = default;
};
constexpr ByteSize operator""_KiB(unsigned long long v) {
  return ByteSize(v << 10);
}
constexpr ByteSize operator""_MiB(unsigned long long v) {
  return ByteSize(v << 20);
}
constexpr ByteSize operator""_GiB(unsigned long long v) {
  return ByteSize(v << 30);
}

Result<std::chrono::nanoseconds> parse_duration(std::string_view text);
std::string format_duration(std::chrono::nanoseconds d);
Result<ByteSize> parse_size(std::string_view text);
std::string format_size(ByteSize size);

}  // namespace svckit::config
