#pragma once
// The state the App's background loops (readiness publishing, registration) share with its stop
// sequence: a context the stop cancels, and a count of the loops still running.
#include <atomic>

#include "svckit/app/app.hpp"
#include "svckit/core/context.hpp"
#include "svckit/core/notifier.hpp"

namespace svckit::app {

struct App::Background {
  explicit Background(const Context& parent) : ctx(parent.with_cancel()) {}
  Context ctx;  // a child of the runtime's shutdown context: a runtime torn down without a stop ends it too
  std::atomic<int> live{0};
  Notifier ended;
};

}  // namespace svckit::app
