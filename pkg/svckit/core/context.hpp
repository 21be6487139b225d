#pragma once
// Context is what a request carries through every call it makes, as Go's context.Context does: a
// deadline, cancellation (cancelling a parent cancels its children), typed values, metadata that is
// propagated to outgoing calls, and log fields that every log line written for the request includes.
// A Context is a cheap handle (one shared_ptr); derived contexts never change their parent.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "svckit/core/status.hpp"

namespace svckit {

using Clock = std::chrono::steady_clock;
using Duration = std::chrono::nanoseconds;

// Log fields that a context value renders when a line is written rather than when the context is
// made (a span's trace_id and span_id): up to kMax fields with distinct keys, whose text the renderer
// keeps in `text`.
struct RenderedLogFields {
  static constexpr std::size_t kMax = 4;
  std::pair<std::string_view, std::string_view> fields[kMax];
  std::size_t size = 0;
  // Set when every key and value is made only of letters, digits and "_-.:/" (ids, codes): log
  // encoders then copy them as they are, without escaping or quoting checks.
  bool plain = false;
  char text[128];
};

namespace detail {
struct ContextNode;
struct CancelState;
template <class T>
struct TypeKey {
  static constexpr char id = 0;
};
// How a context node holds a value of some type (in the node itself when it fits, so a value costs no
// allocation of its own), and renders its log fields if it has any.
struct ValueOps {
  std::size_t size, align;
  void (*relocate)(void* dst, void* src);  // move-constructs *dst from *src
  void (*destroy)(void* p) noexcept;
  void (*render)(const void* value, RenderedLogFields& out);  // null: no rendered fields
};
template <class T>
void relocate_value(void* dst, void* src) {
  ::new (dst) T(std::move(*static_cast<T*>(src)));
}
template <class T>
void destroy_value(void* p) noexcept {
  static_cast<T*>(p)->~T();
}
template <class T, void (*Render)(const T&, RenderedLogFields&)>
void render_value(const void* v, RenderedLogFields& out) {
  Render(*static_cast<const T*>(v), out);
}
template <class T, void (*Render)(const T&, RenderedLogFields&)>
inline constexpr ValueOps kValueOps{sizeof(T), alignof(T), &relocate_value<T>, &destroy_value<T>,
                                    Render ? &render_value<T, Render> : nullptr};
}  // namespace detail

// Keeps an on_cancel callback registered; unregisters it when destroyed.
class CancelRegistration {
 public:
  CancelRegistration() = default;
  CancelRegistration(CancelRegistration&& other) noexcept;
  CancelRegistration& operator=(CancelRegistration&& other) noexcept;
  CancelRegistration(const CancelRegistration&) = delete;
  CancelRegistration& operator=(const CancelRegistration&) = delete;
  ~CancelRegistration();
  void reset();

 private:
  friend class Context;
  CancelRegistration(std::weak_ptr<detail::CancelState> state, std::uint64_t id) : state_(std::move(state)), id_(id) {}
  std::weak_ptr<detail::CancelState> state_;
  std::uint64_t id_ = 0;
};

class Context {
 public:
  using LogField = std::pair<std::string, std::string>;

  // The background context: no deadline, never cancelled.
  Context();

  // Children. A child's deadline is never later than its parent's.
  Context with_cancel() const;
  Context with_deadline(Clock::time_point deadline) const;
  Context with_timeout(Duration timeout) const;
  template <class T>
  Context with_value(T value) const {
    return with_value_impl(&detail::TypeKey<T>::id, &value, &detail::kValueOps<T, nullptr>);
  }
  // A value whose log fields Render writes only when a line is logged with the context (a span:
  // ctx.with_value<SpanContext, render_ids>(span) formats no ids for a request that logs nothing).
  template <class T, void (*Render)(const T&, RenderedLogFields&)>
  Context with_value(T value) const {
    return with_value_impl(&detail::TypeKey<T>::id, &value, &detail::kValueOps<T, Render>);
  }
  // Metadata travels with outgoing calls (HTTP headers, gRPC metadata). Keys are lower case.
  Context with_metadata(std::string key, std::string value) const;
  // Fields every log line written with this context carries (request_id, trace_id, span_id...).
  Context with_log_field(std::string key, std::string value) const;

  // Cancels this context and its descendants; the first reason wins. Thread-safe.
  void cancel(Status reason = Status(Code::kCancelled, "context cancelled")) const;

  // True once cancelled or past the deadline.
  bool done() const noexcept;
  // OK, or why the context is done (CANCELLED, DEADLINE_EXCEEDED or the reason given to cancel).
  Status err() const;
  std::optional<Clock::time_point> deadline() const noexcept;
  // Time left until the deadline (zero if past, Duration::max() without a deadline): what outgoing
  // calls should use as their own timeout.
  Duration remaining() const noexcept;

  // Runs fn(reason) once when the context is cancelled (immediately if it already is), on the thread
  // that cancels. The deadline passing does not call it by itself: the runtime's timers do
  // (with_deadline, sleep_for). Keep the registration alive for as long as fn may run.
  [[nodiscard]] CancelRegistration on_cancel(std::function<void(const Status&)> fn) const;
  // The same for a callback on an object owned elsewhere: Fn(target, reason) runs only if target is
  // still alive then. No allocation (a std::function holding a weak_ptr would make one per call).
  template <class T, void (*Fn)(const std::shared_ptr<T>&, const Status&)>
  [[nodiscard]] CancelRegistration on_cancel_of(const std::shared_ptr<T>& target) const {
    return on_cancel_target(
        target, [](const std::shared_ptr<void>& p, const Status& why) { Fn(std::static_pointer_cast<T>(p), why); });
  }

  template <class T>
  const T* value() const noexcept {
    return static_cast<const T*>(value_impl(&detail::TypeKey<T>::id));
  }
  std::optional<std::string_view> metadata(std::string_view key) const noexcept;
  // All metadata, nearest first; a key set twice appears once with its newest value.
  std::vector<std::pair<std::string_view, std::string_view>> all_metadata() const;
  // Calls fn(key, value) for each log field, oldest first (so a request's fields come in the order
  // they were added); a key set again keeps its first place and takes its newest value. No
  // allocation: the logger calls it for every line. fn(key, value, plain) is called instead when it
  // takes a third argument: true for fields a renderer declared plain (RenderedLogFields::plain).
  template <class F>
  void for_each_log_field(F&& fn) const {
    for_each_log_field_impl(
        [](void* f, std::string_view k, std::string_view v, bool plain) {
          auto& call = *static_cast<std::remove_reference_t<F>*>(f);
          if constexpr (std::is_invocable_v<F&, std::string_view, std::string_view, bool>)
            call(k, v, plain);
          else
            call(k, v);
        },
        &fn);
  }
  // The same fields as a vector (for tests and tools); copies, since rendered fields' text lives only
  // during the walk.
  std::vector<std::pair<std::string, std::string>> log_fields() const;

 private:
  explicit Context(std::shared_ptr<const detail::ContextNode> node) : node_(std::move(node)) {}
  Context with_value_impl(const void* key, void* value, const detail::ValueOps* ops) const;
  const void* value_impl(const void* key) const noexcept;
  void for_each_log_field_impl(void (*fn)(void*, std::string_view, std::string_view, bool), void* arg) const;
  Context with_new_cancel_scope(std::optional<Clock::time_point> deadline) const;
  CancelRegistration on_cancel_target(std::weak_ptr<void> target,
                                      void (*fn)(const std::shared_ptr<void>&, const Status&)) const;

  std::shared_ptr<const detail::ContextNode> node_;
};

// Work done for a health or readiness probe (a readiness check's database ping, a gRPC health call):
// svckit's instrumentation records no span, RED metric or access log line for it, so a probe polled
// every few seconds never crowds real calls out of the trace ring and the dashboards.
Context as_probe(const Context& ctx);
bool is_probe(const Context& ctx) noexcept;

}  // namespace svckit
