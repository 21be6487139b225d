#pragma once
// The `log:` section every svckit binary understands, and the logger it builds:
//   log: { level: info, format: json, output: stdout, async: true, buffer: 4MiB, sampling: {...} }
// output is stdout, stderr or a file path (reopened on SIGHUP by the app runtime).
#include <array>
#include <chrono>
#include <memory>
#include <string>

#include "svckit/config/binder.hpp"
#include "svckit/log/logger.hpp"

namespace svckit::log {

// Level and Format bound by name in configuration ("info", "console").
constexpr auto config_names(Level) {
  return std::array{std::pair{Level::kTrace, "trace"}, std::pair{Level::kDebug, "debug"},
                    std::pair{Level::kInfo, "info"},   std::pair{Level::kWarn, "warn"},
                    std::pair{Level::kError, "error"}, std::pair{Level::kFatal, "fatal"},
                    std::pair{Level::kOff, "off"}};
}
constexpr auto config_names(Format) {
  return std::array{std::pair{Format::kJson, "json"}, std::pair{Format::kConsole, "console"}};
}

struct LogSamplingSettings {
  bool enabled = false;
  int first = 100;
  int thereafter = 100;
  std::chrono::milliseconds tick{1000};
  static void describe(config::Binder<LogSamplingSettings>& b);
};

struct LogSettings {
  Level level = Level::kInfo;
  Format format = Format::kJson;
  std::string output = "stdout";
  bool async = true;
  config::ByteSize buffer = config::ByteSize(4 << 20);
  LogSamplingSettings sampling;
  static void describe(config::Binder<LogSettings>& b);
};

// `also` (optional) receives every line too, beside the configured output (an OTLP log exporter);
// it must not block, as it is called on the logging thread.
Result<Logger> make_logger(const LogSettings& settings, std::shared_ptr<Sink> also = nullptr);

}  // namespace svckit::log
