#pragma once
// Test helper (not installed): records the sets a discovery watch delivers, as instance ids, and
// waits for one that satisfies a predicate. Thread-safe: watches call back from their own threads.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "svckit/discovery/instance.hpp"

namespace svckit::testkit {

struct Seen {
  using Ids = std::vector<std::string>;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Ids> sets;
  void add(const std::vector<discovery::Instance>& set) {
    Ids ids;
    for (const auto& i : set) ids.push_back(i.id);
    std::lock_guard lock(mu);
    sets.push_back(std::move(ids));
    cv.notify_all();
  }
  bool wait_for(std::function<bool(const Ids&)> pred, std::chrono::milliseconds limit) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, limit, [&] { return !sets.empty() && pred(sets.back()); });
  }
  Ids last() {
    std::lock_guard lock(mu);
    return sets.empty() ? Ids{} : sets.back();
  }
  std::size_t count() {
    std::lock_guard lock(mu);
    return sets.size();
  }
};

}  // namespace svckit::testkit
