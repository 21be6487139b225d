#include "svckit/log/logger.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "svckit/core/runtime.hpp"
#include "svckit/log/detail/buffer.hpp"
#include "svckit/log/detail/encoder.hpp"

using namespace std::chrono_literals;
using nlohmann::json;

namespace svckit::log {
namespace {

class CaptureSink : public Sink {
 public:
  void write(std::string_view line) override {
    std::lock_guard lock(mu);
    lines.emplace_back(line);
  }
  std::vector<std::string> take() {
    std::lock_guard lock(mu);
    return std::move(lines);
  }
  std::mutex mu;
  std::vector<std::string> lines;
};

json parse_line(const std::string& line) {
  EXPECT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  return json::parse(line);  // throws (fails the test) on invalid JSON
}

TEST(LoggerTest, DurationsAreExactDecimalSeconds) {
  auto sink = std::make_shared<CaptureSink>();
  Logger logger({.level = Level::kInfo, .sink = sink});
  logger.info("d", {{"a", 12500us},
                    {"b", 1500ms},
                    {"c", 0ns},
                    {"d", -2ms},
                    {"e", 3s},
                    {"f", 1ns},
                    {"g", std::chrono::nanoseconds(86400123456789)},
                    {"h", std::chrono::nanoseconds(987654321)},
                    {"i", std::chrono::nanoseconds(10203040)}});
  auto lines = sink->take();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(
      lines[0].find(
          R"("a":0.0125,"b":1.5,"c":0,"d":-0.002,"e":3,"f":0.000000001,"g":86400.123456789,"h":0.987654321,"i":0.01020304})"),
      std::string::npos)
      << lines[0];
  parse_line(lines[0]);
}

TEST(LoggerTest, JsonLineHasFixedHeadThenTypedFields) {
  auto sink = std::make_shared<CaptureSink>();
  Logger logger({.level = Level::kInfo, .sink = sink});
  Status st = Status(Code::kNotFound, "USER_NOT_FOUND", "no \"user\" 7").with_metadata("id", "7");
  auto when = std::chrono::system_clock::time_point(std::chrono::seconds(1764180245)) + 123456us;
  logger.info("user \"created\"\n", {{"s", "a\tb"},
                                     {"i", -42},
                                     {"u", 18446744073709551615ull},
                                     {"d", 2.5},
                                     {"b", true},
                                     {"elapsed", 1500ms},
                                     {"at", when},
                                     {"err", st},
                                     {"ok", Status()},
                                     object("db", {{"host", "h"}, {"port", 5432}}),
                                     {"nan", std::nan("")},
                                     {"none", nullptr}});
  auto lines = sink->take();
  ASSERT_EQ(lines.size(), 1u);
  json j = parse_line(lines[0]);
  // Head order: ts, level, msg, caller.
  EXPECT_EQ(lines[0].rfind("{\"ts\":\"", 0), 0u);
  EXPECT_LT(lines[0].find("\"level\""), lines[0].find("\"msg\""));
  EXPECT_LT(lines[0].find("\"msg\""), lines[0].find("\"caller\""));
  EXPECT_LT(lines[0].find("\"caller\""), lines[0].find("\"s\":"));
  std::string ts = j["ts"];
  ASSERT_EQ(ts.size(), 27u);  // 2026-11-26T18:04:05.123456Z
  EXPECT_EQ(ts[10], 'T');
  EXPECT_EQ(ts[19], '.');
  EXPECT_EQ(ts[26], 'Z');
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["msg"], "user \"created\"\n");
  std::string caller = j["caller"];
  EXPECT_EQ(caller.rfind("log/logger_test.cpp:", 0), 0u) << caller;
  EXPECT_EQ(j["s"], "a\tb");
  EXPECT_EQ(j["i"], -42);
  EXPECT_EQ(j["u"].get<std::uint64_t>(), 18446744073709551615ull);
  EXPECT_EQ(j["d"], 2.5);
  EXPECT_EQ(j["b"], true);
  EXPECT_EQ(j["elapsed"], 1.5);
  EXPECT_EQ(j["at"], "2025-11-26T18:04:05.123456Z");
  EXPECT_EQ(j["err"]["code"], "NOT_FOUND");
  EXPECT_EQ(j["err"]["reason"], "USER_NOT_FOUND");
  EXPECT_EQ(j["err"]["message"], "no \"user\" 7");
  EXPECT_EQ(j["err"]["metadata"]["id"], "7");
  EXPECT_TRUE(j["ok"].is_null());
  EXPECT_EQ(j["db"]["host"], "h");
  EXPECT_EQ(j["db"]["port"], 5432);
  EXPECT_EQ(j["nan"], "NaN");
  EXPECT_TRUE(j["none"].is_null());
}

TEST(LoggerTest, ControlCharactersAreEscaped) {
  Buffer b;
  std::string raw(
      "a\x01"
      "b\x1f\"\\",
      6);
  detail::append_json_string(b, raw);
  EXPECT_EQ(b.view(), "\"a\\u0001b\\u001f\\\"\\\\\"");
  EXPECT_EQ(json::parse(std::string(b.view())), raw);
}

// The encoder skips eight clean bytes at a time: every byte that needs escaping must be found at
// every offset, next to UTF-8 bytes (which pass through) and at every string length around a word.
TEST(LoggerTest, EscapingFindsEveryByteAtEveryOffset) {
  auto reference = [](std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
      if (c == '"')
        out += "\\\"";
      else if (c == '\\')
        out += "\\\\";
      else if (c == '\n')
        out += "\\n";
      else if (c == '\r')
        out += "\\r";
      else if (c == '\t')
        out += "\\t";
      else if (c == '\b')
        out += "\\b";
      else if (c == '\f')
        out += "\\f";
      else if (c < 0x20) {
        char u[8];
        std::snprintf(u, sizeof u, "\\u%04x", c);
        out += u;
      } else
        out += static_cast<char>(c);
    }
    return out + "\"";
  };
  const std::string specials = std::string("\"\\\n\x01\x1f\x7f", 6) + std::string(1, '\0') + "\xc3\xa9 ~";
  for (std::size_t len = 0; len <= 20; ++len) {
    for (std::size_t at = 0; at < len; ++at) {
      for (char sp : specials) {
        std::string s(len, 'x');
        s[at] = sp;
        if (at + 1 < len) s[at + 1] = '\xa0';  // a UTF-8 continuation byte beside it
        Buffer b;
        detail::append_json_string(b, s);
        ASSERT_EQ(b.view(), reference(s))
            << "len " << len << " at " << at << " byte " << int(static_cast<unsigned char>(sp));
      }
    }
  }
}

TEST(LoggerTest, TimestampFormatting) {
  Buffer b;
  detail::append_timestamp(b, 0);
  EXPECT_EQ(b.view(), "1970-01-01T00:00:00.000000Z");
  b.clear();
  detail::append_timestamp(b, 951782400'000001'000);  // leap day 2000
  EXPECT_EQ(b.view(), "2000-02-29T00:00:00.000001Z");
  b.clear();
  detail::append_timestamp(b, -1'000);  // one microsecond before the epoch
  EXPECT_EQ(b.view(), "1969-12-31T23:59:59.999999Z");
  b.clear();
  detail::append_timestamp(b, 1'795'000'000'123'456'789);  // every digit position different
  EXPECT_EQ(b.view(), "2026-11-18T11:06:40.123456Z");
  b.clear();
  detail::append_timestamp(b, 1'795'000'000'098'760'000);
  EXPECT_EQ(b.view(), "2026-11-18T11:06:40.098760Z");
}

TEST(LoggerTest, LevelsFilterAndChangeAtRunTime) {
  auto sink = std::make_shared<CaptureSink>();
  Logger root({.level = Level::kWarn, .sink = sink});
  Logger child = root.with({{"component", "x"}});
  child.info("hidden");
  child.warn("shown");
  root.set_level(Level::kDebug);  // shared by every logger of the same root
  child.debug("now shown");
  child.trace("still hidden");
  auto lines = sink->take();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(parse_line(lines[0])["level"], "warn");
  EXPECT_EQ(parse_line(lines[1])["msg"], "now shown");
  EXPECT_EQ(*parse_level("error"), Level::kError);
  EXPECT_EQ(*parse_level("warning"), Level::kWarn);
  EXPECT_FALSE(parse_level("loud"));
}

TEST(LoggerTest, ChildFieldsAndContextFields) {
  auto sink = std::make_shared<CaptureSink>();
  Logger root({.sink = sink});
  Logger svc = root.with({{"service", "users"}, {"version", 3}});
  Context ctx = Context().with_log_field("request_id", "r-1").with_log_field("trace_id", "t-9");
  svc.info(ctx, "handled", {{"status", 200}});
  root.info("plain");
  auto lines = sink->take();
  ASSERT_EQ(lines.size(), 2u);
  json a = parse_line(lines[0]);
  EXPECT_EQ(a["request_id"], "r-1");
  EXPECT_EQ(a["trace_id"], "t-9");
  EXPECT_EQ(a["service"], "users");
  EXPECT_EQ(a["version"], 3);
  EXPECT_EQ(a["status"], 200);
  json b = parse_line(lines[1]);
  EXPECT_FALSE(b.contains("service"));  // the parent is unchanged
}

struct Ids {
  std::string a, b;
  bool plain;
};
void render_ids(const Ids& ids, RenderedLogFields& out) {
  out.fields[0] = {"id_a", ids.a};
  out.fields[1] = {"id_b", ids.b};
  out.size = 2;
  out.plain = ids.plain;
}

// Fields a context value renders at write time: plain ones are copied as they are, the others
// escaped like any field; both formats.
TEST(LoggerTest, RenderedContextFieldsInBothFormats) {
  auto sink = std::make_shared<CaptureSink>();
  Logger json_logger({.sink = sink});
  Logger console({.format = Format::kConsole, .sink = sink});
  Context plain = Context()
                      .with_log_field("request_id", "r-1")
                      .with_value<Ids, render_ids>(Ids{"0af7651916cd43dd", "b7ad6b71", true});
  Context escaped = Context().with_value<Ids, render_ids>(Ids{"say \"hi\"", "two words", false});
  json_logger.info(plain, "one");
  json_logger.info(escaped, "two");
  console.info(plain, "three");
  console.info(escaped, "four");
  auto lines = sink->take();
  ASSERT_EQ(lines.size(), 4u);
  json a = parse_line(lines[0]);
  EXPECT_EQ(a["request_id"], "r-1");
  EXPECT_EQ(a["id_a"], "0af7651916cd43dd");
  EXPECT_EQ(a["id_b"], "b7ad6b71");
  EXPECT_LT(lines[0].find("request_id"), lines[0].find("id_a"));  // oldest first
  json b = parse_line(lines[1]);
  EXPECT_EQ(b["id_a"], "say \"hi\"");
  EXPECT_EQ(b["id_b"], "two words");
  EXPECT_NE(lines[2].find(" id_a=0af7651916cd43dd id_b=b7ad6b71"), std::string::npos) << lines[2];
  EXPECT_NE(lines[3].find("id_b=\"two words\""), std::string::npos) << lines[3];
}

TEST(LoggerTest, WithoutCallerOmitsItInBothFormatsAndKeepsTheRest) {
  auto sink = std::make_shared<CaptureSink>();
  Logger json_logger({.sink = sink});
  Logger console({.format = Format::kConsole, .sink = sink});
  Logger quiet = json_logger.with({{"svc", "a"}}).without_caller();
  quiet.info("no caller", {{"n", 1}});
  quiet.with({{"more", true}}).info("still none");  // children keep the choice
  json_logger.info("has one");
  console.without_caller().info("console");
  auto lines = sink->take();
  ASSERT_EQ(lines.size(), 4u);
  json a = parse_line(lines[0]);
  EXPECT_FALSE(a.contains("caller")) << lines[0];
  EXPECT_EQ(a["svc"], "a");
  EXPECT_EQ(a["n"], 1);
  json b = parse_line(lines[1]);
  EXPECT_FALSE(b.contains("caller"));
  EXPECT_EQ(b["more"], true);
  EXPECT_TRUE(parse_line(lines[2]).contains("caller"));  // the parent is unchanged
  EXPECT_EQ(lines[3].find("logger_test.cpp"), std::string::npos) << lines[3];
  EXPECT_NE(lines[3].find(" INFO  console"), std::string::npos) << lines[3];
}

TEST(LoggerTest, ConsoleFormatIsReadable) {
  auto sink = std::make_shared<CaptureSink>();
  Logger logger({.format = Format::kConsole, .sink = sink});
  logger.warn("disk low", {{"free", "2 GiB"}, {"pct", 3}, {"took", 12500us}});
  auto lines = sink->take();
  ASSERT_EQ(lines.size(), 1u);
  const std::string& l = lines[0];
  EXPECT_NE(l.find(" WARN  disk low  log/logger_test.cpp:"), std::string::npos) << l;
  EXPECT_NE(l.find("free=\"2 GiB\""), std::string::npos) << l;
  EXPECT_NE(l.find("pct=3"), std::string::npos);
  EXPECT_NE(l.find("took=12.5ms"), std::string::npos) << l;
}

TEST(LoggerTest, SamplingLetsFirstThenEveryNth) {
  auto sink = std::make_shared<CaptureSink>();
  Logger logger({.sink = sink, .sampling = {.enabled = true, .first = 3, .thereafter = 10, .tick = 1h}});
  for (int i = 0; i < 53; ++i) logger.info("hot");
  logger.info("cold");
  for (int i = 0; i < 5; ++i) logger.error("errors are never sampled");
  auto lines = sink->take();
  // 3 first + every 10th of the next 50 (5) + cold + 5 errors.
  EXPECT_EQ(lines.size(), 3u + 5u + 1u + 5u);
  EXPECT_EQ(logger.sampled_out(), 53u - 8u);
}

// A sink that blocks until released: makes the async buffer overflow deterministically.
class GateSink : public Sink {
 public:
  void write(std::string_view line) override {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return open; });
    data.append(line);
  }
  void release() {
    {
      std::lock_guard lock(mu);
      open = true;
    }
    cv.notify_all();
  }
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  std::string data;
};

TEST(AsyncSinkTest, FullBufferDropsCountsAndReportsInsteadOfBlocking) {
  auto gate = std::make_shared<GateSink>();
  auto async = std::make_shared<AsyncSink>(gate, AsyncSinkOptions{.buffer_bytes = 16384, .flush_interval = 5ms});
  Logger logger({.sink = async});
  std::string payload(200, 'x');
  // The writer thread takes the first batch and blocks in the gate; the rest must not block us.
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 500; ++i) logger.info("line", {{"i", i}, {"p", payload}});
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, 5s);  // it would hang forever if writes blocked on the gate
  EXPECT_GT(logger.dropped(), 0u);
  std::uint64_t dropped = logger.dropped();
  gate->release();
  async->flush();
  async->flush();  // the drop report is written with the batch after the drops were counted
  std::istringstream in(gate->data);
  std::string line;
  std::uint64_t kept = 0, reported = 0;
  while (std::getline(in, line)) {
    json j = json::parse(line);
    if (j["msg"] == "line")
      ++kept;
    else if (j["msg"] == "log lines dropped: sink buffer full")
      reported += j["dropped"].get<std::uint64_t>();
  }
  EXPECT_EQ(kept + dropped, 500u);  // nothing lost silently
  EXPECT_EQ(reported, dropped);
}

TEST(AsyncSinkTest, FlushDeliversEverythingInOrder) {
  auto capture = std::make_shared<CaptureSink>();
  auto async = std::make_shared<AsyncSink>(capture);
  Logger logger({.sink = async});
  for (int i = 0; i < 1000; ++i) logger.info("n", {{"i", i}});
  async->flush();
  std::string all;
  for (auto& l : capture->take()) all += l;
  std::istringstream in(all);
  std::string line;
  int expect = 0;
  while (std::getline(in, line)) EXPECT_EQ(json::parse(line)["i"], expect++);
  EXPECT_EQ(expect, 1000);
  EXPECT_EQ(logger.dropped(), 0u);
}

TEST(FileSinkTest, ReopenOnSighupFollowsRotation) {
  auto dir = std::filesystem::temp_directory_path() / ("svckit-log-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = (dir / "app.log").string();
  auto sink = FileSink::open(path);
  ASSERT_TRUE(sink) << sink.error().to_string();
  Logger logger({.sink = *sink});
  logger.info("before rotation");
  std::filesystem::rename(path, path + ".1");  // what logrotate does
  {
    Runtime rt({.workers = 1, .handle_signals = true});
    std::atomic<bool> reopened{false};
    rt.on_signal(SIGHUP, [&] {
      EXPECT_TRUE((*sink)->reopen().ok());
      reopened = true;
    });
    std::this_thread::sleep_for(20ms);
    std::raise(SIGHUP);
    for (int i = 0; i < 200 && !reopened; ++i) std::this_thread::sleep_for(5ms);
    ASSERT_TRUE(reopened);
  }
  logger.info("after rotation");
  auto read = [](const std::string& p) {
    std::ifstream f(p);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  EXPECT_NE(read(path + ".1").find("before rotation"), std::string::npos);
  EXPECT_EQ(read(path + ".1").find("after rotation"), std::string::npos);
  EXPECT_NE(read(path).find("after rotation"), std::string::npos);
  EXPECT_FALSE(FileSink::open((dir / "no/such/dir/x.log").string()));
  std::filesystem::remove_all(dir);
}

// A log file on a full disk (/dev/full answers every write with ENOSPC): lines are dropped and
// counted at once, never waited for, and the loss is said in the file when space returns.
TEST(FileSinkTest, AFullDiskDropsAndCountsLinesAndSaysSoWhenSpaceReturns) {
  auto dir = std::filesystem::temp_directory_path() / ("svckit-logfull-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = (dir / "app.log").string();
  std::filesystem::create_symlink("/dev/full", path);
  auto sink = FileSink::open(path);
  ASSERT_TRUE(sink) << sink.error().to_string();
  Logger logger({.sink = *sink});
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) logger.info("on a full disk", {{"i", i}});
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(logger.dropped(), 1000u);
  // Space returns (here: the path becomes a real file again, reopened as after SIGHUP).
  std::filesystem::remove(path);
  ASSERT_TRUE((*sink)->reopen().ok());
  logger.info("space again");
  std::ifstream f(path);
  std::string first, second;
  std::getline(f, first);
  std::getline(f, second);
  json report = json::parse(first);
  EXPECT_EQ(report["msg"], "log lines lost: the log file could not be written");
  EXPECT_EQ(report["lost"], 1000);
  EXPECT_EQ(report["error"], std::string(std::strerror(ENOSPC)));
  EXPECT_EQ(json::parse(second)["msg"], "space again");
  EXPECT_EQ(logger.dropped(), 1000u);
  // Behind an AsyncSink, which writes many lines at once, each line is counted.
  std::filesystem::remove(path);
  std::filesystem::create_symlink("/dev/full", path);
  ASSERT_TRUE((*sink)->reopen().ok());
  auto async = std::make_shared<AsyncSink>(*sink);
  Logger batched({.sink = async});
  for (int i = 0; i < 100; ++i) batched.info("batched", {{"i", i}});
  async->flush();
  EXPECT_EQ(batched.dropped(), 1100u);  // the FileSink's 1000 before, and these 100
  std::filesystem::remove_all(dir);
}

TEST(LoggerConcurrencyTest, ThreadsWriteWholeLines) {
  auto capture = std::make_shared<CaptureSink>();
  auto async = std::make_shared<AsyncSink>(capture);
  Logger logger({.sink = async});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      Logger mine = logger.with({{"thread", t}});
      for (int i = 0; i < 500; ++i) mine.info("concurrent", {{"i", i}});
      if (t == 0) logger.set_level(Level::kInfo);
    });
  for (auto& th : threads) th.join();
  async->flush();
  std::string all;
  for (auto& l : capture->take()) all += l;
  std::istringstream in(all);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    EXPECT_TRUE(json::accept(line)) << line;
    ++n;
  }
  EXPECT_EQ(n, 2000);
}

TEST(LoggerTest, GlobalLoggerCanBeReplaced) {
  auto sink = std::make_shared<CaptureSink>();
  set_global(Logger({.sink = sink}));
  global().info("via global");
  EXPECT_EQ(sink->take().size(), 1u);
}

}  // namespace
}  // namespace svckit::log
