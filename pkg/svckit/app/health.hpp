#pragma once
// Liveness and readiness. Liveness (/healthz) says the process answers at all; readiness (/readyz,
// and gRPC's health service later) says it should get traffic: it is false while starting and
// draining, and otherwise the AND of the registered checks (a database ping, a warm cache...), each
// bounded by a timeout so a hanging dependency makes the instance unready instead of hanging probes.
//
// ```cpp
//   Task<Status> billing_ping(const Context& ctx);            // a coroutine check
//   struct Cache { std::atomic<bool> loaded{false}; };
//   auto cache = std::make_shared<Cache>();                   // filled in the background
//   app.readiness().add("billing", billing_ping);
//   app.readiness().add("cache", [cache] { return cache->loaded ? Status() : Status(Code::kUnavailable, "warming"); });
// ```
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "svckit/core/context.hpp"
#include "svckit/core/status.hpp"
#include "svckit/core/task.hpp"

namespace svckit::app {

class Readiness {
 public:
  using Check = std::function<Task<Status>(const Context&)>;
  using SyncCheck = std::function<Status()>;

  void add(std::string name, Check check);
  void add(std::string name, SyncCheck check);

  // Serving is switched on by App::run once the servers listen, and off when the stop sequence starts.
  void set_serving(bool serving) noexcept { serving_.store(serving); }
  bool serving() const noexcept { return serving_.load(); }

  struct Result {
    std::string name;
    Status status;
  };
  struct Report {
    bool ready = false;
    std::string state;  // "serving", "starting" or "draining"
    std::vector<Result> checks;
  };
  // Runs every check (each with `timeout`) and reports. Called on an event loop.
  Task<Report> check(const Context& ctx, std::chrono::milliseconds timeout) const;
  void mark_draining() noexcept {
    draining_.store(true);
    serving_.store(false);
  }

 private:
  struct Entry {
    std::string name;
    Check check;
  };
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<const Entry>> checks_;
  std::atomic<bool> serving_{false};
  std::atomic<bool> draining_{false};
};

}  // namespace svckit::app
