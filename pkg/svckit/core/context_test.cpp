#include "svckit/core/context.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <thread>

using namespace std::chrono_literals;

namespace svckit {
namespace {

TEST(ContextTest, BackgroundNeverEnds) {
  Context bg;
  EXPECT_FALSE(bg.done());
  EXPECT_TRUE(bg.err().ok());
  EXPECT_EQ(bg.remaining(), Duration::max());
  bg.cancel();  // no-op
  EXPECT_FALSE(bg.done());
}

TEST(ContextTest, ParentCancelsChildrenNotTheOtherWay) {
  Context root = Context().with_cancel();
  Context child = root.with_cancel();
  Context grandchild = child.with_value(42);
  Context sibling = root.with_cancel();

  child.cancel();
  EXPECT_TRUE(child.done());
  EXPECT_TRUE(grandchild.done());
  EXPECT_FALSE(root.done());
  EXPECT_FALSE(sibling.done());

  root.cancel(Status(Code::kUnavailable, "shutting down"));
  EXPECT_TRUE(sibling.done());
  EXPECT_EQ(sibling.err().code(), Code::kUnavailable);
  // The first reason wins.
  EXPECT_EQ(child.err().code(), Code::kCancelled);
}

TEST(ContextTest, CancelledParentMakesNewChildrenDone) {
  Context root = Context().with_cancel();
  root.cancel();
  EXPECT_TRUE(root.with_timeout(1h).done());
}

TEST(ContextTest, DeadlineIsInheritedAndNeverExtended) {
  Context parent = Context().with_timeout(50ms);
  Context child = parent.with_timeout(1h);
  ASSERT_TRUE(child.deadline());
  EXPECT_EQ(*child.deadline(), *parent.deadline());
  EXPECT_LE(child.remaining(), 50ms);
  Context tighter = parent.with_timeout(1ms);
  EXPECT_LT(*tighter.deadline(), *parent.deadline());
  std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(tighter.done());
  EXPECT_EQ(tighter.err().code(), Code::kDeadlineExceeded);
  EXPECT_EQ(tighter.remaining(), Duration::zero());
  EXPECT_FALSE(parent.done());
}

TEST(ContextTest, OnCancelRunsOnceAndUnregisters) {
  Context ctx = Context().with_cancel();
  int calls = 0;
  int unregistered_calls = 0;
  auto reg = ctx.on_cancel([&](const Status& s) {
    ++calls;
    EXPECT_EQ(s.code(), Code::kCancelled);
  });
  {
    auto gone = ctx.on_cancel([&](const Status&) { ++unregistered_calls; });
  }
  ctx.cancel();
  ctx.cancel();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(unregistered_calls, 0);
  // Registering on a cancelled context runs at once.
  int late = 0;
  auto reg2 = ctx.on_cancel([&](const Status&) { ++late; });
  EXPECT_EQ(late, 1);
}

struct Watched {
  int calls = 0;
  Code code = Code::kOk;
};
void note_cancel(const std::shared_ptr<Watched>& w, const Status& why) {
  ++w->calls;
  w->code = why.code();
}

TEST(ContextTest, OnCancelOfCallsBackOnlyWhileItsTargetLives) {
  Context ctx = Context().with_cancel();
  auto alive = std::make_shared<Watched>();
  auto gone = std::make_shared<Watched>();
  std::weak_ptr<Watched> gone_weak = gone;
  auto unregistered = std::make_shared<Watched>();
  auto reg = ctx.on_cancel_of<Watched, &note_cancel>(alive);
  auto reg_gone = ctx.on_cancel_of<Watched, &note_cancel>(gone);
  { auto reg_reset = ctx.on_cancel_of<Watched, &note_cancel>(unregistered); }
  gone.reset();
  EXPECT_TRUE(gone_weak.expired());  // the registration holds its target weakly
  ctx.cancel(Status(Code::kAborted, "stop"));
  ctx.cancel();
  EXPECT_EQ(alive->calls, 1);
  EXPECT_EQ(alive->code, Code::kAborted);
  EXPECT_EQ(unregistered->calls, 0);
  // Registering on a cancelled context runs at once, with the first reason.
  auto late = std::make_shared<Watched>();
  auto reg_late = ctx.on_cancel_of<Watched, &note_cancel>(late);
  EXPECT_EQ(late->calls, 1);
  EXPECT_EQ(late->code, Code::kAborted);
}

TEST(ContextTest, CancelReachesGrandchildrenThroughTheirScopes) {
  Context root = Context().with_cancel();
  Context child = root.with_timeout(1h);
  Context grandchild = child.with_cancel().with_value(7);
  Context sibling = root.with_cancel();
  sibling.cancel();
  EXPECT_FALSE(grandchild.done());
  root.cancel(Status(Code::kAborted, "shutting down"));
  EXPECT_TRUE(child.done());
  EXPECT_TRUE(grandchild.done());
  EXPECT_EQ(grandchild.err().code(), Code::kAborted);
  EXPECT_EQ(sibling.err().code(), Code::kCancelled);  // its own reason came first
}

TEST(ContextTest, DestroyedChildrenDoNotAccumulateInParent) {
  Context root = Context().with_cancel();
  std::weak_ptr<int> probe;
  for (int i = 0; i < 1000; ++i) {
    Context c = root.with_timeout(1h);
    (void)c;
  }
  // If children leaked callbacks, cancel would run 1000 dead callbacks; it must simply work.
  root.cancel();
  EXPECT_TRUE(root.done());
}

struct RequestInfo {
  std::string user;
};

TEST(ContextTest, TypedValuesMetadataAndLogFields) {
  Context ctx =
      Context().with_value(RequestInfo{"ann"}).with_metadata("X-Tenant", "t1").with_log_field("request_id", "r1");
  Context child = ctx.with_cancel().with_metadata("x-tenant", "t2").with_log_field("trace_id", "abc");
  ASSERT_NE(child.value<RequestInfo>(), nullptr);
  EXPECT_EQ(child.value<RequestInfo>()->user, "ann");
  EXPECT_EQ(child.value<int>(), nullptr);
  EXPECT_EQ(ctx.metadata("x-tenant"), "t1");
  EXPECT_EQ(child.metadata("X-TENANT"), "t2");
  EXPECT_FALSE(child.metadata("missing"));
  auto all = child.all_metadata();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].second, "t2");
  ASSERT_EQ(child.log_fields().size(), 2u);
  EXPECT_EQ(child.log_fields()[0].first, "request_id");
  EXPECT_EQ(child.log_fields()[1].second, "abc");
  EXPECT_EQ(ctx.log_fields().size(), 1u);
  // Set again further down: the first place, the newest value; the parent still sees its own.
  Context again = child.with_value(7).with_log_field("span_id", "s1").with_log_field("request_id", "r2");
  auto fields = again.log_fields();
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[0], (std::pair<std::string, std::string>("request_id", "r2")));
  EXPECT_EQ(fields[1].first, "trace_id");
  EXPECT_EQ(fields[2], (std::pair<std::string, std::string>("span_id", "s1")));
  EXPECT_EQ(child.log_fields()[0].second, "r1");
  // A chain deeper than the walk's stack array.
  Context deep = again;
  for (int i = 0; i < 40; ++i) deep = deep.with_log_field("k" + std::to_string(i), std::to_string(i));
  auto many = deep.log_fields();
  ASSERT_EQ(many.size(), 43u);
  EXPECT_EQ(many[0].second, "r2");
  EXPECT_EQ(many[42], (std::pair<std::string, std::string>("k39", "39")));
}

struct Ids {
  int a = 0, b = 0;
};
int g_renders = 0;
void render_ids(const Ids& ids, RenderedLogFields& out) {
  ++g_renders;
  int n = std::snprintf(out.text, sizeof out.text, "%d", ids.a);
  int m = std::snprintf(out.text + n, sizeof out.text - static_cast<std::size_t>(n), "%d", ids.b);
  out.fields[0] = {"a", std::string_view(out.text, static_cast<std::size_t>(n))};
  out.fields[1] = {"b", std::string_view(out.text + n, static_cast<std::size_t>(m))};
  out.size = 2;
}

TEST(ContextTest, RenderedLogFieldsAreFormattedOnlyWhenRead) {
  g_renders = 0;
  Context ctx = Context().with_log_field("request_id", "r1").with_value<Ids, render_ids>(Ids{12, 345});
  EXPECT_EQ(g_renders, 0);  // making the context formats nothing
  ASSERT_NE(ctx.value<Ids>(), nullptr);
  EXPECT_EQ(ctx.value<Ids>()->b, 345);
  auto fields = ctx.log_fields();
  EXPECT_EQ(g_renders, 1);
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[0], (std::pair<std::string, std::string>("request_id", "r1")));
  EXPECT_EQ(fields[1], (std::pair<std::string, std::string>("a", "12")));
  EXPECT_EQ(fields[2], (std::pair<std::string, std::string>("b", "345")));
  // A context whose only fields are rendered ones.
  auto alone = Context().with_value<Ids, render_ids>(Ids{5, 6}).log_fields();
  ASSERT_EQ(alone.size(), 2u);
  EXPECT_EQ(alone[0], (std::pair<std::string, std::string>("a", "5")));
  EXPECT_EQ(alone[1], (std::pair<std::string, std::string>("b", "6")));
  // Rendered fields take part in "first place, newest value" like any other.
  Context child = ctx.with_log_field("a", "override").with_value<Ids, render_ids>(Ids{7, 8});
  std::vector<std::pair<std::string, std::string>> seen;
  child.for_each_log_field([&](std::string_view k, std::string_view v) { seen.emplace_back(k, v); });
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[1], (std::pair<std::string, std::string>("a", "7")));
  EXPECT_EQ(seen[2], (std::pair<std::string, std::string>("b", "8")));
  // More rendering nodes than the walk keeps on its stack.
  Context many = child;
  for (int i = 0; i < 5; ++i) many = many.with_value<Ids, render_ids>(Ids{i, 100 + i});
  auto last = many.log_fields();
  ASSERT_EQ(last.size(), 3u);
  EXPECT_EQ(last[1].second, "4");
  EXPECT_EQ(last[2].second, "104");
}

struct Big {
  std::shared_ptr<int> owner;
  char payload[512] = {};
};
struct alignas(64) OverAligned {
  std::shared_ptr<int> owner;
};

TEST(ContextTest, ValuesOfAnySizeAndAlignmentAreKeptAndDestroyed) {
  auto small = std::make_shared<int>(1), big = std::make_shared<int>(2), aligned = std::make_shared<int>(3);
  {
    Big b;
    b.owner = big;
    b.payload[511] = 'z';
    Context ctx = Context().with_value(small).with_value(std::move(b)).with_value(OverAligned{aligned});
    EXPECT_EQ(small.use_count(), 2);
    EXPECT_EQ(big.use_count(), 2);  // moved in, not copied
    EXPECT_EQ(aligned.use_count(), 2);
    ASSERT_NE(ctx.value<Big>(), nullptr);
    EXPECT_EQ(ctx.value<Big>()->payload[511], 'z');
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(ctx.value<OverAligned>()) % 64, 0u);
    EXPECT_EQ(**ctx.value<std::shared_ptr<int>>(), 1);
  }
  EXPECT_EQ(small.use_count(), 1);
  EXPECT_EQ(big.use_count(), 1);
  EXPECT_EQ(aligned.use_count(), 1);
}

TEST(ContextConcurrencyTest, CancelFromManyThreadsRunsCallbacksOnce) {
  for (int round = 0; round < 50; ++round) {
    Context root = Context().with_cancel();
    std::atomic<int> calls{0};
    std::vector<Context> children;
    std::vector<CancelRegistration> regs;
    for (int i = 0; i < 8; ++i) {
      children.push_back(root.with_cancel());
      regs.push_back(children.back().on_cancel([&](const Status&) { calls++; }));
    }
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) threads.emplace_back([&] { root.cancel(); });
    for (auto& child : children) threads.emplace_back([&] { child.cancel(); });
    for (auto& t : threads) t.join();
    EXPECT_EQ(calls.load(), 8);
  }
}

}  // namespace
}  // namespace svckit
