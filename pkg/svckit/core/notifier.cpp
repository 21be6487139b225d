#include "svckit/core/notifier.hpp"

#include <stdexcept>
#include <utility>

#include "svckit/core/runtime.hpp"

namespace svckit {

void Notifier::notify() {
  std::unique_lock lock(mu_);
  if (!waiter_) {
    notified_ = true;
    return;
  }
  auto h = std::exchange(waiter_, {});
  Loop* loop = std::exchange(loop_, nullptr);
  lock.unlock();
  loop->post([h] { h.resume(); });  // never inline: the notifier's thread may hold the caller's locks
}

bool Notifier::Awaiter::await_ready() noexcept {
  std::lock_guard lock(n.mu_);
  return std::exchange(n.notified_, false);
}

bool Notifier::Awaiter::await_suspend(std::coroutine_handle<> h) {
  Loop* loop = Loop::current();
  if (!loop) throw std::logic_error("Notifier::wait awaited outside a svckit loop");
  std::lock_guard lock(n.mu_);
  if (std::exchange(n.notified_, false)) return false;  // notified between await_ready and now
  n.waiter_ = h;
  n.loop_ = loop;
  return true;
}

}  // namespace svckit
