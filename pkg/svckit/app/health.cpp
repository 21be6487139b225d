#include "svckit/app/health.hpp"

#include "svckit/core/runtime.hpp"

namespace svckit::app {

void Readiness::add(std::string name, Check check) {
  std::lock_guard lock(mu_);
  checks_.push_back(std::make_shared<const Entry>(Entry{std::move(name), std::move(check)}));
}

void Readiness::add(std::string name, SyncCheck check) {
  add(std::move(name), Check([check = std::move(check)](const Context&) -> Task<Status> { co_return check(); }));
}

Task<Readiness::Report> Readiness::check(const Context& ctx, std::chrono::milliseconds timeout) const {
  Report report;
  report.state = draining_.load() ? "draining" : serving_.load() ? "serving" : "starting";
  std::vector<std::shared_ptr<const Entry>> checks;
  {
    std::lock_guard lock(mu_);
    checks = checks_;
  }
  bool ok = true;
  // A check's calls (a database ping, an HTTP call) are not traced or counted: see as_probe.
  const Context probe = as_probe(ctx);
  for (const auto& entry : checks) {
    // with_deadline wakes the check's awaits at the timeout; a check that overran without awaiting
    // anything still counts as timed out.
    auto started = std::chrono::steady_clock::now();
    auto st = co_await with_deadline(probe, timeout, [&entry](Context c) -> Task<Status> {
      try {
        co_return co_await entry->check(c);
      } catch (const std::exception& e) {
        co_return Status(Code::kInternal, std::string("check threw: ") + e.what());
      }
    });
    if (st.ok() && std::chrono::steady_clock::now() - started > timeout)
      st = Status(Code::kDeadlineExceeded, "check took longer than " + std::to_string(timeout.count()) + " ms");
    ok = ok && st.ok();
    report.checks.push_back({entry->name, std::move(st)});
  }
  report.ready = ok && report.state == "serving";
  co_return report;
}

}  // namespace svckit::app
