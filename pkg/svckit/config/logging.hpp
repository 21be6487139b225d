#pragma once
// The `log:` section every svckit binary understands, and the logger it builds:
//   log: { level: info, format: json, output: stdout, async: true, buffer: 4MiB, sampling: {...} }
// output is stdout, stderr or a file path (reopened on SIGHUP by the app runtime).
#include <chrono>
#include <string>

#include "svckit/config/binder.hpp"
#include "svckit/log/logger.hpp"

namespace svckit::config {

struct LogSamplingSettings {
  bool enabled = false;
  int first = 100;
  int thereafter = 100;
  std::chrono::milliseconds tick{1000};
  static void describe(Binder<LogSamplingSettings>& b) {
    b.field("enabled", &LogSamplingSettings::enabled);
    b.field("first", &LogSamplingSettings::first).range(0, 1000000);
    b.field("thereafter", &LogSamplingSettings::thereafter).range(0, 1000000);
    b.field("tick", &LogSamplingSettings::tick).range(std::chrono::milliseconds(1), std::chrono::milliseconds(3600000));
  }
};

struct LogSettings {
  std::string level = "info";
  std::string format = "json";
  std::string output = "stdout";
  bool async = true;
  ByteSize buffer = 4_MiB;
  LogSamplingSettings sampling;
  static void describe(Binder<LogSettings>& b) {
    b.field("level", &LogSettings::level).one_of({"trace", "debug", "info", "warn", "error", "fatal", "off"});
    b.field("format", &LogSettings::format).one_of({"json", "console"});
    b.field("output", &LogSettings::output).non_empty().doc("stdout, stderr or a file path");
    b.field("async", &LogSettings::async);
    b.field("buffer", &LogSettings::buffer).range(64_KiB, 1_GiB);
    b.section("sampling", &LogSettings::sampling);
  }
};

// `also` (optional) receives every line too, beside the configured output (an OTLP log exporter);
// it must not block, as it is called on the logging thread.
Result<log::Logger> make_logger(const LogSettings& settings, std::shared_ptr<log::Sink> also = nullptr);

}  // namespace svckit::config
