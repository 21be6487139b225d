#include "svckit/app/detail/console_state.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace svckit::app::detail {

std::string_view Sample::label(std::string_view key) const noexcept {
  for (const auto& [k, v] : labels)
    if (k == key) return v;
  return {};
}

namespace {

// `a="x",b="y"}` → labels; false when malformed. `s` starts after the '{'.
bool parse_labels(std::string_view& s, std::vector<std::pair<std::string, std::string>>& out) {
  for (;;) {
    if (s.empty()) return false;
    if (s.front() == '}') {
      s.remove_prefix(1);
      return true;
    }
    if (s.front() == ',') s.remove_prefix(1);
    auto eq = s.find('=');
    if (eq == std::string_view::npos || eq + 1 >= s.size() || s[eq + 1] != '"') return false;
    std::string key(s.substr(0, eq));
    s.remove_prefix(eq + 2);
    std::string value;
    for (;;) {
      if (s.empty()) return false;
      char c = s.front();
      s.remove_prefix(1);
      if (c == '"') break;
      if (c == '\\' && !s.empty()) {
        char e = s.front();
        s.remove_prefix(1);
        value.push_back(e == 'n' ? '\n' : e);
      } else {
        value.push_back(c);
      }
    }
    out.emplace_back(std::move(key), std::move(value));
  }
}

bool server_fault(std::string_view grpc_code) {
  return grpc_code == "UNKNOWN" || grpc_code == "DEADLINE_EXCEEDED" || grpc_code == "UNIMPLEMENTED" ||
         grpc_code == "INTERNAL" || grpc_code == "UNAVAILABLE" || grpc_code == "DATA_LOSS";
}

double bound(std::string_view le) {
  if (le == "+Inf") return std::numeric_limits<double>::infinity();
  std::string text(le);
  return std::strtod(text.c_str(), nullptr);
}

}  // namespace

std::vector<Sample> parse_exposition(std::string_view text) {
  std::vector<Sample> out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty() || line.front() == '#') continue;
    Sample s;
    auto name_end = line.find_first_of("{ ");
    if (name_end == std::string_view::npos) continue;
    s.name = std::string(line.substr(0, name_end));
    line.remove_prefix(name_end);
    if (line.front() == '{') {
      line.remove_prefix(1);
      if (!parse_labels(line, s.labels)) continue;
    }
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    auto value_end = line.find(' ');
    std::string value(line.substr(0, value_end));
    if (value.empty()) continue;
    char* end = nullptr;
    s.value = std::strtod(value.c_str(), &end);
    if (end != value.c_str() + value.size()) continue;
    out.push_back(std::move(s));
  }
  return out;
}

std::map<std::pair<std::string, std::string>, RedTotals> red_totals(const std::vector<Sample>& samples) {
  std::map<std::pair<std::string, std::string>, RedTotals> out;
  auto http_key = [](const Sample& s) {
    return std::pair<std::string, std::string>("http",
                                               std::string(s.label("method")) + " " + std::string(s.label("route")));
  };
  auto grpc_key = [](const Sample& s) {
    return std::pair<std::string, std::string>(
        "grpc", "/" + std::string(s.label("grpc_service")) + "/" + std::string(s.label("grpc_method")));
  };
  for (const auto& s : samples) {
    if (s.name == "svckit_http_server_requests_total") {
      auto& t = out[http_key(s)];
      t.requests += s.value;
      if (s.label("status").starts_with('5')) t.errors += s.value;
    } else if (s.name == "svckit_http_server_request_duration_seconds_bucket") {
      out[http_key(s)].buckets[bound(s.label("le"))] += s.value;
    } else if (s.name == "grpc_server_handled_total") {
      auto& t = out[grpc_key(s)];
      t.requests += s.value;
      if (server_fault(s.label("grpc_code"))) t.errors += s.value;
    } else if (s.name == "grpc_server_handling_seconds_bucket") {
      out[grpc_key(s)].buckets[bound(s.label("le"))] += s.value;
    }
  }
  return out;
}

std::optional<double> quantile(double q, const std::map<double, double>& cumulative) {
  if (cumulative.empty()) return std::nullopt;
  double total = cumulative.rbegin()->second;
  if (total <= 0) return std::nullopt;
  double rank = q * total;
  double lower = 0, below = 0;
  for (const auto& [upper, count] : cumulative) {
    if (count >= rank) {
      if (std::isinf(upper)) return lower;  // the highest finite bound, as Prometheus answers
      if (count == below) return upper;
      return lower + (upper - lower) * (rank - below) / (count - below);
    }
    lower = upper;
    below = count;
  }
  return lower;
}

RedWindow::Report RedWindow::update(Clock::time_point now, const std::vector<Sample>& samples) {
  Snapshot current{now, red_totals(samples)};
  std::lock_guard lock(mu_);
  // The baseline: the newest snapshot at least one window old, else the oldest kept. Older ones go.
  while (snapshots_.size() >= 2 && snapshots_[1].at <= now - window_) snapshots_.pop_front();
  // A gap longer than a few windows (nobody looked) makes the old snapshot meaningless as a baseline.
  if (!snapshots_.empty() && snapshots_.front().at < now - 3 * window_) snapshots_.clear();
  Report report;
  const Snapshot* base = snapshots_.empty() ? nullptr : &snapshots_.front();
  if (base) report.span_seconds = std::chrono::duration<double>(now - base->at).count();
  for (const auto& [key, totals] : current.totals) {
    RedFigures f{.kind = key.first, .name = key.second, .total = totals.requests};
    RedTotals before;
    if (base) {
      if (auto it = base->totals.find(key); it != base->totals.end()) before = it->second;
    }
    if (report.span_seconds > 0) {
      // A restart of the series (a counter going down) counts from zero, as Prometheus' rate() does.
      f.requests = totals.requests >= before.requests ? totals.requests - before.requests : totals.requests;
      f.errors = totals.errors >= before.errors ? totals.errors - before.errors : totals.errors;
      f.rate = f.requests / report.span_seconds;
      f.error_rate = f.errors / report.span_seconds;
      std::map<double, double> delta;
      for (const auto& [le, count] : totals.buckets) {
        auto it = before.buckets.find(le);
        double was = it == before.buckets.end() ? 0 : it->second;
        delta[le] = count >= was ? count - was : count;
      }
      f.p50 = quantile(0.5, delta);
      f.p99 = quantile(0.99, delta);
    }
    report.figures.push_back(std::move(f));
  }
  // Several tabs polling at once need not each keep a snapshot.
  if (snapshots_.empty() || now - snapshots_.back().at >= std::chrono::milliseconds(200))
    snapshots_.push_back(std::move(current));
  return report;
}

}  // namespace svckit::app::detail
