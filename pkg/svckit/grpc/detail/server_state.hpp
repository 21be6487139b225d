#pragma once
// Internal: what a Server shares with every call it observes (metrics, the call logger, shedding and the
// methods' limits, resolved once per method), and the per-call context grpc++ allocates for it.
#include <grpcpp/server_context.h>
#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "svckit/core/context.hpp"
#include "svckit/core/status.hpp"
#include "svckit/grpc/detail/call.hpp"
#include "svckit/grpc/detail/limits.hpp"
#include "svckit/grpc/detail/methods.hpp"
#include "svckit/grpc/grpc.hpp"
#include "svckit/log/logger.hpp"
#include "svckit/metrics/metrics.hpp"
#include "svckit/resilience/shedder.hpp"
#include "svckit/trace/tracer.hpp"

namespace svckit::grpc::detail {

// Every callback call's ServerContext is one of these (Server installs the allocator): the call's
// svckit Context lives beside it and dies with it, so context_of() needs no global map or lock.
class ObservedContext final : public ::grpc::CallbackServerContext {
 public:
  std::optional<Context> ctx;
  Status admission;  // the method's limits' verdict (grpc.limits), for admit()
};

class ObservedContextAllocator final : public ::grpc::ContextAllocator {
 public:
  ::grpc::CallbackServerContext* NewCallbackServerContext() override { return new ObservedContext(); }
  void Release(::grpc::CallbackServerContext* c) override { delete c; }
};

struct ServerMetrics {
  metrics::CounterVec& started;
  metrics::CounterVec& handled;
  metrics::HistogramVec& seconds;
  metrics::GaugeVec& in_flight;
  metrics::CounterVec& received;
  metrics::CounterVec& sent;
  metrics::CounterVec& limited;
  metrics::CounterVec& shed;
  explicit ServerMetrics(metrics::Registry& r);
};

struct ServerState {
  ServerMetrics metrics;
  log::Logger call_logger;  // the server's, without caller: it would name this file on every call line
  std::shared_ptr<resilience::Shedder> shedder;
  MethodGuards guards;
  std::vector<CallCheck> checks;  // Server::add_call_check, set before the server starts
  ServerState(metrics::Registry& r, const log::Logger& l, std::shared_ptr<resilience::Shedder> s, MethodGuards g);
  const MethodStats& method(const char* full, const char* type);

 private:
  MethodTable<MethodStats> methods_;
};

struct MethodStats {
  std::string service, method, span_name;
  std::vector<trace::Attribute> span_attributes;  // rpc.system, rpc.service, rpc.method...: built once
  const char* type;
  metrics::Counter started, received, sent, handled_ok, limited, shed;
  metrics::Histogram seconds;
  metrics::Gauge in_flight;
  MethodGuard* guard;
  ServerState* server;
  log::Logger logger;     // the call logger, with grpc_service and grpc_method encoded once
  log::Logger ok_logger;  // and with grpc_code OK too: a successful call's line encodes only its duration
  std::string full_name;  // "/package.Service/Method", as call checks see it
};

// Observes the calls of generated grpc++ services through grpc++'s interceptor hooks; `dispatched`
// names the methods of svckit Services (by the pointers they registered), which observe themselves.
std::unique_ptr<::grpc::experimental::ServerInterceptorFactoryInterface> observer_factory(
    ServerState* server, std::unordered_set<const char*> dispatched);

}  // namespace svckit::grpc::detail
