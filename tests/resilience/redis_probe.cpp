// Spends a RedisTokenBucket as fast as it allows for SECONDS and prints, per second, how many
// acquisitions succeeded and whether the limiter was on its local fallback.
// usage: redis_probe PORT RATE BURST FALLBACK_RATE SECONDS
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "svckit/resilience/redis_limiter.hpp"

int main(int argc, char** argv) {
  if (argc < 6) return 2;
  svckit::resilience::RedisTokenBucket limiter({.port = std::atoi(argv[1]),
                                                .key = "svckit:test",
                                                .rate = std::atof(argv[2]),
                                                .burst = std::atof(argv[3]),
                                                .fallback_rate = std::atof(argv[4]),
                                                .fallback_burst = 1});
  int seconds = std::atoi(argv[5]);
  auto start = std::chrono::steady_clock::now();
  long total = 0;
  for (int s = 0; s < seconds; ++s) {
    long ok = 0;
    bool degraded_seen = false;
    auto end = start + std::chrono::seconds(s + 1);
    while (std::chrono::steady_clock::now() < end) {
      ok += limiter.try_acquire().ok();
      degraded_seen |= limiter.degraded();
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    total += ok;
    std::printf("second %d ok %ld degraded %d\n", s, ok, degraded_seen ? 1 : 0);
    std::fflush(stdout);
  }
  std::printf("total %ld\n", total);
  return 0;
}
