#include <svckit/config/config.hpp>
#include <svckit/core/runtime.hpp>
#include <svckit/log/logger.hpp>

svckit::Task<int> answer() {
  co_await svckit::sleep_for(std::chrono::milliseconds(1));
  co_return 42;
}

int main() {
  svckit::Runtime rt({.workers = 1});
  int v = rt.block_on(answer());
  svckit::log::Logger logger;
  logger.info("consumer ran", {{"answer", v}});
  return v == 42 ? 0 : 1;
}
