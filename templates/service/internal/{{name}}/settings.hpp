#pragma once
// The service's own config section, `{{name_snake}}:` (configs/services/{{name}}.yaml), and Live<T>: a
// value the handlers read on every request and the config watcher replaces when a file changes
// (config::Config::on_change). A broken edit is refused by the config (the old value stays).
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <svckit/config/binder.hpp>

namespace {{name_snake}} {

struct Settings {
  // GET /v1/greeting's text; applied live.
  std::string greeting = "Hello from {{name}}";
  // Items per page by default; applied live.
  int page_size = 20;
  std::string cursor_secret;
  static void describe(svckit::config::Binder<Settings>& b) {
    b.field("greeting", &Settings::greeting).non_empty().doc("GET /v1/greeting's text; edits apply live");
    b.field("page_size", &Settings::page_size).range(1, 100).doc("items per page by default; edits apply live");
    b.field("cursor_secret", &Settings::cursor_secret)
        .secret()
        .doc("signs page cursors (cursor_secret_file for a file); empty: checked, not signed");
  }
};

template <class T>
class Live {
 public:
  explicit Live(T value) : value_(std::make_shared<const T>(std::move(value))) {}
  std::shared_ptr<const T> get() const {
    std::lock_guard lock(mu_);
    return value_;
  }
  void set(T value) {
    auto next = std::make_shared<const T>(std::move(value));
    std::lock_guard lock(mu_);
    value_ = std::move(next);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const T> value_;
};

}  // namespace {{name_snake}}
