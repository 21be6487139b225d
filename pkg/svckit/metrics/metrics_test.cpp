#include "svckit/metrics/metrics.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

namespace svckit::metrics {
namespace {

std::string run(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  for (std::size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  int rc = pclose(p);
  if (status) *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

std::string write_temp(const std::string& text) {
  char path[] = "/tmp/svckit_metrics_XXXXXX";
  int fd = mkstemp(path);
  ::close(fd);
  std::ofstream(path) << text;
  return path;
}

TEST(Metrics, CounterGaugeHistogramValues) {
  Registry r;
  Counter c = r.counter({.name = "t_events_total", .help = "Events."});
  c.inc();
  c.inc(2.5);
  c.inc(-4);  // ignored: counters only go up
  EXPECT_DOUBLE_EQ(c.value(), 3.5);

  Gauge g = r.gauge({.name = "t_queue_depth", .help = "Depth."});
  g.inc(5);
  g.dec(2);
  EXPECT_DOUBLE_EQ(g.value(), 3);
  g.set(42);
  EXPECT_DOUBLE_EQ(g.value(), 42);
  g.add(-2);
  EXPECT_DOUBLE_EQ(g.value(), 40);

  Histogram h = r.histogram({.name = "t_latency_seconds", .help = "Latency.", .buckets = {0.1, 1, 10}});
  for (double v : {0.05, 0.1, 0.5, 1.0, 5.0, 50.0}) h.observe(v);
  EXPECT_EQ(h.count(), 6u);
  EXPECT_DOUBLE_EQ(h.sum(), 56.65);
  std::string text = r.render();
  // le is an inclusive upper bound: 0.1 falls in le="0.1", 1.0 in le="1".
  EXPECT_NE(text.find("t_latency_seconds_bucket{le=\"0.1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_latency_seconds_bucket{le=\"1\"} 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_latency_seconds_bucket{le=\"10\"} 5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_latency_seconds_bucket{le=\"+Inf\"} 6\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_latency_seconds_count 6\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_latency_seconds_sum 56.65\n"), std::string::npos) << text;
}

TEST(Metrics, ExactPrometheusAndOpenMetricsText) {
  Registry r;
  auto& req =
      r.counter_vec({.name = "t_requests_total", .help = "Requests \\ handled.\nSecond line."}, {"method", "path"});
  req.with({"GET", "/a\"b\\c\nd"}).inc(3);
  auto& lat = r.histogram_vec({.name = "t_seconds", .help = "With \"quotes\".", .buckets = {0.5, 2}}, {"op"});
  lat.with({"read"}).observe(1);
  r.gauge({.name = "t_up", .help = "Up."}).set(1);

  EXPECT_EQ(r.render(Format::kPrometheus),
            "# HELP t_requests_total Requests \\\\ handled.\\nSecond line.\n"
            "# TYPE t_requests_total counter\n"
            "t_requests_total{method=\"GET\",path=\"/a\\\"b\\\\c\\nd\"} 3\n"
            "# HELP t_seconds With \"quotes\".\n"
            "# TYPE t_seconds histogram\n"
            "t_seconds_bucket{op=\"read\",le=\"0.5\"} 0\n"
            "t_seconds_bucket{op=\"read\",le=\"2\"} 1\n"
            "t_seconds_bucket{op=\"read\",le=\"+Inf\"} 1\n"
            "t_seconds_count{op=\"read\"} 1\n"
            "t_seconds_sum{op=\"read\"} 1\n"
            "# HELP t_up Up.\n"
            "# TYPE t_up gauge\n"
            "t_up 1\n");
  EXPECT_EQ(r.render(Format::kOpenMetrics),
            "# HELP t_requests Requests \\\\ handled.\\nSecond line.\n"
            "# TYPE t_requests counter\n"
            "t_requests_total{method=\"GET\",path=\"/a\\\"b\\\\c\\nd\"} 3\n"
            "# HELP t_seconds With \\\"quotes\\\".\n"
            "# TYPE t_seconds histogram\n"
            "t_seconds_bucket{op=\"read\",le=\"0.5\"} 0\n"
            "t_seconds_bucket{op=\"read\",le=\"2.0\"} 1\n"
            "t_seconds_bucket{op=\"read\",le=\"+Inf\"} 1\n"
            "t_seconds_count{op=\"read\"} 1\n"
            "t_seconds_sum{op=\"read\"} 1\n"
            "# HELP t_up Up.\n"
            "# TYPE t_up gauge\n"
            "t_up 1\n"
            "# EOF\n");
}

struct Ids {
  std::array<std::uint8_t, 16> trace{};
  std::array<std::uint8_t, 8> span{};
  explicit Ids(std::uint8_t seed) {
    for (std::size_t i = 0; i < trace.size(); ++i) trace[i] = static_cast<std::uint8_t>(seed + i);
    for (std::size_t i = 0; i < span.size(); ++i) span[i] = static_cast<std::uint8_t>(seed * 3 + i);
  }
  TraceIds ids() const { return {trace, span}; }
};

std::string hex(std::span<const std::uint8_t> bytes) {
  std::string out;
  char buf[3];
  for (auto b : bytes) {
    std::snprintf(buf, sizeof buf, "%02x", b);
    out += buf;
  }
  return out;
}

// The ` # {...} value timestamp` after a bucket line, or "" when it has none.
std::string exemplar_of(const std::string& text, const std::string& bucket_line_prefix) {
  auto pos = text.find(bucket_line_prefix);
  if (pos == std::string::npos) return "<no such line>";
  auto end = text.find('\n', pos);
  std::string line = text.substr(pos, end - pos);
  auto hash = line.find(" # ");
  return hash == std::string::npos ? "" : line.substr(hash + 3);
}

TEST(Exemplars, OnlyInOpenMetricsAndThePrometheusTextIsUnchanged) {
  // Two registries with the same observations, one of them under sampled spans.
  Registry plain, sampled;
  auto buckets = std::vector<double>{0.1, 1};
  Histogram hp = plain.histogram_vec({.name = "t_seconds", .help = "x", .buckets = buckets}, {"op"}).with({"a"});
  Histogram hs = sampled.histogram_vec({.name = "t_seconds", .help = "x", .buckets = buckets}, {"op"}).with({"a"});
  Ids one(1), two(2);
  double before = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (double v : {0.05, 0.5, 5.0}) hp.observe(v);
  hs.observe(0.05, one.ids());
  hs.observe(0.5);  // no span: no exemplar for le="1"
  hs.observe(5.0, two.ids());
  double after = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();

  EXPECT_EQ(sampled.render(Format::kPrometheus), plain.render(Format::kPrometheus));
  std::string om = sampled.render(Format::kOpenMetrics);
  std::string ex = exemplar_of(om, "t_seconds_bucket{op=\"a\",le=\"0.1\"} 1");
  std::string want = "{trace_id=\"" + hex(one.trace) + "\",span_id=\"" + hex(one.span) + "\"} 0.05 ";
  ASSERT_EQ(ex.substr(0, want.size()), want) << om;
  double ts = std::stod(ex.substr(want.size()));
  EXPECT_GE(ts, before - 0.001);
  EXPECT_LE(ts, after + 0.001);
  EXPECT_EQ(exemplar_of(om, "t_seconds_bucket{op=\"a\",le=\"1.0\"} 2"), "") << om;
  EXPECT_EQ(exemplar_of(om, "t_seconds_bucket{op=\"a\",le=\"+Inf\"} 3").substr(0, 75),
            "{trace_id=\"" + hex(two.trace) + "\",span_id=\"" + hex(two.span) + "\"} 5 ")
      << om;
  // Everything but the exemplars is the plain registry's OpenMetrics text.
  std::string stripped;
  for (std::size_t pos = 0; pos < om.size();) {
    auto end = om.find('\n', pos);
    std::string line = om.substr(pos, end - pos);
    if (auto h = line.find(" # "); h != std::string::npos) line.resize(h);
    stripped += line + "\n";
    pos = end + 1;
  }
  EXPECT_EQ(stripped, plain.render(Format::kOpenMetrics));
}

TEST(Exemplars, OneSlotPerBucketTheLatestWins) {
  Registry r;
  Histogram h = r.histogram({.name = "t_latest_seconds", .help = "x", .buckets = {1}});
  for (std::uint8_t i = 1; i <= 50; ++i) h.observe(0.01 * i, Ids(i).ids());
  h.observe(0.9);  // unsampled: counted, the exemplar stays
  std::string om = r.render(Format::kOpenMetrics);
  std::string ex = exemplar_of(om, "t_latest_seconds_bucket{le=\"1.0\"} 51");
  EXPECT_EQ(ex.substr(0, ex.rfind(' ')),
            "{trace_id=\"" + hex(Ids(50).trace) + "\",span_id=\"" + hex(Ids(50).span) + "\"} 0.5")
      << om;
  // One exemplar per bucket line, whatever the number of observations.
  std::size_t n = 0;
  for (std::size_t pos = 0; (pos = om.find("# {", pos)) != std::string::npos; ++pos) ++n;
  EXPECT_EQ(n, 1u) << om;
}

TEST(ExemplarsConcurrency, ReadsAreNeverTornWhileThreadsWrite) {
  Registry r;
  Histogram h = r.histogram({.name = "t_torn_seconds", .help = "x", .buckets = {1000}});
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 3; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        // Every id byte and the value come from the same seed: a torn read mixes seeds.
        auto seed = static_cast<std::uint8_t>(t * 80 + i % 80);
        Ids ids(seed);
        h.observe(seed, ids.ids());
        // Sampled requests come apart: writers that never pause would starve the reader.
        if (i % 4 == 0) std::this_thread::yield();
      }
    });
  }
  // Reads for 300 ms, counting those that found an exemplar (the writers start at their own pace).
  int seen = 0;
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  while (std::chrono::steady_clock::now() < until) {
    std::string om = r.render(Format::kOpenMetrics);
    std::string ex = exemplar_of(om, "t_torn_seconds_bucket{le=\"1000.0\"}");
    if (ex.empty()) continue;
    auto value = static_cast<std::uint8_t>(std::stoi(ex.substr(ex.find("} ") + 2)));
    Ids want(value);
    ASSERT_EQ(ex.substr(0, ex.find("} ") + 1),
              "{trace_id=\"" + hex(want.trace) + "\",span_id=\"" + hex(want.span) + "\"}");
    ++seen;
  }
  stop = true;
  for (auto& w : writers) w.join();
  EXPECT_GT(seen, 0);
}

TEST(Metrics, NegotiatesTheFormatFromAccept) {
  EXPECT_EQ(negotiate(""), Format::kPrometheus);
  EXPECT_EQ(negotiate("text/plain;version=0.0.4;q=0.5,*/*;q=0.1"), Format::kPrometheus);
  // What Prometheus 2.42 sends.
  EXPECT_EQ(negotiate("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
                      "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
            Format::kOpenMetrics);
  EXPECT_EQ(content_type(Format::kPrometheus), "text/plain; version=0.0.4; charset=utf-8");
}

TEST(Metrics, RegistrationRules) {
  Registry r;
  EXPECT_THROW(r.counter({.name = "no_suffix"}), std::invalid_argument);
  EXPECT_THROW(r.gauge({.name = "9starts_with_digit"}), std::invalid_argument);
  EXPECT_THROW(r.gauge({.name = "has-dash"}), std::invalid_argument);
  EXPECT_THROW(r.counter_vec({.name = "a_total"}, {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(r.counter_vec({.name = "b_total"}, {"x", "x"}), std::invalid_argument);
  EXPECT_THROW(r.histogram_vec({.name = "h"}, {"le"}), std::invalid_argument);
  EXPECT_THROW(r.histogram({.name = "h2", .buckets = {1, 1}}), std::invalid_argument);
  // The same registration twice is the same family; a different shape is an error.
  Counter a = r.counter({.name = "same_total", .help = "x"});
  Counter b = r.counter({.name = "same_total", .help = "x"});
  a.inc();
  b.inc();
  EXPECT_DOUBLE_EQ(a.value(), 2);
  EXPECT_THROW(r.gauge({.name = "same_total"}), std::invalid_argument);
  EXPECT_THROW(r.counter_vec({.name = "same_total"}, {"l"}), std::invalid_argument);
  auto& v = r.counter_vec({.name = "lab_total"}, {"a", "b"});
  EXPECT_THROW(v.with({"only-one"}), std::invalid_argument);
}

TEST(Metrics, CardinalityGuardFoldsIntoOverflowAndCounts) {
  Registry r;
  auto& v = r.counter_vec({.name = "t_by_user_total", .help = "Per user (a bad idea).", .max_series = 3}, {"user"});
  for (int i = 0; i < 10; ++i) v.with({std::to_string(i)}).inc();
  v.with({"1"}).inc();              // existing series keep working
  EXPECT_EQ(v.series_count(), 4u);  // three real ones and the overflow series
  std::string text = r.render();
  EXPECT_NE(text.find("t_by_user_total{user=\"overflow\"} 7\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_by_user_total{user=\"1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("svckit_metrics_overflow_total{metric=\"t_by_user_total\"} 7\n"), std::string::npos) << text;
}

TEST(MetricsConcurrency, WritesFromManyThreadsAreExactAndSurviveThreadExit) {
  Registry r;
  Counter c = r.counter({.name = "t_mt_total", .help = "x"});
  Gauge g = r.gauge({.name = "t_mt_inflight", .help = "x"});
  Histogram h = r.histogram({.name = "t_mt_seconds", .help = "x", .buckets = {0.5}});
  constexpr int kThreads = 4, kPerThread = 100000;
  std::atomic<bool> stop{false};
  // A scraper reading while the writers write (TSan checks the protocol).
  std::thread scraper([&] {
    while (!stop.load()) {
      std::string text = r.render();
      ASSERT_NE(text.find("t_mt_total"), std::string::npos);
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        c.inc();
        g.inc();
        g.dec();
        h.observe(t % 2 ? 0.25 : 1.0);
      }
    });
  }
  for (auto& w : writers) w.join();  // their cells are folded into the retired totals on exit
  stop = true;
  scraper.join();
  EXPECT_DOUBLE_EQ(c.value(), kThreads * kPerThread);
  EXPECT_DOUBLE_EQ(g.value(), 0);
  EXPECT_EQ(h.count(), static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_NE(r.render().find("t_mt_seconds_bucket{le=\"0.5\"} 200000\n"), std::string::npos);
}

TEST(Metrics, ProcessMetricsAreRealNumbers) {
  Registry r;
  register_process_metrics(r);
  std::string text = r.render();
  auto value = [&](std::string_view name) {
    auto pos = text.find("\n" + std::string(name) + " ");
    if (pos == std::string::npos) return -1.0;
    return std::stod(text.substr(pos + name.size() + 2));
  };
  EXPECT_GT(value("process_resident_memory_bytes"), 1e5);
  EXPECT_GT(value("process_virtual_memory_bytes"), value("process_resident_memory_bytes"));
  EXPECT_GE(value("process_open_fds"), 3);
  EXPECT_GT(value("process_max_fds"), 0);
  EXPECT_GE(value("process_threads"), 1);
  EXPECT_GE(value("process_cpu_seconds_total"), 0);
  double now = static_cast<double>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  double start = value("process_start_time_seconds");
  EXPECT_LE(start, now + 2);
  EXPECT_GT(start, now - 3600);
}

// A registry with every feature, for the third-party checks below.
void populate(Registry& r) {
  register_process_metrics(r);
  auto& req = r.counter_vec({.name = "svckit_http_server_requests_total", .help = "HTTP requests handled."},
                            {"method", "route", "status"});
  req.with({"GET", "/users/:id", "200"}).inc(41);
  req.with({"POST", "/users", "400"}).inc();
  auto& lat =
      r.histogram_vec({.name = "svckit_http_server_request_duration_seconds", .help = "Latency."}, {"method", "route"});
  lat.with({"GET", "/users/:id"}).observe(0.003);
  static const std::array<std::uint8_t, 16> trace = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                                     0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
  static const std::array<std::uint8_t, 8> span = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
  lat.with({"GET", "/users/:id"}).observe(0.7, {trace, span});
  r.gauge({.name = "svckit_http_server_requests_in_flight", .help = "In flight \"now\"."}).set(2);
  r.gauge_fn("svckit_test_answer", "Computed at scrape time.", [] { return 42.0; });
  auto& weird = r.counter_vec({.name = "svckit_test_escapes_total", .help = "Back\\slash and\nnewline."}, {"v"});
  weird.with({"quote\" backslash\\ newline\n utf8 \xc3\xa9"}).inc();
}

// Found by the metrics_exposition fuzzer: label values and help text that were not UTF-8 went out as
// they came, and Prometheus refuses a whole scrape that is not UTF-8.
TEST(MetricsTest, TextThatIsNotUtf8IsWrittenWithReplacementCharacters) {
  Registry r;
  auto& vec = r.counter_vec({.name = "svckit_test_bytes_total", .help = "Bad \xff help \xc3\xa9."}, {"v"});
  vec.with({"a\xff"
            "b\xed\xa0\x80 \xe2\x82\xac \xc3"})
      .inc();
  for (Format f : {Format::kPrometheus, Format::kOpenMetrics}) {
    std::string text = r.render(f);
    EXPECT_NE(text.find(" Bad \xEF\xBF\xBD help \xc3\xa9.\n"), std::string::npos) << text;
    // Each byte that starts no sequence is one U+FFFD; the euro sign is kept.
    EXPECT_NE(text.find("{v=\"a\xEF\xBF\xBD"
                        "b\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD \xe2\x82\xac \xEF\xBF\xBD\"}"),
              std::string::npos)
        << text;
  }
}

TEST(MetricsInterop, PromtoolFindsNothingToLint) {
  if (run("command -v promtool").empty()) GTEST_SKIP() << "promtool not installed (make test installs it)";
  Registry r;
  populate(r);
  std::string path = write_temp(r.render(Format::kPrometheus));
  int status = -1;
  std::string out = run("promtool check metrics < " + path + " 2>&1", &status);
  std::remove(path.c_str());
  EXPECT_EQ(status, 0) << out;
}

TEST(MetricsInterop, PythonOpenMetricsParserAcceptsOurOutput) {
  if (run("/usr/bin/python3 -c 'import prometheus_client.openmetrics.parser' 2>&1; echo $?") != "0\n")
    GTEST_SKIP() << "python3-prometheus-client not installed (make test installs it)";
  Registry r;
  populate(r);
  std::string path = write_temp(r.render(Format::kOpenMetrics));
  // The strict parser raises on any deviation from OpenMetrics 1.0; print what it understood.
  std::string script =
      "import sys, time\n"
      "from prometheus_client.openmetrics.parser import text_string_to_metric_families as p\n"
      "for f in p(open(sys.argv[1]).read()):\n"
      "  for s in f.samples:\n"
      "    print(f.type, s.name, sorted(s.labels.items()), s.value)\n"
      "    if s.exemplar: print('exemplar', sorted(s.exemplar.labels.items()), s.exemplar.value, "
      "abs(float(s.exemplar.timestamp) - time.time()) < 60)\n";
  std::string spath = write_temp(script);
  int status = -1;
  std::string out = run("/usr/bin/python3 " + spath + " " + path + " 2>&1", &status);
  std::remove(path.c_str());
  std::remove(spath.c_str());
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("counter svckit_http_server_requests_total [('method', 'GET'), ('route', '/users/:id'), "
                     "('status', '200')] 41"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("histogram svckit_http_server_request_duration_seconds_bucket [('le', '1.0'), ('method', "
                     "'GET'), ('route', '/users/:id')] 2"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("('v', 'quote\" backslash\\\\ newline\\n utf8 \xc3\xa9')"), std::string::npos) << out;
  EXPECT_NE(out.find("gauge svckit_test_answer [] 42"), std::string::npos) << out;
  // The exemplar is read back on the bucket the observation fell in, and on no other.
  EXPECT_NE(out.find("('route', '/users/:id')] 2\nexemplar [('span_id', '00f067aa0ba902b7'), "
                     "('trace_id', '4bf92f3577b34da6a3ce929d0e0e4736')] 0.7 True\n"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("exemplar"), out.rfind("exemplar")) << out;
}

}  // namespace
}  // namespace svckit::metrics

#include "svckit/core/runtime.hpp"

namespace svckit::metrics {
namespace {

TEST(RuntimeMetrics, LoopLagSeesABlockedLoop) {
  Registry r;
  Runtime rt({.workers = 1});
  register_runtime_metrics(r, rt, std::chrono::milliseconds(5));
  // Block the only loop for 120 ms: the probe's next timer fires that late.
  rt.loop(0).post([] { std::this_thread::sleep_for(std::chrono::milliseconds(120)); });
  std::string text;
  for (int i = 0; i < 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    text = r.render();
    if (text.find("svckit_runtime_loop_lag_distribution_seconds_bucket{loop=\"0\",le=\"0.1\"}") != std::string::npos) {
      auto pos = text.find("svckit_runtime_loop_lag_distribution_seconds_bucket{loop=\"0\",le=\"0.05\"} ");
      auto inf = text.find("svckit_runtime_loop_lag_distribution_seconds_count{loop=\"0\"} ");
      if (pos != std::string::npos && inf != std::string::npos) {
        double below = std::stod(text.substr(text.find("} ", pos) + 2));
        double all = std::stod(text.substr(text.find("} ", inf) + 2));
        if (all > below) break;  // one observation above 50 ms: the blocked interval
      }
    }
  }
  auto pos = text.find("svckit_runtime_loop_lag_distribution_seconds_bucket{loop=\"0\",le=\"0.05\"} ");
  auto cnt = text.find("svckit_runtime_loop_lag_distribution_seconds_count{loop=\"0\"} ");
  ASSERT_NE(pos, std::string::npos) << text;
  ASSERT_NE(cnt, std::string::npos) << text;
  EXPECT_GT(std::stod(text.substr(text.find("} ", cnt) + 2)), std::stod(text.substr(text.find("} ", pos) + 2))) << text;
  EXPECT_NE(text.find("svckit_runtime_blocking_queue 0\n"), std::string::npos) << text;
  rt.request_stop();
  rt.wait();
}

}  // namespace
}  // namespace svckit::metrics
