#pragma once
// svckit's gRPC runtime on grpc++'s callback API: a server built from the `grpc:` config section that
// observes every call (RED metrics, a server span per call from the caller's W3C/B3 metadata, a log
// line per call, the incoming grpc-timeout as the handler's Context deadline), grpc.health.v1 tied to
// readiness and server reflection; and clients whose calls carry the caller's remaining deadline and
// trace context, observed the same way.
//
// ```cpp
//   auto settings = app.settings<svckit::grpc::ServerSettings>("grpc");   // the grpc: section (settings.hpp)
//   svckit::grpc::Service users("users.v1.Users");   // service.hpp: svckit's own dispatch
//   svckit::grpc::Server server(settings, logger);
//   server.add_service(&users);      // or a generated ...::CallbackService (observed by interceptors)
//   if (auto st = server.start(); !st.ok()) return;
//   auto call_ctx = svckit::grpc::client_context(ctx);   // a client call's: deadline, trace context
// ```
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "svckit/core/context.hpp"
#include "svckit/core/status.hpp"
#include "svckit/discovery/registry.hpp"
#include "svckit/grpc/settings.hpp"
#include "svckit/log/logger.hpp"
#include "svckit/metrics/metrics.hpp"

namespace grpc {
class Service;
class Channel;
class ClientContext;
class ServerContextBase;
class Status;
}  // namespace grpc

namespace svckit::resilience {
class Shedder;
}

namespace svckit::grpc {

// One code space: svckit Status ↔ grpc::Status (reason and message travel in the message).
::grpc::Status to_grpc(const Status& status);
Status from_grpc(const ::grpc::Status& status);

// The verdict of the call's method limits (grpc.limits): OK, or RESOURCE_EXHAUSTED with reason
// RATE_LIMITED / CONCURRENCY_LIMITED and retry_after_ms. Handlers of limited methods call it first
// (svckit/grpc/admission.hpp has the one-line forms for unary and streaming handlers).
Status admit(const ::grpc::ServerContextBase* call);

// The Context of a call being served: its deadline (from grpc-timeout), its server span (trace_id and
// span_id in its log fields), the caller's baggage and metadata, for handlers of generated services.
// Valid for the call's lifetime; a call the interceptor did not see (a svckit::grpc::Service's: its
// handlers get their Context as an argument) gets a Context with just the deadline.
Context context_of(const ::grpc::ServerContextBase* call);

// A ClientContext for an outgoing call: the deadline is what remains of ctx's (or `fallback` when ctx
// has none), the trace context and baggage are injected, ctx's metadata is copied.
std::unique_ptr<::grpc::ClientContext> client_context(const Context& ctx,
                                                      std::chrono::milliseconds fallback = std::chrono::seconds(30));

// What a call check sees of a call before its handler runs: the method, the caller's metadata, and
// the call's Context, which the check may replace with a child carrying what it learnt (auth_grpc's
// check puts the authenticated principal there).
class IncomingCall {
 public:
  virtual ~IncomingCall() = default;
  virtual std::string_view method() const noexcept = 0;  // "/package.Service/Method"
  // The first value of a metadata key (keys are lower case), or nullopt.
  virtual std::optional<std::string_view> metadata(std::string_view key) const noexcept = 0;
  virtual Context& context() noexcept = 0;
};
// Runs on grpc++'s callback thread for every observed call, after shedding and grpc.limits admitted
// it; a non-OK Status refuses the call with that status before its handler runs (handlers of
// generated services read it through admit(), as they do the limits' verdict). It must not block.
using CallCheck = std::function<Status(IncomingCall& call)>;

struct ChannelOptions {
  std::size_t pool_size = 2;  // channels per target, used round robin (separate HTTP/2 connections)
  int max_attempts = 3;       // retry policy (service config) for UNAVAILABLE
  std::chrono::milliseconds keepalive_time{30000};
  bool observe = true;  // client interceptors: metrics and spans
  // For "discovery:///service" targets: the registry whose instances (their grpc:// endpoints) the
  // pool follows, one channel per instance, used round robin.
  std::shared_ptr<discovery::Discovery> discovery;
};

// Channels to one target ("127.0.0.1:9090", "dns:///chat:9090"), created once and reused; or to the
// live instances of a discovered service ("discovery:///chat-svc"): the set follows the registry's
// watch, a channel is kept per instance, and get() goes round the instances. With no instance,
// get() hands out a channel whose calls fail with UNAVAILABLE. Thread-safe.
class ChannelPool {
 public:
  explicit ChannelPool(std::string target, ChannelOptions options = {});
  ~ChannelPool();
  std::shared_ptr<::grpc::Channel> get();  // round robin
  const std::string& target() const noexcept { return target_; }
  std::size_t size() const;  // channels in use now (discovered instances, or pool_size)

 private:
  std::shared_ptr<::grpc::Channel> make(const std::string& target) const;
  void follow(const std::vector<discovery::Instance>& set);
  std::string target_;
  ChannelOptions options_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<::grpc::Channel>> channels_;
  std::map<std::string, std::shared_ptr<::grpc::Channel>> by_endpoint_;  // discovered: host:port → channel
  std::shared_ptr<::grpc::Channel> nowhere_;                             // discovered, no instance
  std::atomic<std::size_t> next_{0};
  std::unique_ptr<discovery::Watch> watch_;  // last: ends before the rest goes
};

class Server {
 public:
  Server(ServerSettings settings, log::Logger logger = log::global(),
         metrics::Registry& registry = metrics::Registry::global());
  ~Server();  // shuts down if running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Before start(). The service must outlive the server; a svckit::grpc::Service serves one server.
  void add_service(::grpc::Service* service);
  // Before start(): shed with this shedder (e.g. the one the HTTP side uses, so that both ports judge
  // the process's load together) instead of one built from grpc.shed.
  void set_shedder(std::shared_ptr<resilience::Shedder> shedder);
  // Before start(): a check every call must pass (authentication, svckit::auth's grpc_check), run in
  // the order added. Health checks and reflection are not checked.
  void add_call_check(CallCheck check);
  Status start();
  std::uint16_t port() const noexcept;
  const std::string& host() const noexcept;  // as configured (grpc.host)
  // grpc.health.v1: overall ("") and per-service status.
  void set_serving(bool serving);
  // Stops accepting, lets calls finish for shutdown_grace, then cancels the rest.
  void shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace svckit::grpc
