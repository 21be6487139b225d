#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "svckit/json/json.hpp"
#include "svckit/testing/otlp_schema.hpp"
#include "svckit/trace/otlp.hpp"
#include "svckit/trace/tracer.hpp"

namespace svckit::trace {
namespace {

const std::string kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
const std::string kSpan = "00f067aa0ba902b7";

TEST(TraceIds, RandomHexRoundTrip) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    TraceId t = TraceId::random();
    SpanId s = SpanId::random();
    ASSERT_TRUE(t.valid() && s.valid());
    EXPECT_EQ(TraceId::from_hex(t.hex()), t);
    EXPECT_EQ(SpanId::from_hex(s.hex()), s);
    seen.insert(t.hex());
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_FALSE(TraceId::from_hex(std::string(32, '0')));
  EXPECT_FALSE(SpanId::from_hex("00f067aa0ba902b"));
}

TEST(W3C, ParsesValidTraceparents) {
  auto sc = parse_traceparent("00-" + kTrace + "-" + kSpan + "-01", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
  ASSERT_TRUE(sc);
  EXPECT_EQ(sc->trace_id.hex(), kTrace);
  EXPECT_EQ(sc->span_id.hex(), kSpan);
  EXPECT_TRUE(sc->sampled);
  EXPECT_TRUE(sc->remote);
  EXPECT_EQ(sc->trace_state, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
  auto unsampled = parse_traceparent("00-" + kTrace + "-" + kSpan + "-00");
  ASSERT_TRUE(unsampled);
  EXPECT_FALSE(unsampled->sampled);
  // A future version may append fields; its known prefix still counts.
  EXPECT_TRUE(parse_traceparent("cc-" + kTrace + "-" + kSpan + "-01-what-the-future-holds"));
  EXPECT_EQ(format_traceparent(*sc), "00-" + kTrace + "-" + kSpan + "-01");
}

TEST(W3C, RejectsMalformedTraceparents) {
  for (std::string bad : std::vector<std::string>{
           "", "00-" + kTrace + "-" + kSpan,                        // no flags
           "00-" + kTrace + "-" + kSpan + "-01-extra",              // v00 with more
           "ff-" + kTrace + "-" + kSpan + "-01",                    // forbidden version
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-" + kSpan + "-01",  // upper case
           "00-" + std::string(32, '0') + "-" + kSpan + "-01",      // zero trace id
           "00-" + kTrace + "-0000000000000000-01",                 // zero span id
           "00-" + kTrace.substr(1) + "-" + kSpan + "-01",          // short id
           "00_" + kTrace + "_" + kSpan + "_01",                    // separators
           "00-" + kTrace + "-" + kSpan + "-0g",                    // flags not hex
           "cc-" + kTrace + "-" + kSpan + "-01x",                   // junk after
       }) {
    EXPECT_FALSE(parse_traceparent(bad)) << bad;
  }
  // An invalid tracestate is dropped, the traceparent still counts.
  auto sc = parse_traceparent("00-" + kTrace + "-" + kSpan + "-01", "UPPER=bad");
  ASSERT_TRUE(sc);
  EXPECT_TRUE(sc->trace_state.empty());
  std::string huge;
  for (int i = 0; i < 40; ++i) huge += "k" + std::to_string(i) + "=v,";
  EXPECT_TRUE(parse_traceparent("00-" + kTrace + "-" + kSpan + "-01", huge)->trace_state.empty());
}

TEST(B3, SingleAndMultiHeader) {
  auto sc = parse_b3_single(kTrace + "-" + kSpan + "-1-" + "05e3ac9a4f6e3b90");
  ASSERT_TRUE(sc);
  EXPECT_EQ(sc->trace_id.hex(), kTrace);
  EXPECT_TRUE(sc->sampled);
  auto short_id = parse_b3_single("a3ce929d0e0e4736-" + kSpan + "-0");
  ASSERT_TRUE(short_id);
  EXPECT_EQ(short_id->trace_id.hex(), "0000000000000000a3ce929d0e0e4736");
  EXPECT_FALSE(short_id->sampled);
  EXPECT_TRUE(parse_b3_single(kTrace + "-" + kSpan + "-d")->sampled);
  for (std::string bad :
       std::vector<std::string>{"1", "0", kTrace, kTrace + "-" + kSpan + "-x", kTrace + "-abc-1",
                                kTrace + "-" + kSpan + "-1-short", kTrace + "-" + kSpan + "-1-" + kSpan + "-x"})
    EXPECT_FALSE(parse_b3_single(bad)) << bad;

  std::map<std::string, std::string> h{{"X-B3-TraceId", kTrace}, {"X-B3-SpanId", kSpan}, {"X-B3-Sampled", "1"}};
  auto get = [&](std::string_view n) -> std::string_view {
    auto it = h.find(std::string(n));
    return it == h.end() ? std::string_view() : std::string_view(it->second);
  };
  auto multi = extract(get, {Format::kB3Multi});
  ASSERT_TRUE(multi);
  EXPECT_TRUE(multi->sampled);
  h["X-B3-Sampled"] = "0";
  EXPECT_FALSE(extract(get, {Format::kB3Multi})->sampled);
  h["X-B3-Flags"] = "1";  // debug implies sampled
  EXPECT_TRUE(extract(get, {Format::kB3Multi})->sampled);
}

TEST(Jaeger, UberTraceId) {
  auto sc = parse_jaeger(kTrace + ":" + kSpan + ":0:1");
  ASSERT_TRUE(sc);
  EXPECT_EQ(sc->span_id.hex(), kSpan);
  EXPECT_TRUE(sc->sampled);
  auto encoded = parse_jaeger("a3ce929d0e0e4736%3Af067aa0ba902b7%3A0%3A3");  // short ids, url-encoded
  ASSERT_TRUE(encoded);
  EXPECT_EQ(encoded->trace_id.hex(), "0000000000000000a3ce929d0e0e4736");
  EXPECT_EQ(encoded->span_id.hex(), "00f067aa0ba902b7");
  for (std::string bad :
       std::vector<std::string>{kTrace + ":" + kSpan + ":0", kTrace + ":" + kSpan + ":0:1:9", "0:" + kSpan + ":0:1",
                                kTrace + ":" + kSpan + ":0:zz", std::string(300, '1')})
    EXPECT_FALSE(parse_jaeger(bad)) << bad;
  EXPECT_EQ(format_jaeger(*sc), kTrace + ":" + kSpan + ":0:1");
}

TEST(Propagation, InjectThenExtractEveryFormatAndFallBackInOrder) {
  SpanContext sc;
  sc.trace_id = TraceId::random();
  sc.span_id = SpanId::random();
  sc.sampled = true;
  for (Format f : {Format::kW3C, Format::kB3, Format::kB3Multi, Format::kJaeger}) {
    std::map<std::string, std::string> headers;
    inject(sc, [&](std::string_view k, std::string_view v) { headers[std::string(k)] = std::string(v); }, {f});
    auto got = extract(
        [&](std::string_view k) -> std::string_view {
          auto it = headers.find(std::string(k));
          return it == headers.end() ? std::string_view() : std::string_view(it->second);
        },
        {f});
    ASSERT_TRUE(got) << static_cast<int>(f);
    EXPECT_EQ(got->trace_id, sc.trace_id);
    EXPECT_EQ(got->span_id, sc.span_id);
    EXPECT_TRUE(got->sampled);
  }
  // A malformed traceparent does not block a valid b3 listed after it.
  std::map<std::string, std::string> mixed{{"traceparent", "garbage"}, {"b3", kTrace + "-" + kSpan + "-1"}};
  auto got = extract(
      [&](std::string_view k) -> std::string_view {
        auto it = mixed.find(std::string(k));
        return it == mixed.end() ? std::string_view() : std::string_view(it->second);
      },
      {Format::kW3C, Format::kB3});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->trace_id.hex(), kTrace);
}

// The header lines a client writes carry exactly the fields inject sets, in its order.
TEST(Propagation, HeaderLinesMatchInjectForEveryFormat) {
  SpanContext sc;
  sc.trace_id = TraceId::random();
  sc.span_id = SpanId::random();
  sc.trace_state = "vendor=1";
  for (bool sampled : {true, false}) {
    sc.sampled = sampled;
    const std::vector<Format> all{Format::kW3C, Format::kB3, Format::kB3Multi, Format::kJaeger};
    std::string expected;
    inject(
        sc,
        [&](std::string_view k, std::string_view v) { expected += std::string(k) + ": " + std::string(v) + "\r\n"; },
        all);
    std::string lines = "Host: x\r\n";  // appended to, never replaced
    append_header_lines(lines, sc, all);
    EXPECT_EQ(lines, "Host: x\r\n" + expected);
  }
  std::string none;
  append_header_lines(none, SpanContext{}, {Format::kW3C});
  EXPECT_EQ(none, "");
}

TEST(Baggage, ParsesPercentDecodesSkipsInvalidAndRoundTrips) {
  auto b = parse_baggage("userId=alice, serverNode = DF%2028 ;p=1, bad key=x, isProduction=false,noeq");
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0], (std::pair<std::string, std::string>{"userId", "alice"}));
  EXPECT_EQ(b[1], (std::pair<std::string, std::string>{"serverNode", "DF 28"}));
  EXPECT_EQ(b[2].first, "isProduction");
  EXPECT_EQ(parse_baggage(format_baggage({{"k", "a,b;c d%"}}))[0].second, "a,b;c d%");
  EXPECT_TRUE(parse_baggage(std::string(9000, 'a')).empty());
  std::string many;
  for (int i = 0; i < 100; ++i) many += "k" + std::to_string(i) + "=v,";
  EXPECT_EQ(parse_baggage(many).size(), 64u);
}

TEST(Samplers, RatioIsDeterministicByTraceIdAndParentBasedFollows) {
  auto half = ratio(0.25);
  int yes = 0;
  for (int i = 0; i < 20000; ++i) {
    TraceId id = TraceId::random();
    bool a = half->should_sample(std::nullopt, id);
    EXPECT_EQ(a, half->should_sample(std::nullopt, id));
    yes += a;
  }
  EXPECT_NEAR(yes / 20000.0, 0.25, 0.02);
  EXPECT_FALSE(ratio(0)->should_sample(std::nullopt, TraceId::random()));
  EXPECT_TRUE(ratio(1)->should_sample(std::nullopt, TraceId::random()));
  auto pb = parent_based(always_off());
  SpanContext parent;
  parent.trace_id = TraceId::random();
  parent.span_id = SpanId::random();
  parent.sampled = true;
  EXPECT_TRUE(pb->should_sample(parent, parent.trace_id));
  parent.sampled = false;
  EXPECT_FALSE(parent_based(always_on())->should_sample(parent, parent.trace_id));
  EXPECT_FALSE(pb->should_sample(std::nullopt, TraceId::random()));
}

class Collect : public SpanProcessor {
 public:
  void on_end(const SpanData& s) override {
    std::lock_guard lock(mu);
    spans.push_back(s);
  }
  std::mutex mu;
  std::vector<SpanData> spans;
};

// The last processor is handed the span to keep (moved); the ones before it see it whole first.
TEST(Spans, EveryProcessorSeesTheWholeSpanAndTheRingKeepsTheNewestOldestFirst) {
  auto collect = std::make_shared<Collect>();
  auto ring = std::make_shared<RingBufferProcessor>(3);
  Tracer tracer({.resource = Resource::detect("svc", "1.0", "test"), .processors = {collect, ring}});
  for (int i = 0; i < 5; ++i) {
    Span s = tracer.start(Context(), "span " + std::to_string(i), SpanKind::kInternal);
    s.set_attribute("a.rather.long.attribute.key", "value number " + std::to_string(i));
    s.end();
  }
  ASSERT_EQ(collect->spans.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(collect->spans[i].name, "span " + std::to_string(i));
    ASSERT_EQ(collect->spans[i].attributes.size(), 1u);
    EXPECT_EQ(std::get<std::string>(collect->spans[i].attributes[0].value), "value number " + std::to_string(i));
  }
  auto recent = ring->recent();
  ASSERT_EQ(recent.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(recent[i].name, "span " + std::to_string(i + 2));
    ASSERT_EQ(recent[i].attributes.size(), 1u);
    EXPECT_EQ(recent[i].attributes[0].key, "a.rather.long.attribute.key");
    EXPECT_EQ(std::get<std::string>(recent[i].attributes[0].value), "value number " + std::to_string(i + 2));
  }
  // A ring that is not last copies: the processor after it still gets the span whole.
  auto first = std::make_shared<RingBufferProcessor>(2);
  auto last = std::make_shared<Collect>();
  Tracer other({.processors = {first, last}});
  Span s = other.start(Context(), "copied", SpanKind::kInternal);
  s.set_attribute("k", "v");
  s.end();
  ASSERT_EQ(first->recent().size(), 1u);
  EXPECT_EQ(first->recent()[0].attributes.size(), 1u);
  ASSERT_EQ(last->spans.size(), 1u);
  EXPECT_EQ(last->spans[0].name, "copied");
  EXPECT_EQ(last->spans[0].attributes.size(), 1u);
}

TEST(Spans, ARecycledSpanCarriesNothingOfTheSpanBefore) {
  auto ring = std::make_shared<RingBufferProcessor>(1);
  Tracer tracer({.limits = {.max_attributes = 2, .max_events = 1, .max_links = 1}, .processors = {ring}});
  SpanContext parent{TraceId::random(), SpanId::random(), true, "k=v", true};
  {
    Span full = tracer.start_span("a-long-span-name-that-allocates", SpanKind::kServer, parent,
                                  std::vector<Attribute>{{"a", std::int64_t{1}}, {"b", std::string("two")}});
    full.set_attribute("dropped", true);
    full.add_event("e1").add_event("e2");
    full.add_link(SpanContext{TraceId::random(), SpanId::random(), true, "", false});
    full.add_link(SpanContext{TraceId::random(), SpanId::random(), true, "", false});
    full.set_status(StatusCode::kError, "broken");
  }
  tracer.start_span("evicts", SpanKind::kInternal, std::nullopt, std::vector<Attribute>{}).end();
  // Two more: whichever of them reuses the first span's data must start clean.
  for (int i = 0; i < 2; ++i) {
    tracer.start_span("x", SpanKind::kClient, std::nullopt, std::vector<Attribute>{{"c", std::int64_t{i}}}).end();
    auto recent = ring->recent();
    ASSERT_EQ(recent.size(), 1u);
    const SpanData& d = recent[0];
    EXPECT_EQ(d.name, "x");
    EXPECT_EQ(d.kind, SpanKind::kClient);
    EXPECT_FALSE(d.parent_span_id.valid());
    EXPECT_NE(d.context.trace_id, parent.trace_id);
    EXPECT_TRUE(d.context.trace_state.empty());
    ASSERT_EQ(d.attributes.size(), 1u);
    EXPECT_EQ(d.attributes[0].key, "c");
    EXPECT_EQ(std::get<std::int64_t>(d.attributes[0].value), i);
    EXPECT_TRUE(d.events.empty());
    EXPECT_TRUE(d.links.empty());
    EXPECT_EQ(d.status, StatusCode::kUnset);
    EXPECT_TRUE(d.status_message.empty());
    EXPECT_EQ(d.dropped_attributes + d.dropped_events + d.dropped_links, 0u);
    EXPECT_GE(d.end_ns, d.start_ns);
  }
  // Attribute lists copied over recycled ones: same-length strings, a number becoming a string and a
  // string a boolean, a shorter list after a longer one.
  const std::vector<std::vector<Attribute>> lists{
      {{"k1", std::string("aaaa")}, {"k2", std::int64_t{1}}},
      {{"k1", std::string("bbbb")}, {"k2", std::string("cc")}},
      {{"kk", std::string("a-much-longer-value-than-before")}},
      {{"k1", std::string("dddd")}, {"k2", true}},
  };
  for (int round = 0; round < 3; ++round) {
    for (const auto& list : lists) {
      tracer.start_span("y", SpanKind::kInternal, std::nullopt, list).end();
      auto d = ring->recent().at(0);
      ASSERT_EQ(d.attributes.size(), list.size());
      for (std::size_t i = 0; i < list.size(); ++i) {
        EXPECT_EQ(d.attributes[i].key, list[i].key);
        EXPECT_EQ(d.attributes[i].value, list[i].value);
      }
    }
  }
}

TEST(Tracers, CurrentFollowsTheGlobalTracerOnEveryThread) {
  auto a = std::make_shared<Tracer>(TracerOptions{});
  auto b = std::make_shared<Tracer>(TracerOptions{});
  Tracer::set_global(a);
  EXPECT_EQ(Tracer::current(), a.get());
  EXPECT_EQ(Tracer::current(), a.get());  // cached
  Tracer* seen_by_other = nullptr;
  std::thread([&] { seen_by_other = Tracer::current(); }).join();
  EXPECT_EQ(seen_by_other, a.get());
  Tracer::set_global(b);
  EXPECT_EQ(Tracer::current(), b.get());
  std::thread([&] { seen_by_other = Tracer::current(); }).join();
  EXPECT_EQ(seen_by_other, b.get());
  // The thread's cached reference keeps the tracer it last saw alive until it looks again.
  std::weak_ptr<Tracer> weak_b = b;
  b.reset();
  EXPECT_FALSE(weak_b.expired());
  Tracer::set_global(nullptr);
  EXPECT_EQ(Tracer::current(), nullptr);
  EXPECT_TRUE(weak_b.expired());
}

// Processors added while another thread ends spans: each span ends into the old list or a new one,
// never a freed one (ASan and TSan check that), and every added processor sees the spans after it.
TEST(Tracers, ProcessorsCanBeAddedWhileSpansEnd) {
  auto first = std::make_shared<Collect>();
  Tracer tracer({.processors = {first}});
  std::atomic<bool> stop{false};
  std::thread ender([&] {
    while (!stop.load()) tracer.start_span("s", SpanKind::kInternal, std::nullopt, std::vector<Attribute>{}).end();
  });
  std::vector<std::shared_ptr<Collect>> added;
  for (int i = 0; i < 50; ++i) {
    added.push_back(std::make_shared<Collect>());
    tracer.add_processor(added.back());
  }
  stop = true;
  ender.join();
  tracer.start_span("last", SpanKind::kInternal, std::nullopt, std::vector<Attribute>{}).end();
  for (auto& c : added) {
    std::lock_guard lock(c->mu);
    ASSERT_FALSE(c->spans.empty());
    EXPECT_EQ(c->spans.back().name, "last");
  }
}

TEST(Spans, APrebuiltAttributeListIsCopiedInWithinTheLimits) {
  auto collect = std::make_shared<Collect>();
  Tracer tracer({.resource = Resource::detect("svc", "1.0", "test"),
                 .limits = {.max_attributes = 3, .max_events = 1, .max_attribute_length = 5},
                 .processors = {collect}});
  const std::vector<Attribute> fits{{"rpc.system", std::string("grpc")}, {"n", std::int64_t{7}}};
  const std::vector<Attribute> too_long{{"k", std::string("much too long")}, {"a", true}, {"b", true}, {"c", true}};
  tracer.start_span("fits", SpanKind::kServer, std::nullopt, fits).end();
  tracer.start_span("cut", SpanKind::kServer, std::nullopt, too_long).end();
  ASSERT_EQ(collect->spans.size(), 2u);
  const auto& a = collect->spans[0].attributes;
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].key, "rpc.system");
  EXPECT_EQ(std::get<std::string>(a[0].value), "grpc");
  EXPECT_EQ(std::get<std::int64_t>(a[1].value), 7);
  EXPECT_EQ(fits.size(), 2u);  // the list itself is left as it was, for the next span
  // Over the limits, the same rules as set_attribute: values cut, attributes past the count dropped.
  const auto& b = collect->spans[1].attributes;
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(std::get<std::string>(b[0].value), "much ");
}

TEST(Spans, ParentChildLimitsStatusAndContext) {
  auto collect = std::make_shared<Collect>();
  Tracer tracer({.resource = Resource::detect("svc", "1.0", "test"),
                 .limits = {.max_attributes = 3, .max_events = 1, .max_attribute_length = 5},
                 .processors = {collect}});
  Context root_ctx;
  {
    Span root = tracer.start(root_ctx, "root", SpanKind::kServer);
    ASSERT_TRUE(root.recording());
    Context ctx = with_span(root_ctx, root.context());
    ASSERT_EQ(ctx.log_fields().size(), 2u);
    EXPECT_EQ(ctx.log_fields()[0].second, root.context().trace_id.hex());
    Span child = tracer.start(ctx, "child");
    child.set_attribute("a", 1).set_attribute("b", true).set_attribute("c", 2.5).set_attribute("d", "dropped");
    child.set_attribute("a", "héllo wörld");  // replaces, and is cut to 5 bytes on a character boundary
    child.add_event("e1").add_event("e2");
    child.record_error(Status(Code::kUnavailable, "db down"));
    child.set_status(StatusCode::kOk);                 // OK may replace ERROR...
    child.set_status(StatusCode::kError, "too late");  // ...but nothing replaces OK
    EXPECT_EQ(child.context().trace_id, root.context().trace_id);
  }
  ASSERT_EQ(collect->spans.size(), 2u);
  const SpanData& child = collect->spans[0];
  const SpanData& root = collect->spans[1];
  EXPECT_EQ(child.parent_span_id, root.context.span_id);
  EXPECT_FALSE(root.parent_span_id.valid());
  EXPECT_EQ(child.attributes.size(), 3u);
  EXPECT_EQ(child.dropped_attributes, 1u);
  EXPECT_EQ(std::get<std::string>(child.attributes[0].value), "h\xc3\xa9ll");
  EXPECT_EQ(child.events.size(), 1u);
  EXPECT_EQ(child.dropped_events, 2u);  // e2 and the exception event
  EXPECT_EQ(child.status, StatusCode::kOk);
  EXPECT_GE(child.end_ns, child.start_ns);
  EXPECT_EQ(root.kind, SpanKind::kServer);
}

TEST(Spans, UnsampledSpansRecordNothingButPropagate) {
  auto collect = std::make_shared<Collect>();
  Tracer tracer({.sampler = always_off(), .processors = {collect}});
  Span s = tracer.start(Context(), "x");
  EXPECT_FALSE(s.recording());
  EXPECT_TRUE(s.context().valid());
  EXPECT_FALSE(s.context().sampled);
  s.set_attribute("k", 1);
  s.end();
  EXPECT_TRUE(collect->spans.empty());
}

class SlowExporter : public SpanExporter {
 public:
  Status export_spans(std::span<const SpanData> spans, const Resource&) override {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return open; });
    batches.push_back(spans.size());
    total += spans.size();
    return {};
  }
  void release() {
    std::lock_guard lock(mu);
    open = true;
    cv.notify_all();
  }
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  std::vector<std::size_t> batches;
  std::size_t total = 0;
};

TEST(BatchProcessor, BoundedQueueDropsInsteadOfBlockingAndFlushes) {
  auto exporter = std::make_shared<SlowExporter>();
  auto batch = std::make_shared<BatchSpanProcessor>(
      exporter, Resource{}, BatchOptions{.max_queue = 100, .max_batch = 10, .interval = std::chrono::hours(1)});
  Tracer tracer({.processors = {batch}});
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) tracer.start(Context(), "s").end();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));  // nobody waited for the exporter
  EXPECT_GT(batch->dropped(), 0u);
  exporter->release();
  batch->force_flush();
  EXPECT_EQ(exporter->total + batch->dropped(), 1000u);
  for (auto n : exporter->batches) EXPECT_LE(n, 10u);
  EXPECT_EQ(batch->exported(), exporter->total);
}

TEST(Otlp, JsonHasTheOtlpShape) {
  auto collect = std::make_shared<Collect>();
  Tracer tracer({.resource = Resource::detect("user-svc", "1.2.3", "test"), .processors = {collect}});
  {
    Span s = tracer.start(Context(), "GET /users/:id", SpanKind::kServer);
    s.set_attribute("http.response.status_code", 503).set_attribute("ok", false).set_attribute("ratio", 0.5);
    s.add_event("retry", {{"attempt", std::int64_t{2}}});
    SpanContext linked{TraceId::random(), SpanId::random(), true, "a=b"};
    s.add_link(linked);
    s.record_error(Status(Code::kUnavailable, "db down"));
  }
  std::string doc = encode_otlp_json(collect->spans, tracer.resource());
  json::Reader r(doc);
  ASSERT_TRUE(r.skip() && r.finish()) << doc;
  EXPECT_NE(doc.find(R"({"key":"service.name","value":{"stringValue":"user-svc"}})"), std::string::npos) << doc;
  EXPECT_NE(doc.find(R"("kind":2)"), std::string::npos);
  EXPECT_NE(doc.find(R"({"key":"http.response.status_code","value":{"intValue":"503"}})"), std::string::npos);
  EXPECT_NE(doc.find(R"("status":{"code":2,"message":"UNAVAILABLE: db down"})"), std::string::npos) << doc;
  EXPECT_NE(doc.find(R"("traceState":"a=b")"), std::string::npos);

  // The OpenTelemetry protobuf schema, through Google's protobuf runtime (scripts/otlp_validate.sh).
  bool skipped = false;
  EXPECT_EQ(testing::otlp_schema_problem("traces", doc, skipped), "");
  if (skipped) GTEST_SKIP() << "npm/protoc not installed (make test installs them)";
}

TEST(Otlp, ExporterRetriesWithBackoffAndHonoursRetryAfter) {
  std::vector<int> answers = {503, 429, 200};
  std::vector<std::chrono::milliseconds> waits;
  std::vector<PostRequest> seen;
  OtlpHttpExporter exp({.endpoint = "http://collector:4318/v1/traces",
                        .gzip = true,
                        .max_attempts = 5,
                        .initial_backoff = std::chrono::milliseconds(100),
                        .sleep = [&](std::chrono::milliseconds d) { waits.push_back(d); }},
                       [&](const PostRequest& r) -> Result<PostResponse> {
                         seen.push_back(r);
                         int status = answers[seen.size() - 1];
                         PostResponse res{status, std::nullopt, ""};
                         if (status == 429) res.retry_after = std::chrono::seconds(3);
                         return res;
                       });
  SpanData s;
  s.context = {TraceId::random(), SpanId::random(), true};
  s.name = "x";
  EXPECT_TRUE(exp.export_spans(std::span<const SpanData>(&s, 1), Resource{}).ok());
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(exp.retries(), 2u);
  ASSERT_EQ(waits.size(), 2u);
  EXPECT_LE(waits[0], std::chrono::milliseconds(100));   // full jitter within the first backoff
  EXPECT_EQ(waits[1], std::chrono::milliseconds(3000));  // Retry-After
  EXPECT_EQ(seen[0].body.substr(0, 2), "\x1f\x8b");      // gzip magic
  bool gz = false;
  for (auto& [k, v] : seen[0].headers) gz = gz || (k == "Content-Encoding" && v == "gzip");
  EXPECT_TRUE(gz);

  // A 400 is not retried; a dead collector is retried until max_attempts, then reported.
  int calls = 0;
  OtlpHttpExporter bad({.sleep = [](std::chrono::milliseconds) {}}, [&](const PostRequest&) -> Result<PostResponse> {
    ++calls;
    return PostResponse{400, std::nullopt, "bad payload"};
  });
  EXPECT_EQ(bad.export_spans(std::span<const SpanData>(&s, 1), Resource{}).to_http(), 400);
  EXPECT_EQ(calls, 1);
  calls = 0;
  OtlpHttpExporter down({.max_attempts = 3, .sleep = [](std::chrono::milliseconds) {}},
                        [&](const PostRequest&) -> Result<PostResponse> {
                          ++calls;
                          return make_error(Code::kUnavailable, "connection refused");
                        });
  EXPECT_EQ(down.export_spans(std::span<const SpanData>(&s, 1), Resource{}).code(), Code::kUnavailable);
  EXPECT_EQ(calls, 3);
}

}  // namespace
}  // namespace svckit::trace
