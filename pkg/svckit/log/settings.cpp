#include "svckit/log/settings.hpp"

namespace svckit::log {

using config::operator""_KiB;
using config::operator""_GiB;

void LogSamplingSettings::describe(config::Binder<LogSamplingSettings>& b) {
  b.field("enabled", &LogSamplingSettings::enabled).doc("log the first N lines of a kind per tick, then every Mth");
  b.field("first", &LogSamplingSettings::first).range(0, 1000000);
  b.field("thereafter", &LogSamplingSettings::thereafter).range(0, 1000000);
  b.field("tick", &LogSamplingSettings::tick).range(std::chrono::milliseconds(1), std::chrono::milliseconds(3600000));
}

void LogSettings::describe(config::Binder<LogSettings>& b) {
  b.field("level", &LogSettings::level).doc("trace, debug, info, warn, error, fatal or off; applied on reload");
  b.field("format", &LogSettings::format).doc("json or console");
  b.field("output", &LogSettings::output).non_empty().doc("stdout, stderr or a file path");
  b.field("async", &LogSettings::async).doc("write on a background thread through a bounded buffer");
  b.field("buffer", &LogSettings::buffer).range(64_KiB, 1_GiB);
  b.section("sampling", &LogSettings::sampling);
}

Result<Logger> make_logger(const LogSettings& s, std::shared_ptr<log::Sink> also) {
  std::shared_ptr<log::Sink> sink;
  if (s.output == "stdout") {
    sink = log::StreamSink::stdout_sink();
  } else if (s.output == "stderr") {
    sink = log::StreamSink::stderr_sink();
  } else {
    auto file = log::FileSink::open(s.output);
    if (!file) return std::unexpected(file.error());
    sink = *file;
  }
  if (s.async) sink = std::make_shared<log::AsyncSink>(sink, log::AsyncSinkOptions{.buffer_bytes = s.buffer.bytes});
  if (also)
    sink = std::make_shared<log::TeeSink>(std::vector<std::shared_ptr<log::Sink>>{std::move(sink), std::move(also)});
  log::LoggerOptions options{
      .level = s.level,
      .format = s.format,
      .sink = std::move(sink),
      .sampling = {.enabled = s.sampling.enabled,
                   .first = static_cast<std::uint32_t>(s.sampling.first),
                   .thereafter = static_cast<std::uint32_t>(s.sampling.thereafter),
                   .tick = s.sampling.tick},
  };
  return log::Logger(std::move(options));
}

}  // namespace svckit::log
