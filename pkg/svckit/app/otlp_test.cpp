// OTLP logs and metrics: encoders checked field by field and against the OpenTelemetry protobuf
// schema (scripts/otlp_validate.sh), exporters through a scripted transport.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "svckit/app/otlp_logs.hpp"
#include "svckit/app/otlp_metrics.hpp"
#include "svckit/json/reader.hpp"
#include "svckit/testing/otlp_schema.hpp"

namespace svckit::app {
namespace {

using trace::testing::otlp_schema_problem;

bool contains(const std::string& doc, std::string_view what) {
  return doc.find(what) != std::string::npos;
}

TEST(Rfc3339, ParsesTheLoggersTimestamps) {
  EXPECT_EQ(parse_rfc3339_ns("2026-11-26T18:04:05.123456Z"), 1795716245123456000);
  EXPECT_EQ(parse_rfc3339_ns("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339_ns("2000-02-29T12:00:00.5Z"), 951825600500000000);
  EXPECT_FALSE(parse_rfc3339_ns("2026-11-26 18:04:05Z"));
  EXPECT_FALSE(parse_rfc3339_ns("2026-13-26T18:04:05Z"));
  EXPECT_FALSE(parse_rfc3339_ns("2026-11-26T18:04:05+01:00"));  // the logger writes UTC only
  EXPECT_FALSE(parse_rfc3339_ns("2026-11-26T18:04:05."));
}

TEST(OtlpLogs, EachLineBecomesARecordWithSeverityIdsAndAttributes) {
  std::string lines =
      R"({"ts":"2026-11-26T18:04:05.123456Z","level":"warn","msg":"slow query","caller":"db/pool.cpp:42",)"
      R"("trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","rows":12,"ratio":0.25,)"
      R"("cached":false,"sql":"select \"x\"","extra":{"a":[1,2]},"nothing":null})"
      "\n"
      R"({"ts":"2026-11-26T18:04:06Z","level":"error","msg":"boom","trace_id":"not-hex"})"
      "\n"
      "not json at all\n";
  auto resource = trace::Resource::detect("user-svc", "1.0.0", "test");
  std::string doc = encode_otlp_logs_json(lines, resource, 1795716300000000000);
  json::Reader r(doc);
  ASSERT_TRUE(r.skip() && r.finish()) << doc;
  EXPECT_TRUE(contains(doc, R"({"key":"service.name","value":{"stringValue":"user-svc"}})")) << doc;
  EXPECT_TRUE(contains(doc, R"("timeUnixNano":"1795716245123456000")")) << doc;
  EXPECT_TRUE(contains(doc, R"("severityNumber":13,"severityText":"WARN","body":{"stringValue":"slow query"})"));
  EXPECT_TRUE(contains(doc, R"("traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7")"));
  EXPECT_TRUE(contains(doc, R"({"key":"rows","value":{"intValue":"12"}})"));
  EXPECT_TRUE(contains(doc, R"({"key":"ratio","value":{"doubleValue":0.25}})"));
  EXPECT_TRUE(contains(doc, R"({"key":"cached","value":{"boolValue":false}})"));
  EXPECT_TRUE(contains(doc, R"({"key":"sql","value":{"stringValue":"select \"x\""}})"));
  EXPECT_TRUE(contains(doc, R"({"key":"extra","value":{"stringValue":"{\"a\":[1,2]}"}})"));
  EXPECT_TRUE(contains(doc, R"({"key":"code.filepath","value":{"stringValue":"db/pool.cpp"}})"));
  EXPECT_TRUE(contains(doc, R"({"key":"code.lineno","value":{"intValue":"42"}})"));
  EXPECT_FALSE(contains(doc, "nothing"));
  // A malformed trace id is not trusted as one; it stays an attribute.
  EXPECT_TRUE(contains(doc, R"({"key":"trace_id","value":{"stringValue":"not-hex"}})"));
  EXPECT_TRUE(contains(doc, R"("severityNumber":17,"severityText":"ERROR","body":{"stringValue":"boom"})"));
  // A line that is not JSON is kept as the body of an INFO record.
  EXPECT_TRUE(contains(doc, R"("body":{"stringValue":"not json at all"})")) << doc;
  bool skipped = false;
  EXPECT_EQ(otlp_schema_problem("logs", doc, skipped), "");
  if (skipped) GTEST_SKIP() << "npm/protoc not installed (make test installs them)";
}

struct Scripted {
  std::mutex mu;
  std::vector<trace::PostRequest> got;
  int status = 200;
  trace::Transport transport() {
    return [this](const trace::PostRequest& req) -> Result<trace::PostResponse> {
      std::lock_guard lock(mu);
      got.push_back(req);
      return trace::PostResponse{.status = status};
    };
  }
};

TEST(OtlpLogs, SinkBatchesFlushesAndDropsWhenItsBufferIsFull) {
  Scripted collector;
  OtlpLogOptions o;
  o.otlp.endpoint = "http://collector:4318/v1/logs";
  o.interval = std::chrono::hours(1);  // only flush() and full batches export
  o.max_batch_lines = 1000;
  o.max_buffer_bytes = 300;
  OtlpLogSink sink(o, trace::Resource::detect("svc"), collector.transport());
  sink.write(R"({"ts":"2026-11-26T18:04:05Z","level":"info","msg":"one"})"
             "\n");
  sink.write(R"({"ts":"2026-11-26T18:04:05Z","level":"info","msg":"two"})"
             "\n");
  sink.flush();
  {
    std::lock_guard lock(collector.mu);
    ASSERT_EQ(collector.got.size(), 1u);
    EXPECT_EQ(collector.got[0].url, "http://collector:4318/v1/logs");
    EXPECT_TRUE(contains(collector.got[0].body, R"("body":{"stringValue":"one"})"));
    EXPECT_TRUE(contains(collector.got[0].body, R"("body":{"stringValue":"two"})"));
  }
  EXPECT_EQ(sink.exported(), 2u);
  // 300 bytes hold five of these lines; the rest are dropped and counted, never waited for.
  for (int i = 0; i < 10; ++i)
    sink.write(R"({"ts":"2026-11-26T18:04:05Z","level":"info","msg":"x"})"
               "\n");
  EXPECT_EQ(sink.dropped(), 5u);
  sink.flush();
  EXPECT_EQ(sink.exported(), 7u);
  // A collector that refuses (400) counts a failure; the sink goes on.
  collector.status = 400;
  sink.write(R"({"msg":"lost"})"
             "\n");
  sink.flush();
  EXPECT_EQ(sink.export_failures(), 1u);
  sink.shutdown();
  sink.write("after shutdown\n");
  EXPECT_EQ(sink.dropped(), 6u);
}

TEST(OtlpMetrics, ParsesOurExpositionAndEncodesSumsGaugesAndHistograms) {
  metrics::Registry registry;
  auto& requests =
      registry.counter_vec({.name = "shop_orders_total", .help = "Orders \\ placed.\nNew line."}, {"channel"});
  requests.with({"web \"eu\""}).inc(3);
  requests.with({"app"}).inc();
  registry.gauge({.name = "shop_queue_depth", .help = "Jobs waiting."}).set(7);
  auto h = registry.histogram({.name = "shop_checkout_seconds", .help = "Checkout.", .buckets = {0.1, 1}});
  h.observe(0.0625);
  h.observe(0.5);
  h.observe(0.75);
  h.observe(3);
  auto parsed = parse_prometheus_text(registry.render());
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  std::map<std::string, const ParsedFamily*> by;
  for (auto& f : *parsed) by[f.name] = &f;
  ASSERT_TRUE(by.count("shop_orders_total") && by.count("shop_queue_depth") && by.count("shop_checkout_seconds"));
  const auto& orders = *by["shop_orders_total"];
  EXPECT_EQ(orders.type, "counter");
  EXPECT_EQ(orders.help, "Orders \\ placed.\nNew line.");
  ASSERT_EQ(orders.samples.size(), 2u);
  for (auto& s : orders.samples) {
    ASSERT_EQ(s.labels.size(), 1u);
    EXPECT_EQ(s.value, s.labels[0].second == "app" ? 1 : 3);
    if (s.value == 3) {
      EXPECT_EQ(s.labels[0].second, "web \"eu\"");
    }
  }
  const auto& hist = *by["shop_checkout_seconds"];
  ASSERT_EQ(hist.samples.size(), 1u);
  EXPECT_EQ(hist.samples[0].count, 4);
  EXPECT_DOUBLE_EQ(hist.samples[0].sum, 4.3125);
  ASSERT_EQ(hist.samples[0].buckets.size(), 3u);  // 0.1, 1, +Inf (cumulative 1, 3, 4)

  std::string doc = encode_otlp_metrics_json(*parsed, trace::Resource::detect("shop"), 1000, 2000);
  json::Reader r(doc);
  ASSERT_TRUE(r.skip() && r.finish()) << doc;
  EXPECT_TRUE(contains(doc, R"("aggregationTemporality":2,"isMonotonic":true)"));
  EXPECT_TRUE(contains(doc, R"({"key":"channel","value":{"stringValue":"web \"eu\""}})")) << doc;
  // Per-bucket counts, not running totals; bounds without +Inf.
  EXPECT_TRUE(contains(doc, R"("count":"4","sum":4.3125,"bucketCounts":["1","2","1"],"explicitBounds":[0.1,1])"))
      << doc;
  EXPECT_TRUE(contains(doc, R"("name":"shop_queue_depth","description":"Jobs waiting.","gauge")")) << doc;
  EXPECT_TRUE(contains(doc, R"("startTimeUnixNano":"1000","timeUnixNano":"2000")"));
  bool skipped = false;
  EXPECT_EQ(otlp_schema_problem("metrics", doc, skipped), "");
  if (skipped) GTEST_SKIP() << "npm/protoc not installed (make test installs them)";
}

TEST(OtlpMetrics, RejectsMalformedExpositionWithTheLine) {
  auto r = parse_prometheus_text("# TYPE a counter\na_total 1\nb{x=\"1\" 2\n");
  ASSERT_FALSE(r);
  EXPECT_TRUE(contains(std::string(r.error().message()), "line 3")) << r.error().to_string();
  EXPECT_FALSE(parse_prometheus_text("c one\n"));
}

TEST(OtlpMetrics, PusherPostsTheRegistryAndCountsFailures) {
  metrics::Registry registry;
  registry.counter({.name = "jobs_total", .help = "Jobs."}).inc(5);
  Scripted collector;
  OtlpMetricsPusher pusher(registry, {.otlp = {.endpoint = "http://c/v1/metrics"}, .interval = std::chrono::hours(1)},
                           trace::Resource::detect("svc"), collector.transport());
  ASSERT_TRUE(pusher.push().ok());
  collector.status = 400;
  EXPECT_FALSE(pusher.push().ok());
  EXPECT_EQ(pusher.pushes(), 1u);
  EXPECT_EQ(pusher.failures(), 1u);
  collector.status = 200;
  pusher.shutdown();  // one last push
  std::lock_guard lock(collector.mu);
  ASSERT_EQ(collector.got.size(), 3u);
  EXPECT_TRUE(contains(collector.got[0].body, R"("name":"jobs_total")"));
  EXPECT_TRUE(contains(collector.got[0].body, R"("asDouble":5)"));
}

}  // namespace
}  // namespace svckit::app
