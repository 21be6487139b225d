#pragma once
// The figures behind the admin console's JSON endpoint (GET /debug/console), read from the metrics
// registry's own exposition so that the console shows exactly what Prometheus scrapes:
//   - RED per HTTP route and per gRPC method over a short window: rate, errors (HTTP 5xx; gRPC codes
//     that are the server's fault), p50/p99 from the duration histograms' bucket deltas;
//   - runtime (RSS, open fds, start time, loop lag, blocking pool) and resilience (breaker states,
//     refusals, sheds) as their current values.
// Windows come from snapshots taken when the endpoint is polled: no timer, no cost while nobody looks.
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace svckit::app::detail {

// One sample line of the Prometheus text format: `name{a="x",b="y"} value`.
struct Sample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
  std::string_view label(std::string_view key) const noexcept;
};

// The samples of a text exposition (comments and malformed lines skipped).
std::vector<Sample> parse_exposition(std::string_view text);

// Cumulative counts of one route or method at one moment.
struct RedTotals {
  double requests = 0;
  double errors = 0;
  std::map<double, double> buckets;  // upper bound → cumulative count (+Inf as infinity)
};

// RED of one route or method over the window.
struct RedFigures {
  std::string kind;  // "http" or "grpc"
  std::string name;  // "GET /v1/users/:id" or "/pkg.Service/Method"
  double requests = 0;
  double errors = 0;
  double rate = 0;                 // requests per second
  double error_rate = 0;           // errors per second
  std::optional<double> p50, p99;  // seconds; none without requests in the window
  double total = 0;                // since start
};

// histogram_quantile's interpolation over cumulative bucket counts.
std::optional<double> quantile(double q, const std::map<double, double>& cumulative);

class RedWindow {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RedWindow(std::chrono::milliseconds window) : window_(window) {}
  struct Report {
    std::vector<RedFigures> figures;
    double span_seconds = 0;  // what the figures cover: 0 on the first poll (no rates yet)
  };
  // Takes a snapshot of `samples` at `now` and returns each route's figures between it and the
  // newest snapshot at least one window old (the oldest one kept while the window is not yet full).
  Report update(Clock::time_point now, const std::vector<Sample>& samples);
  std::chrono::milliseconds window() const noexcept { return window_; }

 private:
  struct Snapshot {
    Clock::time_point at;
    std::map<std::pair<std::string, std::string>, RedTotals> totals;  // (kind, name)
  };
  std::chrono::milliseconds window_;
  std::mutex mu_;
  std::deque<Snapshot> snapshots_;
};

// Totals per route and method from a parsed exposition.
std::map<std::pair<std::string, std::string>, RedTotals> red_totals(const std::vector<Sample>& samples);

}  // namespace svckit::app::detail
