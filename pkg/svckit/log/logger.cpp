#include "svckit/log/logger.hpp"

#include <array>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <vector>

#include "svckit/log/detail/buffer.hpp"
#include "svckit/log/detail/encoder.hpp"

namespace svckit::log {

namespace detail {

class Sampler {
 public:
  explicit Sampler(const SamplingOptions& o) : options_(o) {}

  // True if this line may be written.
  bool admit(Level level, std::string_view msg, std::int64_t now_nanos) noexcept {
    // FNV-1a over the message; collisions only make two messages share a budget.
    std::uint64_t h = 1469598103934665603ull ^ static_cast<std::uint64_t>(level);
    for (unsigned char c : msg) h = (h ^ c) * 1099511628211ull;
    Slot& slot = slots_[h % kSlots];
    std::int64_t tick = std::chrono::duration_cast<std::chrono::nanoseconds>(options_.tick).count();
    std::int64_t reset = slot.reset_at.load(std::memory_order_relaxed);
    if (now_nanos >= reset) {
      // One thread wins the reset; racing losers count against the fresh tick, which is harmless.
      if (slot.reset_at.compare_exchange_strong(reset, now_nanos + tick, std::memory_order_relaxed))
        slot.count.store(0, std::memory_order_relaxed);
    }
    std::uint64_t n = slot.count.fetch_add(1, std::memory_order_relaxed) + 1;
    if (n <= options_.first) return true;
    return options_.thereafter != 0 && (n - options_.first) % options_.thereafter == 0;
  }

 private:
  static constexpr std::size_t kSlots = 4096;
  struct Slot {
    std::atomic<std::int64_t> reset_at{0};
    std::atomic<std::uint64_t> count{0};
  };
  SamplingOptions options_;
  std::array<Slot, kSlots> slots_{};
};

struct Core {
  std::atomic<Level> level;
  Format format;
  std::shared_ptr<Sink> sink;
  std::unique_ptr<Sampler> sampler;
  std::atomic<std::uint64_t> sampled_out{0};
};

}  // namespace detail

namespace {

constexpr std::array<std::string_view, 7> kLevelNames{"trace", "debug", "info", "warn", "error", "fatal", "off"};
constexpr std::array<std::string_view, 7> kConsoleLevel{"TRACE", "DEBUG", "INFO ", "WARN ", "ERROR", "FATAL", "OFF  "};

std::int64_t now_unix_nanos() noexcept {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

Buffer& thread_buffer() {
  thread_local Buffer buffer(4096);
  return buffer;
}

void encode_fields(Buffer& out, Format format, Logger::Fields fields) {
  if (format == Format::kJson) {
    for (const Field& f : fields) detail::append_field_json(out, f);
  } else {
    for (const Field& f : fields) detail::append_field_console(out, f);
  }
}

void encode_context(Buffer& out, Format format, const Context& ctx) {
  ctx.for_each_log_field([&](std::string_view k, std::string_view v, bool plain) {
    if (plain) return detail::append_plain_field(out, format == Format::kJson, k, v);
    Field f(k, v);
    if (format == Format::kJson)
      detail::append_field_json(out, f);
    else
      detail::append_field_console(out, f);
  });
}

}  // namespace

std::string_view level_name(Level level) noexcept {
  return kLevelNames[static_cast<std::size_t>(level)];
}

Result<Level> parse_level(std::string_view name) {
  for (std::size_t i = 0; i < kLevelNames.size(); ++i)
    if (name == kLevelNames[i]) return static_cast<Level>(i);
  if (name == "warning") return Level::kWarn;
  return make_error(Code::kInvalidArgument,
                    "unknown log level \"" + std::string(name) + "\" (trace, debug, info, warn, error, fatal, off)");
}

Logger::Logger(LoggerOptions options) : core_(std::make_shared<detail::Core>()) {
  core_->level.store(options.level);
  core_->format = options.format;
  core_->sink = options.sink ? std::move(options.sink) : StreamSink::stdout_sink();
  if (options.sampling.enabled) core_->sampler = std::make_unique<detail::Sampler>(options.sampling);
  level_ = &core_->level;
  if (auto async = std::dynamic_pointer_cast<AsyncSink>(core_->sink)) {
    // The drop report goes through our own encoder so that it looks like every other line.
    std::weak_ptr<detail::Core> weak = core_;
    async->set_drop_reporter([weak](std::uint64_t n) -> std::string {
      auto core = weak.lock();
      if (!core) return {};
      Buffer b(256);
      Field f("dropped", n);
      if (core->format == Format::kJson) {
        b.append("{\"ts\":\"");
        detail::append_timestamp(b, now_unix_nanos());
        b.append("\",\"level\":\"warn\",\"msg\":\"log lines dropped: sink buffer full\"");
        detail::append_field_json(b, f);
        b.append("}\n");
      } else {
        detail::append_timestamp(b, now_unix_nanos());
        b.append(" WARN  log lines dropped: sink buffer full");
        detail::append_field_console(b, f);
        b.push('\n');
      }
      return std::string(b.view());
    });
  }
}

Logger Logger::with(Fields fields) const {
  Logger child = *this;
  Buffer b(256);
  encode_fields(b, core_->format, fields);
  child.context_.append(b.view());
  return child;
}

Logger Logger::without_caller() const {
  Logger child = *this;
  child.caller_ = false;
  return child;
}

void Logger::write(Level level, const Context* ctx, std::string_view msg, Fields fields, const Loc& loc) const {
  std::int64_t now = now_unix_nanos();
  if (core_->sampler && level < Level::kError && !core_->sampler->admit(level, msg, now)) {
    core_->sampled_out.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  Buffer& b = thread_buffer();
  b.clear();
  if (core_->format == Format::kJson) {
    b.append("{\"ts\":\"");
    detail::append_timestamp(b, now);
    b.append("\",\"level\":\"");
    b.append(kLevelNames[static_cast<std::size_t>(level)]);
    b.append("\",\"msg\":");
    detail::append_json_string(b, msg);
    if (caller_) {
      b.append(",\"caller\":\"");
      detail::append_caller(b, loc);
      b.push('"');
    }
    if (ctx) encode_context(b, core_->format, *ctx);
    b.append(context_);
    encode_fields(b, core_->format, fields);
    b.append("}\n");
  } else {
    detail::append_timestamp(b, now);
    b.push(' ');
    b.append(kConsoleLevel[static_cast<std::size_t>(level)]);
    b.push(' ');
    b.append(msg);
    if (caller_) {
      b.append("  ");
      detail::append_caller(b, loc);
    }
    if (ctx) encode_context(b, core_->format, *ctx);
    b.append(context_);
    encode_fields(b, core_->format, fields);
    b.push('\n');
  }
  core_->sink->write(b.view());
}

void Logger::fatal(std::string_view msg, Fields fields, Loc loc) const {
  write(Level::kFatal, nullptr, msg, fields, loc);
  core_->sink->flush();
  std::exit(1);
}

void Logger::flush() const {
  core_->sink->flush();
}
const std::shared_ptr<Sink>& Logger::sink() const noexcept {
  return core_->sink;
}
std::uint64_t Logger::dropped() const noexcept {
  return core_->sink->dropped();
}
std::uint64_t Logger::sampled_out() const noexcept {
  return core_->sampled_out.load(std::memory_order_relaxed);
}

namespace {
std::mutex g_global_mu;
std::atomic<Logger*> g_global{nullptr};
// Replaced loggers stay alive: another thread may still be using the one it read.
std::vector<std::unique_ptr<Logger>>& retired() {
  static std::vector<std::unique_ptr<Logger>> v;
  return v;
}
}  // namespace

const Logger& global() {
  Logger* l = g_global.load(std::memory_order_acquire);
  if (l) return *l;
  std::lock_guard lock(g_global_mu);
  l = g_global.load(std::memory_order_relaxed);
  if (!l) {
    retired().push_back(std::make_unique<Logger>());
    l = retired().back().get();
    g_global.store(l, std::memory_order_release);
  }
  return *l;
}

void set_global(Logger logger) {
  std::lock_guard lock(g_global_mu);
  retired().push_back(std::make_unique<Logger>(std::move(logger)));
  g_global.store(retired().back().get(), std::memory_order_release);
}

}  // namespace svckit::log
