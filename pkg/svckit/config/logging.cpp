#include "svckit/config/logging.hpp"

namespace svckit::config {

Result<log::Logger> make_logger(const LogSettings& s, std::shared_ptr<log::Sink> also) {
  auto level = log::parse_level(s.level);
  if (!level) return std::unexpected(level.error());
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
      .level = *level,
      .format = s.format == "console" ? log::Format::kConsole : log::Format::kJson,
      .sink = std::move(sink),
      .sampling = {.enabled = s.sampling.enabled,
                   .first = static_cast<std::uint32_t>(s.sampling.first),
                   .thereafter = static_cast<std::uint32_t>(s.sampling.thereafter),
                   .tick = s.sampling.tick},
  };
  return log::Logger(std::move(options));
}

}  // namespace svckit::config
