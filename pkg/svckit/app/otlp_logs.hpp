#pragma once
// Ships the service's log lines to an OTLP/HTTP logs endpoint (`POST /v1/logs`) as LogRecords under
// the same Resource as its spans and metrics, so one instance's telemetry lines up in any OTLP backend.
// Each JSON line becomes a record: ts → timeUnixNano, level → severity, msg → body, trace_id/span_id →
// the record's ids (logs jump to their trace), caller → code.filepath/code.lineno, other fields →
// attributes. write() only appends the line to a bounded buffer (full: dropped and counted), so a
// logging event loop never waits on the network; a thread of its own converts and posts batches.
//
// ```cpp
//   log::LogSettings log_settings;                          // the log: section
//   auto otlp = std::make_shared<app::OtlpLogSink>(app::OtlpLogOptions{}, trace::Resource::detect("user-svc"),
//                                                  http::otlp_transport(rt));
//   auto logger = log::make_logger(log_settings, otlp);    // Result<log::Logger>: stdout and OTLP
// ```
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>

#include "svckit/log/sink.hpp"
#include "svckit/trace/otlp.hpp"

namespace svckit::app {

struct OtlpLogOptions {
  trace::OtlpOptions otlp{.endpoint = "http://127.0.0.1:4318/v1/logs"};
  std::size_t max_buffer_bytes = 4 << 20;  // lines waiting for export; beyond, new lines are dropped
  std::size_t max_batch_lines = 512;
  std::chrono::milliseconds interval{1000};
};

class OtlpLogSink final : public log::Sink {
 public:
  OtlpLogSink(OtlpLogOptions options, trace::Resource resource, trace::Transport transport);
  ~OtlpLogSink() override;  // exports what is buffered, then stops
  void write(std::string_view line) override;
  // Exports everything written so far and waits for it.
  void flush() override;
  // Stops the thread. With export_pending, what is buffered is exported first; without (the runtime
  // that carries the export is gone), it is dropped and counted, and a retry in progress gives up.
  void shutdown(bool export_pending = true);
  std::uint64_t dropped() const noexcept override { return dropped_.load(std::memory_order_relaxed); }
  std::uint64_t exported() const noexcept { return exported_.load(std::memory_order_relaxed); }
  std::uint64_t export_failures() const noexcept { return failures_.load(std::memory_order_relaxed); }

 private:
  void run();
  void export_lines(std::string& lines);
  trace::OtlpOptions with_abandon(trace::OtlpOptions o);

  OtlpLogOptions options_;
  trace::Resource resource_;
  trace::OtlpClient client_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::string pending_;
  std::size_t pending_lines_ = 0;
  bool stop_ = false;
  std::atomic<bool> abandon_{false};
  std::uint64_t flush_requested_ = 0, flush_done_ = 0;
  std::atomic<std::uint64_t> dropped_{0}, exported_{0}, failures_{0};
  std::thread thread_;
};

// ExportLogsServiceRequest in OTLP/JSON for svckit JSON log lines ('\n'-separated). A line that is
// not a JSON object is exported as the body of an INFO record rather than lost.
std::string encode_otlp_logs_json(std::string_view lines, const trace::Resource& resource, std::int64_t observed_ns);

// Unix nanoseconds of an RFC 3339 UTC timestamp as the logger writes it ("2026-11-26T18:04:05.123456Z");
// nullopt for anything else.
std::optional<std::int64_t> parse_rfc3339_ns(std::string_view ts) noexcept;

}  // namespace svckit::app
