#include "svckit/grpc/grpc.hpp"

#include <google/protobuf/descriptor.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/support/client_interceptor.h>
#include <grpcpp/support/server_interceptor.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "svckit/grpc/detail/methods.hpp"
#include "svckit/grpc/service.hpp"
#include "svckit/resilience/limiter.hpp"
#include "svckit/resilience/rules.hpp"
#include "svckit/resilience/shedder.hpp"
#include "svckit/trace/tracer.hpp"

namespace svckit::grpc {

using detail::MethodTable;
using detail::split_method;

using std::chrono::milliseconds;

void ServerSettings::describe(config::Binder<ServerSettings>& b) {
  b.field("host", &ServerSettings::host).non_empty();
  b.field("port", &ServerSettings::port).range(0, 65535);
  b.field("max_concurrent_streams", &ServerSettings::max_concurrent_streams).range(1, 100000);
  b.field("initial_stream_window", &ServerSettings::initial_stream_window)
      .range(config::ByteSize(1 << 10), config::ByteSize(1 << 30));
  b.field("initial_connection_window", &ServerSettings::initial_connection_window)
      .range(config::ByteSize(64 << 10), config::ByteSize(1 << 30));
  b.field("max_receive_message", &ServerSettings::max_receive_message)
      .range(config::ByteSize(1 << 10), config::ByteSize(1 << 30));
  b.field("max_send_message", &ServerSettings::max_send_message)
      .range(config::ByteSize(1 << 10), config::ByteSize(1 << 30));
  b.field("keepalive_time", &ServerSettings::keepalive_time).range(milliseconds(1000), milliseconds(86400000));
  b.field("keepalive_timeout", &ServerSettings::keepalive_timeout).range(milliseconds(100), milliseconds(3600000));
  b.field("shutdown_grace", &ServerSettings::shutdown_grace).range(milliseconds(0), milliseconds(600000));
  b.field("share_port", &ServerSettings::share_port)
      .doc("let other processes listen on the same port (SO_REUSEPORT); off: a port in use fails start-up");
  b.field("reflection", &ServerSettings::reflection);
  b.field("limits", &ServerSettings::limits)
      .doc("per method: \"/package.Service/Method rate=N burst=N max_in_flight=N\" (RESOURCE_EXHAUSTED)");
  b.field("shed", &ServerSettings::shed)
      .doc("refuse calls with UNAVAILABLE when CPU-bound and over the proven concurrency");
  b.field("shed_cpu_threshold", &ServerSettings::shed_cpu_threshold).range(0.1, 1.0);
  b.field("tls_cert_file", &ServerSettings::tls_cert_file);
  b.field("tls_key_file", &ServerSettings::tls_key_file);
  b.validate([](const ServerSettings& s) -> Status {
    if (s.tls_cert_file.empty() != s.tls_key_file.empty())
      return Status(Code::kInvalidArgument, "tls_cert_file and tls_key_file go together");
    for (const auto& rule : s.limits)
      if (auto r = parse_limit_rule(rule); !r) return r.error();
    return {};
  });
}

::grpc::Status to_grpc(const Status& st) {
  if (st.ok()) return ::grpc::Status::OK;
  std::string message(st.message());
  if (!st.reason().empty()) message = std::string(st.reason()) + ": " + message;
  return ::grpc::Status(static_cast<::grpc::StatusCode>(st.to_grpc()), message);
}

Status from_grpc(const ::grpc::Status& st) {
  if (st.ok()) return {};
  return Status(code_from_grpc(static_cast<int>(st.error_code())), st.error_message());
}

// ---- per-call Contexts ------------------------------------------------------------------------------

namespace {

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

// A method's limits from grpc.limits: a token bucket and/or a bulkhead.
struct MethodLimit {
  std::unique_ptr<resilience::TokenBucket> bucket;
  std::unique_ptr<resilience::Bulkhead> bulkhead;
};
using Limits = std::unordered_map<std::string, MethodLimit>;  // by "/package.Service/Method"

struct ServerMetrics {
  metrics::CounterVec& started;
  metrics::CounterVec& handled;
  metrics::HistogramVec& seconds;
  metrics::GaugeVec& in_flight;
  metrics::CounterVec& received;
  metrics::CounterVec& sent;
  metrics::CounterVec& limited;
  metrics::CounterVec& shed;
  explicit ServerMetrics(metrics::Registry& r)
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
};

}  // namespace

namespace detail {

// What one Server shares with every call it observes.
struct ServerState {
  ServerMetrics metrics;
  log::Logger call_logger;  // the server's, without caller: it would name this file on every call line
  std::shared_ptr<resilience::Shedder> shedder;
  Limits limits;
  ServerState(metrics::Registry& r, const log::Logger& l, std::shared_ptr<resilience::Shedder> s, Limits lim)
      : metrics(r), call_logger(l.without_caller()), shedder(std::move(s)), limits(std::move(lim)) {}
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
  MethodLimit* limit;
  ServerState* server;
  log::Logger logger;     // the call logger, with grpc_service and grpc_method encoded once
  log::Logger ok_logger;  // and with grpc_code OK too: a successful call's line encodes only its duration
};

const MethodStats& ServerState::method(const char* full, const char* type) {
  return methods_.get(full, [&](std::string_view name, std::string service, std::string method) {
    auto lit = limits.find(std::string(name));
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
                       lit != limits.end() ? &lit->second : nullptr,
                       this,
                       std::move(logger),
                       std::move(ok_logger)};
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
  if (verdict.ok() && m->limit) {
    if (auto& bucket = m->limit->bucket) verdict = bucket->try_acquire();
    if (verdict.ok() && m->limit->bulkhead) {
      if (auto permit = m->limit->bulkhead->try_acquire())
        permit_ = std::move(*permit);
      else
        verdict = permit.error();
    }
    if (!verdict.ok()) m->limited.inc();
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

}  // namespace detail

namespace {

using detail::CallObservation;
using detail::MethodStats;
using detail::ServerState;

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

Status admit(const ::grpc::ServerContextBase* call) {
  if (auto* observed = dynamic_cast<const ObservedContext*>(call)) return observed->admission;
  return {};
}

Result<LimitRule> parse_limit_rule(std::string_view text) {
  // A gRPC call is an HTTP/2 POST to /package.Service/Method: the HTTP route rule's grammar fits.
  auto r = resilience::parse_route_rule("POST " + std::string(text));
  if (!r)
    return make_error(Code::kInvalidArgument, "grpc limit '" + std::string(text) +
                                                  "': expected \"/package.Service/Method key=value...\" "
                                                  "with keys rate, burst, max_in_flight");
  if (std::count(r->route.begin(), r->route.end(), '/') != 2)
    return make_error(Code::kInvalidArgument,
                      "grpc limit '" + std::string(text) + "': the method is /package.Service/Method");
  return LimitRule{r->route, r->rate, r->burst, r->max_in_flight};
}

Context context_of(const ::grpc::ServerContextBase* call) {
  if (auto* observed = dynamic_cast<const ObservedContext*>(call); observed && observed->ctx) return *observed->ctx;
  return deadline_context(call);
}

// ---- svckit Services ------------------------------------------------------------------------------

Service::Service(std::string full_name) : name_(std::move(full_name)) {}

Service::~Service() = default;

detail::MethodSlot* Service::add_method(std::string_view method, bool streaming,
                                        const google::protobuf::Descriptor* req,
                                        const google::protobuf::Descriptor* resp) {
  auto fail = [&](const std::string& why) {
    throw std::invalid_argument("grpc service " + name_ + ", method " + std::string(method) + ": " + why);
  };
  const auto* service = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name_);
  if (!service) fail("no such service in the linked .proto files");
  const auto* m = service->FindMethodByName(std::string(method));
  if (!m) fail("no such method in " + service->file()->name());
  if (m->input_type() != req) fail("the request type is " + m->input_type()->full_name());
  if (m->output_type() != resp) fail("the response type is " + m->output_type()->full_name());
  bool client_streams = m->client_streaming(), server_streams = m->server_streaming();
  if (streaming != (client_streams || server_streams))
    fail(streaming ? "the method is unary: register it with unary()" : "the method streams: register it with stream()");
  // Built piecewise: "literal" + std::string&& trips GCC 12's -Wrestrict false positive (PR 105651).
  std::string full_name = "/";
  full_name.append(name_).append("/").append(method);
  for (const auto& slot : slots_)
    if (slot.full_name == full_name) fail("registered twice");
  auto& slot = slots_.emplace_back();
  slot.full_name = std::move(full_name);
  slot.index = static_cast<int>(slots_.size() - 1);
  slot.kind = !streaming                         ? "unary"
              : client_streams && server_streams ? "bidi_stream"
              : client_streams                   ? "client_stream"
                                                 : "server_stream";
  // Every streaming kind is served as a bidirectional stream (the server reads the one request of a
  // server-streaming call itself): one handler shape for all three, and the wire is the same.
  AddMethod(new ::grpc::internal::RpcServiceMethod(
      slot.full_name.c_str(),
      streaming ? ::grpc::internal::RpcMethod::BIDI_STREAMING : ::grpc::internal::RpcMethod::NORMAL_RPC, nullptr));
  return &slot;
}

// ---- server ---------------------------------------------------------------------------------------

struct Server::Impl {
  ServerSettings settings;
  log::Logger logger;
  metrics::Registry& registry;
  std::vector<::grpc::Service*> services;
  std::vector<Service*> dispatched;  // svckit Services among them
  std::shared_ptr<resilience::Shedder> shedder;
  std::unique_ptr<ServerState> state;
  std::unique_ptr<::grpc::Server> server;
  int port = 0;
  std::mutex mu;
};

Server::Server(ServerSettings settings, log::Logger logger, metrics::Registry& registry)
    : impl_(new Impl{std::move(settings), std::move(logger), registry, {}, {}, {}, {}, {}, 0, {}}) {}

Server::~Server() {
  shutdown();
}

void Server::add_service(::grpc::Service* service) {
  impl_->services.push_back(service);
  if (auto* own = dynamic_cast<Service*>(service)) impl_->dispatched.push_back(own);
}

void Server::set_shedder(std::shared_ptr<resilience::Shedder> shedder) {
  impl_->shedder = std::move(shedder);
}

namespace {
Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Code::kInvalidArgument, "cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

Status Server::start() {
  auto& s = impl_->settings;
  ::grpc::EnableDefaultHealthCheckService(true);
  if (s.reflection) ::grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  ::grpc::ServerBuilder b;
  std::shared_ptr<::grpc::ServerCredentials> creds = ::grpc::InsecureServerCredentials();
  if (!s.tls_cert_file.empty()) {
    auto cert = read_file(s.tls_cert_file);
    auto key = read_file(s.tls_key_file);
    if (!cert) return cert.error();
    if (!key) return key.error();
    ::grpc::SslServerCredentialsOptions o;
    o.pem_key_cert_pairs.push_back({*key, *cert});
    creds = ::grpc::SslServerCredentials(o);
  }
  b.AddListeningPort(s.host + ":" + std::to_string(s.port), creds, &impl_->port);
  // grpc++ listens with SO_REUSEPORT by default: a second copy of the service would share the port.
  b.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, s.share_port ? 1 : 0);
  b.SetMaxReceiveMessageSize(static_cast<int>(s.max_receive_message.bytes));
  b.SetMaxSendMessageSize(static_cast<int>(s.max_send_message.bytes));
  b.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, s.max_concurrent_streams);
  // The stream window: gRPC's lookahead (initial window) bytes; BDP probing stays on and grows
  // windows on fast links, as gRPC-Go does.
  b.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, static_cast<int>(s.initial_stream_window.bytes));
  b.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(s.keepalive_time.count()));
  b.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(s.keepalive_timeout.count()));
  b.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  for (auto* svc : impl_->services) b.RegisterService(svc);
  Limits limits;
  for (const auto& text : s.limits) {
    auto rule = parse_limit_rule(text);
    if (!rule) return rule.error();
    MethodLimit& l = limits[rule->method];
    if (rule->rate > 0) l.bucket = std::make_unique<resilience::TokenBucket>(rule->rate, rule->burst);
    if (rule->max_in_flight > 0) l.bulkhead = std::make_unique<resilience::Bulkhead>(rule->max_in_flight);
  }
  auto shedder = impl_->shedder;
  if (!shedder && s.shed)
    shedder = std::make_shared<resilience::Shedder>(resilience::ShedderSettings{.cpu_threshold = s.shed_cpu_threshold});
  impl_->state = std::make_unique<ServerState>(impl_->registry, impl_->logger, std::move(shedder), std::move(limits));
  // svckit Services resolve their methods' metric handles and limits now, not per call.
  std::unordered_set<const char*> dispatched;
  for (Service* svc : impl_->dispatched) {
    for (auto& slot : svc->slots_) {
      slot.stats = &impl_->state->method(slot.full_name.c_str(), slot.kind);
      dispatched.insert(slot.full_name.c_str());
    }
  }
  // Generated services are observed through grpc++'s interceptor hooks. A server without any pays
  // nothing for them: with a factory installed, grpc++ builds interceptor state for every call.
  if (impl_->services.size() > impl_->dispatched.size()) {
    std::vector<std::unique_ptr<::grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
    interceptors.push_back(std::make_unique<ServerObserverFactory>(impl_->state.get(), std::move(dispatched)));
    b.experimental().SetInterceptorCreators(std::move(interceptors));
  }
  b.SetContextAllocator(std::make_unique<ObservedContextAllocator>());
  impl_->server = b.BuildAndStart();
  if (!impl_->server || impl_->port == 0)
    return Status(Code::kUnavailable, "gRPC server could not listen on " + s.host + ":" + std::to_string(s.port) +
                                          " (in use by another process? share_port lets processes share it)");
  impl_->logger.info("grpc server listening",
                     {{"address", s.host + ":" + std::to_string(impl_->port)}, {"services", impl_->services.size()}});
  return {};
}

const std::string& Server::host() const noexcept {
  return impl_->settings.host;
}

std::uint16_t Server::port() const noexcept {
  return static_cast<std::uint16_t>(impl_->port);
}

void Server::set_serving(bool serving) {
  std::lock_guard lock(impl_->mu);
  if (!impl_->server) return;
  if (auto* health = impl_->server->GetHealthCheckService()) health->SetServingStatus(serving);
}

void Server::shutdown() {
  std::unique_ptr<::grpc::Server> server;
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->server) return;
    if (auto* health = impl_->server->GetHealthCheckService()) health->SetServingStatus(false);
    server = std::move(impl_->server);
  }
  server->Shutdown(std::chrono::system_clock::now() + impl_->settings.shutdown_grace);
  server->Wait();
  impl_->logger.info("grpc server stopped");
}

}  // namespace svckit::grpc
