#include "svckit/resilience/shedder.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <thread>

namespace svckit::resilience {

double process_cpu_usage() {
  static std::mutex mu;
  static std::chrono::steady_clock::time_point last_at;
  static double last_cpu_s = -1, ema = 0;
  std::lock_guard lock(mu);
  auto now = std::chrono::steady_clock::now();
  if (last_cpu_s >= 0 && now - last_at < std::chrono::milliseconds(250)) return ema;
  FILE* f = std::fopen("/proc/self/stat", "r");
  if (!f) return ema;
  char buf[1024];
  std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  // Fields after the ")" of the command name: state is field 3; utime and stime are 14 and 15.
  const char* p = std::strrchr(buf, ')');
  unsigned long utime = 0, stime = 0;
  if (!p || std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2) return ema;
  double cpu_s = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  if (last_cpu_s >= 0) {
    double wall = std::chrono::duration<double>(now - last_at).count();
    double cores = std::max(1u, std::thread::hardware_concurrency());
    double usage = std::clamp((cpu_s - last_cpu_s) / (wall * cores), 0.0, 1.0);
    ema = 0.95 * ema + 0.05 * usage;
  }
  last_cpu_s = cpu_s;
  last_at = now;
  return ema;
}

Shedder::Shedder(ShedderSettings s) : settings_(std::move(s)) {
  if (!settings_.now) settings_.now = [] { return std::chrono::steady_clock::now(); };
  if (!settings_.cpu) settings_.cpu = process_cpu_usage;
  window_ = std::make_unique<RollingWindow<Bucket>>(settings_.window, settings_.buckets, settings_.now());
}

std::int64_t Shedder::max_flight() {
  std::int64_t max_pass = 1;
  double min_rt = 0;
  for (auto& b : window_->buckets()) {
    max_pass = std::max(max_pass, b.passes);
    if (b.min_rt_ms > 0 && (min_rt == 0 || b.min_rt_ms < min_rt)) min_rt = b.min_rt_ms;
  }
  if (min_rt == 0) min_rt = 1;
  double buckets_per_second = 1e9 / static_cast<double>(window_->period().count());
  return std::max<std::int64_t>(
      1, static_cast<std::int64_t>(static_cast<double>(max_pass) * buckets_per_second * min_rt / 1000.0));
}

bool Shedder::should_drop(TimePoint now) {
  bool hot = settings_.cpu() >= settings_.cpu_threshold;
  std::lock_guard lock(mu_);
  window_->rotate(now);
  bool cooling = last_drop_ != TimePoint{} && now - last_drop_ < settings_.cool_off;
  if (!hot && !cooling) return false;
  if (flying_.load() + 1 <= max_flight()) return false;
  last_drop_ = now;
  return true;
}

Result<Shedder::Promise> Shedder::allow() {
  auto now = settings_.now();
  if (should_drop(now)) {
    dropped_.fetch_add(1);
    return make_error(Status(Code::kUnavailable, "OVERLOADED", "the server is overloaded; try again shortly")
                          .with_metadata("retry_after_ms", "1000"));
  }
  flying_.fetch_add(1);
  return Promise(this, now);
}

void Shedder::Promise::pass() {
  if (!s_) return;
  Shedder* s = std::exchange(s_, nullptr);
  auto now = s->settings_.now();
  double rt_ms = std::chrono::duration<double, std::milli>(now - start_).count();
  {
    std::lock_guard lock(s->mu_);
    auto& b = s->window_->current(now);
    ++b.passes;
    rt_ms = std::max(rt_ms, 0.001);
    if (b.min_rt_ms == 0 || rt_ms < b.min_rt_ms) b.min_rt_ms = rt_ms;
  }
  s->flying_.fetch_sub(1);
}

void Shedder::Promise::fail() {
  if (!s_) return;
  std::exchange(s_, nullptr)->flying_.fetch_sub(1);
}

}  // namespace svckit::resilience
