#pragma once
// svckit's structured logger. JSON lines by default:
//   {"ts":"2026-11-26T18:04:05.123456Z","level":"info","msg":"user created","caller":"user/service.cpp:42",
//    "request_id":"…","trace_id":"…","user_id":42}
// Timestamp (RFC 3339, UTC, microseconds), level, message and caller come first, then the context's
// log fields (request_id, trace_id, span_id…), the logger's own fields (from with()), then the call's.
// A human-readable console format exists for development. Nothing is allocated per line once a
// thread's encode buffer has grown to the longest line; the level check is an inlined atomic load.
//
// ```cpp
//   auto logger = log::Logger(log::LoggerOptions{.level = log::Level::kDebug});
//   auto users = logger.with({{"component", "users"}});
//   users.info(ctx, "user created", {{"user_id", 42}, {"elapsed", 1500us}});
// ```
#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <source_location>
#include <string>
#include <string_view>

#include "svckit/core/context.hpp"
#include "svckit/core/status.hpp"
#include "svckit/log/field.hpp"
#include "svckit/log/sink.hpp"

namespace svckit::log {

enum class Level : std::uint8_t { kTrace, kDebug, kInfo, kWarn, kError, kFatal, kOff };

std::string_view level_name(Level level) noexcept;
Result<Level> parse_level(std::string_view name);

enum class Format : std::uint8_t { kJson, kConsole };

// Zap's sampler: per message and level, in each tick the first `first` lines pass, then every
// `thereafter`-th. Keeps a hot message from flooding the sink; what it drops is counted.
struct SamplingOptions {
  bool enabled = false;
  std::uint32_t first = 100;
  std::uint32_t thereafter = 100;
  std::chrono::milliseconds tick{1000};
};

struct LoggerOptions {
  Level level = Level::kInfo;
  Format format = Format::kJson;
  std::shared_ptr<Sink> sink;  // null: stdout
  SamplingOptions sampling;
};

namespace detail {
struct Core;
}

class Logger {
 public:
  using Fields = std::initializer_list<Field>;
  using Loc = std::source_location;

  explicit Logger(LoggerOptions options = {});

  // A child that adds fields to every line; they are encoded once, here.
  Logger with(Fields fields) const;
  // A child whose lines carry no "caller": for the lines a framework writes per request (the HTTP
  // access log, the gRPC call line), where it would name the same framework line every time.
  Logger without_caller() const;

  bool enabled(Level level) const noexcept { return level >= level_->load(std::memory_order_relaxed); }
  // Changes the level of this logger and every logger derived from the same root. Thread-safe.
  void set_level(Level level) const noexcept { level_->store(level, std::memory_order_relaxed); }
  Level level() const noexcept { return level_->load(std::memory_order_relaxed); }

  void log(Level level, std::string_view msg, Fields fields = {}, Loc loc = Loc::current()) const {
    if (enabled(level)) write(level, nullptr, msg, fields, loc);
  }
  void log(Level level, const Context& ctx, std::string_view msg, Fields fields = {}, Loc loc = Loc::current()) const {
    if (enabled(level)) write(level, &ctx, msg, fields, loc);
  }

#define SVCKIT_LOG_LEVEL_METHODS(name, lvl)                                                                 \
  void name(std::string_view msg, Fields fields = {}, Loc loc = Loc::current()) const {                     \
    if (enabled(lvl)) write(lvl, nullptr, msg, fields, loc);                                                \
  }                                                                                                         \
  void name(const Context& ctx, std::string_view msg, Fields fields = {}, Loc loc = Loc::current()) const { \
    if (enabled(lvl)) write(lvl, &ctx, msg, fields, loc);                                                   \
  }
  SVCKIT_LOG_LEVEL_METHODS(trace, Level::kTrace)
  SVCKIT_LOG_LEVEL_METHODS(debug, Level::kDebug)
  SVCKIT_LOG_LEVEL_METHODS(info, Level::kInfo)
  SVCKIT_LOG_LEVEL_METHODS(warn, Level::kWarn)
  SVCKIT_LOG_LEVEL_METHODS(error, Level::kError)
#undef SVCKIT_LOG_LEVEL_METHODS
  // Logs, flushes the sink and ends the process with exit code 1.
  [[noreturn]] void fatal(std::string_view msg, Fields fields = {}, Loc loc = Loc::current()) const;

  void flush() const;
  const std::shared_ptr<Sink>& sink() const noexcept;
  // Lines dropped by the sink (full async buffer) and by sampling.
  std::uint64_t dropped() const noexcept;
  std::uint64_t sampled_out() const noexcept;

 private:
  void write(Level level, const Context* ctx, std::string_view msg, Fields fields, const Loc& loc) const;

  std::shared_ptr<detail::Core> core_;
  std::atomic<Level>* level_;  // points into core_: one indirection on the hot path
  std::string context_;        // pre-encoded fields from with()
  bool caller_ = true;
};

// The process-wide logger used by the framework where no logger is handed in. Starts as JSON to
// stdout at info; App replaces it from config.
const Logger& global();
void set_global(Logger logger);

}  // namespace svckit::log
