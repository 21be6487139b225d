// The observation of served calls: RED metrics, a server span from the caller's trace context, a log
// line and the call's Context, inline for svckit Services and through grpc++'s interceptor hooks for
// generated services; and the admission verdict (shedding, grpc.limits) taken as the call begins.
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/server_interceptor.h>

#include <array>
#include <optional>
#include <string>

#include "svckit/grpc/detail/server_state.hpp"
#include "svckit/grpc/grpc.hpp"
#include "svckit/resilience/limiter.hpp"
#include "svckit/resilience/shedder.hpp"
#include "svckit/trace/tracer.hpp"

namespace svckit::grpc {

namespace {

Context deadline_context(std::chrono::system_clock::time_point deadline) {
  if (deadline == std::chrono::system_clock::time_point::max()) return Context();
  auto left = deadline - std::chrono::system_clock::now();
  return Context().with_timeout(std::chrono::duration_cast<Duration>(left));
}
Context deadline_context(const ::grpc::ServerContextBase* call) {
  return deadline_context(call->deadline());
}

const char* call_type(::grpc::experimental::ServerRpcInfo::Type t) {
  using T = ::grpc::experimental::ServerRpcInfo::Type;
  switch (t) {
    case T::UNARY:
      return "unary";
    case T::CLIENT_STREAMING:
      return "client_stream";
    case T::SERVER_STREAMING:
      return "server_stream";
    default:
      return "bidi_stream";
  }
}

// The call's metadata that svckit reads (trace propagation in every format, baggage, x-request-id),
// found in one pass over it instead of one map lookup per header name and format: most calls carry
// none of them, and then extraction is skipped.
class CallHeaders {
 public:
  explicit CallHeaders(const std::multimap<::grpc::string_ref, ::grpc::string_ref>& md) {
    for (const auto& [k, v] : md) {
      std::string_view key(k.data(), k.size());
      if (key.empty() || n_ == found_.size()) continue;
      char c = key[0];
      if (c != 't' && c != 'b' && c != 'x' && c != 'u') continue;  // none of the names below
      std::string_view value(v.data(), v.size());
      if (key == "baggage") {
        baggage_ = value;
      } else if (key == "x-request-id") {
        request_id_ = value;
      } else if (key == "traceparent" || key == "tracestate" || key == "b3" || key == "uber-trace-id" ||
                 key.starts_with("x-b3-")) {
        found_[n_++] = {key, value};
      }
    }
  }
  bool has_propagation() const noexcept { return n_ > 0; }
  std::string_view baggage() const noexcept { return baggage_; }
  std::string_view request_id() const noexcept { return request_id_; }
  // gRPC metadata keys are lower case; propagation formats name some headers in mixed case.
  std::string_view get(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < n_; ++i) {
      std::string_view key = found_[i].first;
      if (key.size() != name.size()) continue;
      bool same = true;
      for (std::size_t j = 0; j < key.size() && same; ++j) {
        char c = name[j] >= 'A' && name[j] <= 'Z' ? static_cast<char>(name[j] - 'A' + 'a') : name[j];
        same = c == key[j];
      }
      if (same) return found_[i].second;
    }
    return {};
  }

 private:
  std::array<std::pair<std::string_view, std::string_view>, 8> found_;
  std::size_t n_ = 0;
  std::string_view baggage_, request_id_;
};

// A call as the server's call checks see it, over the metadata grpc++ received.
class ObservedCall final : public IncomingCall {
 public:
  ObservedCall(const detail::MethodStats& m, const std::multimap<::grpc::string_ref, ::grpc::string_ref>& md,
               Context& ctx)
      : m_(m), md_(md), ctx_(ctx) {}
  std::string_view method() const noexcept override { return m_.full_name; }
  std::optional<std::string_view> metadata(std::string_view key) const noexcept override {
    auto it = md_.find(::grpc::string_ref(key.data(), key.size()));
    if (it == md_.end()) return std::nullopt;
    return std::string_view(it->second.data(), it->second.size());
  }
  Context& context() noexcept override { return ctx_; }

 private:
  const detail::MethodStats& m_;
  const std::multimap<::grpc::string_ref, ::grpc::string_ref>& md_;
  Context& ctx_;
};

}  // namespace

namespace detail {

ServerMetrics::ServerMetrics(metrics::Registry& r)
    : started(r.counter_vec({.name = "grpc_server_started_total", .help = "RPCs started on the server."},
                            {"grpc_service", "grpc_method", "grpc_type"})),
      handled(r.counter_vec({.name = "grpc_server_handled_total", .help = "RPCs completed on the server, by code."},
                            {"grpc_service", "grpc_method", "grpc_type", "grpc_code"})),
      seconds(r.histogram_vec({.name = "grpc_server_handling_seconds", .help = "Time from start to status."},
                              {"grpc_service", "grpc_method", "grpc_type"})),
      in_flight(r.gauge_vec({.name = "grpc_server_streams_in_flight", .help = "RPCs being served."},
                            {"grpc_service", "grpc_method"})),
      received(r.counter_vec({.name = "grpc_server_msg_received_total", .help = "Messages received."},
                             {"grpc_service", "grpc_method", "grpc_type"})),
      sent(r.counter_vec({.name = "grpc_server_msg_sent_total", .help = "Messages sent."},
                         {"grpc_service", "grpc_method", "grpc_type"})),
      limited(r.counter_vec(
          {.name = "grpc_server_limited_total", .help = "RPCs refused by the method's limits (grpc.limits)."},
          {"grpc_service", "grpc_method"})),
      shed(r.counter_vec({.name = "grpc_server_shed_total", .help = "RPCs refused by load shedding (grpc.shed)."},
                         {"grpc_service", "grpc_method"})) {}

ServerState::ServerState(metrics::Registry& r, const log::Logger& l, std::shared_ptr<resilience::Shedder> s,
                         MethodGuards g)
    : metrics(r), call_logger(l.without_caller()), shedder(std::move(s)), guards(std::move(g)) {}

const MethodStats& ServerState::method(const char* full, const char* type) {
  return methods_.get(full, [&](std::string_view name, std::string service, std::string method) {
    auto git = guards.find(std::string(name));
    auto& m = metrics;
    // rpc.grpc.status_code is listed now and set when the call ends (every observed call ends): set()
    // then finds it in place, and a recycled span's key string is reused rather than allocated.
    std::vector<trace::Attribute> attributes{{"rpc.system", std::string("grpc")},
                                             {"rpc.service", service},
                                             {"rpc.method", method},
                                             {"rpc.grpc.status_code", std::int64_t{0}}};
    log::Logger logger = call_logger.with({{"grpc_service", service}, {"grpc_method", method}});
    log::Logger ok_logger = logger.with({{"grpc_code", "OK"}});
    return MethodStats{service,
                       method,
                       service + "/" + method,
                       std::move(attributes),
                       type,
                       m.started.with({service, method, type}),
                       m.received.with({service, method, type}),
                       m.sent.with({service, method, type}),
                       m.handled.with({service, method, type, "OK"}),
                       m.limited.with({service, method}),
                       m.shed.with({service, method}),
                       m.seconds.with({service, method, type}),
                       m.in_flight.with({service, method}),
                       git != guards.end() ? &git->second : nullptr,
                       this,
                       std::move(logger),
                       std::move(ok_logger),
                       std::string(name)};
  });
}

CallObservation::~CallObservation() {
  if (!finished_) finish(::grpc::Status(::grpc::StatusCode::CANCELLED, "call ended without a status"));
}

Status CallObservation::begin(const MethodStats* m, ::grpc::ServerContextBase* call,
                              const std::multimap<::grpc::string_ref, ::grpc::string_ref>& md) {
  m_ = m;
  call_ = call;
  finished_ = false;
  start_ = std::chrono::steady_clock::now();
  m->started.inc();
  m->in_flight.inc();
  deadline_ = call->deadline();
  ctx_ = deadline_context(deadline_);
  CallHeaders headers(md);
  if (auto* tracer = trace::Tracer::current()) {
    std::optional<trace::SpanContext> parent;
    if (headers.has_propagation())
      parent = trace::extract([&](std::string_view k) { return headers.get(k); }, tracer->propagation());
    span_ = tracer->start_span(m->span_name, trace::SpanKind::kServer, parent, m->span_attributes);
    ctx_ = trace::with_span(ctx_, span_.context());
    if (auto bag = headers.baggage(); !bag.empty()) ctx_ = trace::with_baggage(ctx_, trace::parse_baggage(bag));
  }
  if (auto rid = headers.request_id(); !rid.empty() && rid.size() <= 128)
    ctx_ = ctx_.with_log_field("request_id", std::string(rid));

  Status verdict;
  if (auto& shedder = m->server->shedder) {
    if (auto promise = shedder->allow()) {
      shed_promise_.emplace(std::move(*promise));
    } else {
      m->shed.inc();
      verdict = promise.error();
    }
  }
  if (verdict.ok() && m->guard) {
    if (auto& bucket = m->guard->bucket) verdict = bucket->try_acquire();
    if (verdict.ok() && m->guard->bulkhead) {
      if (auto permit = m->guard->bulkhead->try_acquire())
        permit_ = std::move(*permit);
      else
        verdict = permit.error();
    }
    if (!verdict.ok()) m->limited.inc();
  }
  if (verdict.ok() && !m->server->checks.empty()) {
    ObservedCall incoming(*m, md, ctx_);
    for (const auto& check : m->server->checks) {
      verdict = check(incoming);
      if (!verdict.ok()) break;
    }
  }
  // gRFC A6 server pushback: a client whose retry policy covers the refusal waits this long before it
  // tries again, instead of retrying into the same overload at once.
  if (!verdict.ok())
    if (auto ms = verdict.metadata_value("retry_after_ms"); !ms.empty())
      call->AddTrailingMetadata("grpc-retry-pushback-ms", std::string(ms));
  return verdict;
}

void CallObservation::received() noexcept {
  m_->received.inc();
}

void CallObservation::sent() noexcept {
  m_->sent.inc();
}

::grpc::Status CallObservation::cancelled_status() const {
  if (deadline_ != std::chrono::system_clock::time_point::max() &&
      std::chrono::system_clock::now() + kDeadlineSkew >= deadline_)
    return ::grpc::Status(::grpc::StatusCode::DEADLINE_EXCEEDED, "deadline exceeded");
  return ::grpc::Status(::grpc::StatusCode::CANCELLED, "cancelled by the client");
}

void CallObservation::finish(const ::grpc::Status& sent) {
  if (finished_) return;
  finished_ = true;
  const std::chrono::nanoseconds elapsed = std::chrono::steady_clock::now() - start_;
  const double seconds = std::chrono::duration<double>(elapsed).count();
  // A handler that answers after the call's deadline answers nobody: the client already has
  // DEADLINE_EXCEEDED, and that is what the call is counted, traced and logged as.
  ::grpc::Status st = sent;
  if (st.ok() && deadline_ != std::chrono::system_clock::time_point::max() &&
      std::chrono::system_clock::now() > deadline_)
    st = ::grpc::Status(::grpc::StatusCode::DEADLINE_EXCEEDED, "answered after the deadline");
  Code code = code_from_grpc(static_cast<int>(st.error_code()));
  if (shed_promise_) {  // only successes teach the shedder what the server can take
    if (st.ok()) shed_promise_->pass();
    shed_promise_.reset();
  }
  permit_.release();
  if (st.ok())
    m_->handled_ok.inc();
  else
    m_->server->metrics.handled.with({m_->service, m_->method, m_->type, code_name(code)}).inc();
  if (span_.recording())  // sampled: the call's latency bucket keeps its ids as an exemplar
    m_->seconds.observe(seconds, {span_.context().trace_id.bytes, span_.context().span_id.bytes});
  else
    m_->seconds.observe(seconds);
  m_->in_flight.dec();
  // The peer is looked up (an allocation in grpc++) only for calls that failed, where it helps.
  std::string peer = st.ok() ? std::string() : call_->peer();
  if (span_.recording()) {
    if (!st.ok()) {
      span_.set_status(trace::StatusCode::kError, std::string(code_name(code)) + ": " + st.error_message());
      span_.set_attribute("net.peer.name", peer);
    }
    span_.set_attribute("rpc.grpc.status_code", static_cast<int>(st.error_code()));
  }
  span_.end();
  const log::Logger& logger = m_->logger;
  auto level = st.ok() || st.error_code() == ::grpc::StatusCode::CANCELLED ? log::Level::kInfo : log::Level::kWarn;
  if (!logger.enabled(level)) return;
  if (st.ok()) {
    m_->ok_logger.log(level, ctx_, "grpc call", {{"duration", elapsed}});
    return;
  }
  logger.log(level, ctx_, "grpc call",
             {{"grpc_code", code_name(code)}, {"duration", elapsed}, {"error", st.error_message()}, {"peer", peer}});
}

Status handler_threw(const MethodStats* m, const Context& ctx, const char* what) {
  if (m) m->logger.error(ctx, "grpc handler threw", {{"error", what}});
  return Status(Code::kInternal, "the handler failed");
}

namespace {

// The observation of a call to a generated grpc++ service, driven by grpc++'s interceptor hooks.
class ServerObserver final : public ::grpc::experimental::Interceptor {
 public:
  ServerObserver(::grpc::experimental::ServerRpcInfo* info, ServerState* server)
      : info_(info), stats_(server->method(info->method(), call_type(info->type()))) {}

  void Intercept(::grpc::experimental::InterceptorBatchMethods* b) override {
    using Hook = ::grpc::experimental::InterceptionHookPoints;
    if (b->QueryInterceptionHookPoint(Hook::POST_RECV_INITIAL_METADATA)) begin(*b->GetRecvInitialMetadata());
    // POST_RECV_MESSAGE also fires for the read that finds the end of the stream: no message then.
    if (b->QueryInterceptionHookPoint(Hook::POST_RECV_MESSAGE) && b->GetRecvMessage() != nullptr) obs_.received();
    if (b->QueryInterceptionHookPoint(Hook::PRE_SEND_MESSAGE)) obs_.sent();
    if (b->QueryInterceptionHookPoint(Hook::PRE_SEND_STATUS)) obs_.finish(b->GetSendStatus());
    b->Proceed();
  }

 private:
  void begin(const std::multimap<::grpc::string_ref, ::grpc::string_ref>& md) {
    Status verdict = obs_.begin(&stats_, info_->server_context(), md);
    if (auto* observed = dynamic_cast<ObservedContext*>(info_->server_context())) {
      observed->ctx = obs_.context();
      observed->admission = std::move(verdict);
    }
  }

  ::grpc::experimental::ServerRpcInfo* info_;
  const MethodStats& stats_;
  CallObservation obs_;
};

class ServerObserverFactory final : public ::grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  ServerObserverFactory(ServerState* server, std::unordered_set<const char*> dispatched)
      : server_(server), dispatched_(std::move(dispatched)) {}
  ::grpc::experimental::Interceptor* CreateServerInterceptor(::grpc::experimental::ServerRpcInfo* info) override {
    // Methods of svckit Services observe themselves; grpc++ skips its interception path for calls
    // without interceptors. The method name is the pointer the Service registered.
    if (dispatched_.contains(info->method()) || infrastructure(info->method())) return nullptr;
    return new ServerObserver(info, server_);
  }
  // Health checks and reflection are not the service's traffic: probes every few seconds would fill
  // the call log and the RED metrics.
  static bool infrastructure(std::string_view method) {
    return method.starts_with("/grpc.health.v1.") || method.starts_with("/grpc.reflection.");
  }

 private:
  ServerState* server_;
  std::unordered_set<const char*> dispatched_;
};

}  // namespace

std::unique_ptr<::grpc::experimental::ServerInterceptorFactoryInterface> observer_factory(
    ServerState* server, std::unordered_set<const char*> dispatched) {
  return std::make_unique<ServerObserverFactory>(server, std::move(dispatched));
}

}  // namespace detail

Status admit(const ::grpc::ServerContextBase* call) {
  if (auto* observed = dynamic_cast<const detail::ObservedContext*>(call)) return observed->admission;
  return {};
}

Context context_of(const ::grpc::ServerContextBase* call) {
  if (auto* observed = dynamic_cast<const detail::ObservedContext*>(call); observed && observed->ctx)
    return *observed->ctx;
  return deadline_context(call);
}

}  // namespace svckit::grpc
