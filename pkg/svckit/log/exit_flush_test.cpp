// Nothing logged through an AsyncSink is lost on the way out of the process: exit() (what returning
// from main does), an exception that escapes (std::terminate) and abort. Each case runs in a child
// process (a death test) whose logger is never destroyed, as a logger
// held by a leaked owner is not, and whose writer thread would not write for an hour by itself: only the exit path can
// write.
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "svckit/log/logger.hpp"
#include "svckit/log/sink.hpp"

using namespace std::chrono_literals;

namespace svckit::log {
namespace {

class ExitFlushTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Re-executed children (not forked from a process that may have threads: TSan and fork do not
    // mix) find the parent's file through the environment.
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    const std::string var = "SVCKIT_EXIT_FLUSH_" + name;  // test names are letters and digits
    if (const char* inherited = std::getenv(var.c_str())) {
      path_ = inherited;
      return;
    }
    path_ = std::filesystem::temp_directory_path() /
            ("svckit_exit_flush_" + std::to_string(::getpid()) + "_" + name + ".log");
    std::filesystem::remove(path_);
    ::setenv(var.c_str(), path_.c_str(), 1);
  }
  void TearDown() override { std::filesystem::remove(path_); }

  // In the child: a leaked logger with one line buffered.
  void log_and_leak() const {
    auto file = FileSink::open(path_.string());
    if (!file) std::abort();
    auto sink = std::make_shared<AsyncSink>(*file, AsyncSinkOptions{.flush_interval = 1h});
    // Never destroyed, as a logger held by a leaked owner is not; a static pointer keeps it reachable,
    // so LeakSanitizer does not report what the test leaks on purpose.
    static Logger* logger = nullptr;
    logger = new Logger(LoggerOptions{.sink = sink});
    logger->error("the line that must not be lost", {{"code", 42}});
  }
  std::string logged() const {
    std::ifstream in(path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  std::filesystem::path path_;
};

TEST_F(ExitFlushTest, ExitWritesWhatIsBuffered) {
  EXPECT_EXIT(
      {
        log_and_leak();
        std::exit(3);
      },
      ::testing::ExitedWithCode(3), "");
  EXPECT_NE(logged().find("the line that must not be lost"), std::string::npos) << logged();
}

TEST_F(ExitFlushTest, AnEscapingExceptionWritesWhatIsBuffered) {
  EXPECT_DEATH(
      {
        log_and_leak();
        std::thread([] { throw std::runtime_error("escaped"); }).join();
      },
      "");
  EXPECT_NE(logged().find("the line that must not be lost"), std::string::npos) << logged();
}

TEST_F(ExitFlushTest, AbortWritesWhatIsBuffered) {
  EXPECT_EXIT(
      {
        log_and_leak();
        std::abort();
      },
      ::testing::KilledBySignal(SIGABRT), "");
  EXPECT_NE(logged().find("the line that must not be lost"), std::string::npos) << logged();
}

TEST_F(ExitFlushTest, ADestroyedSinkIsNoLongerFlushedAtExit) {
  // A sink destroyed before exit wrote its lines then; exit must not touch it (a use after free).
  EXPECT_EXIT(
      {
        {
          auto file = FileSink::open(path_.string());
          if (!file) std::abort();
          Logger logger(
              LoggerOptions{.sink = std::make_shared<AsyncSink>(*file, AsyncSinkOptions{.flush_interval = 1h})});
          logger.info("written when the sink goes");
        }
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "");
  EXPECT_NE(logged().find("written when the sink goes"), std::string::npos) << logged();
}

}  // namespace
}  // namespace svckit::log
