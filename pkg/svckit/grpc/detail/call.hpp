#pragma once
// Internal: the observation of one served call and the registry entry of a Service's method, shared by
// svckit's own dispatch (reactors.hpp, instantiated in the user's code: so this header is installed)
// and the interceptor that observes generated services.
#include <chrono>
#include <exception>
#include <map>
#include <optional>
#include <string>

#include "svckit/core/context.hpp"
#include "svckit/core/status.hpp"
#include "svckit/resilience/limiter.hpp"
#include "svckit/resilience/shedder.hpp"
#include "svckit/trace/tracer.hpp"

namespace grpc {
class ServerContextBase;
class Status;
class string_ref;
}  // namespace grpc

namespace svckit::grpc::detail {

struct MethodStats;  // per method and server: names, metric handles, limits (server_state.hpp)

// grpc++ cancels a call at its deadline with its own timer, and the call's Context deadline is
// converted from grpc++'s system-clock deadline: the two may differ by this much.
inline constexpr std::chrono::milliseconds kDeadlineSkew{50};

// One method of a Service; `stats` is set when a Server starts with the service.
struct MethodSlot {
  std::string full_name;  // "/package.Service/Method"
  int index = 0;
  const char* kind = "unary";  // grpc_type label: unary, client_stream, server_stream, bidi_stream
  const MethodStats* stats = nullptr;
};

// What svckit observes of one served call, whichever way it is dispatched (a Service's reactor, or the
// interceptor on a generated grpc++ service).
class CallObservation {
 public:
  CallObservation() = default;
  CallObservation(const CallObservation&) = delete;
  CallObservation& operator=(const CallObservation&) = delete;
  ~CallObservation();  // a call that never finished is counted CANCELLED

  // Counts the call, starts its span from the caller's metadata, builds its Context; then the verdict
  // of shedding and the method's limits (a refusal is counted and carries the retry hint trailer).
  Status begin(const MethodStats* method, ::grpc::ServerContextBase* call,
               const std::multimap<::grpc::string_ref, ::grpc::string_ref>& metadata);
  void received() noexcept;
  void sent() noexcept;
  // Once; later calls do nothing.
  void finish(const ::grpc::Status& status);
  // The status of a call grpc++ reports cancelled: DEADLINE_EXCEEDED when its deadline has passed
  // (grpc++ cancels a call at its deadline too; its timer and the clocks may differ by a few
  // milliseconds), else CANCELLED by the client.
  ::grpc::Status cancelled_status() const;
  Context& context() noexcept { return ctx_; }
  const MethodStats* method() const noexcept { return m_; }

 private:
  const MethodStats* m_ = nullptr;
  ::grpc::ServerContextBase* call_ = nullptr;
  std::chrono::steady_clock::time_point start_;
  std::chrono::system_clock::time_point deadline_ = std::chrono::system_clock::time_point::max();
  trace::Span span_;
  Context ctx_;
  resilience::Bulkhead::Permit permit_;
  std::optional<resilience::Shedder::Promise> shed_promise_;
  bool finished_ = true;  // until begin()
};

// The status for a handler that threw: INTERNAL, with a log line naming the method.
Status handler_threw(const MethodStats* method, const Context& ctx, const char* what);

template <class Fn>
Status guarded(const MethodStats* method, const Context& ctx, Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return handler_threw(method, ctx, e.what());
  } catch (...) {
    return handler_threw(method, ctx, "unknown exception");
  }
}

}  // namespace svckit::grpc::detail
