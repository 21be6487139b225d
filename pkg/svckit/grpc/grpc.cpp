#include "svckit/grpc/grpc.hpp"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/support/client_interceptor.h>
#include <grpcpp/support/server_interceptor.h>

#include <fstream>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "svckit/trace/tracer.hpp"

namespace svckit::grpc {

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
  b.field("reflection", &ServerSettings::reflection);
  b.field("tls_cert_file", &ServerSettings::tls_cert_file);
  b.field("tls_key_file", &ServerSettings::tls_key_file);
  b.validate([](const ServerSettings& s) {
    return s.tls_cert_file.empty() == s.tls_key_file.empty()
               ? Status()
               : Status(Code::kInvalidArgument, "tls_cert_file and tls_key_file go together");
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

struct CallRegistry {
  std::mutex mu;
  std::unordered_map<const ::grpc::ServerContextBase*, Context> calls;
};
CallRegistry& calls() {
  static CallRegistry r;
  return r;
}

Context deadline_context(const ::grpc::ServerContextBase* call) {
  Context ctx;
  auto deadline = call->deadline();
  if (deadline != std::chrono::system_clock::time_point::max()) {
    auto left = deadline - std::chrono::system_clock::now();
    ctx = ctx.with_timeout(std::chrono::duration_cast<Duration>(left));
  }
  return ctx;
}

// "/svckit.chat.v1.ChatService/BidirectionalChat" → service, method.
std::pair<std::string, std::string> split_method(const char* full) {
  std::string_view m = full ? full : "";
  if (!m.empty() && m[0] == '/') m.remove_prefix(1);
  auto slash = m.find('/');
  if (slash == std::string_view::npos) return {std::string(m), "unknown"};
  return {std::string(m.substr(0, slash)), std::string(m.substr(slash + 1))};
}

struct ServerMetrics {
  metrics::CounterVec& started;
  metrics::CounterVec& handled;
  metrics::HistogramVec& seconds;
  metrics::GaugeVec& in_flight;
  metrics::CounterVec& received;
  metrics::CounterVec& sent;
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
                           {"grpc_service", "grpc_method", "grpc_type"})) {}
};

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

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// gRPC metadata keys are lower case; propagation formats name some headers in mixed case.
std::string_view md_value(const std::multimap<::grpc::string_ref, ::grpc::string_ref>& md, std::string_view key) {
  std::string k = lower(key);
  auto it = md.find(::grpc::string_ref(k.data(), k.size()));
  if (it == md.end()) return {};
  return std::string_view(it->second.data(), it->second.size());
}

class ServerObserver final : public ::grpc::experimental::Interceptor {
 public:
  ServerObserver(::grpc::experimental::ServerRpcInfo* info, ServerMetrics* m, log::Logger logger)
      : info_(info), m_(m), logger_(std::move(logger)), start_(std::chrono::steady_clock::now()) {
    auto [service, method] = split_method(info->method());
    service_ = std::move(service);
    method_ = std::move(method);
    type_ = call_type(info->type());
    m_->started.with({service_, method_, type_}).inc();
    in_flight_ = m_->in_flight.with({service_, method_});
    in_flight_.inc();
  }
  ~ServerObserver() override {
    if (registered_) {
      std::lock_guard lock(calls().mu);
      calls().calls.erase(info_->server_context());
    }
    if (!finished_) finish(::grpc::Status(::grpc::StatusCode::CANCELLED, "call ended without a status"));
  }

  void Intercept(::grpc::experimental::InterceptorBatchMethods* b) override {
    using Hook = ::grpc::experimental::InterceptionHookPoints;
    if (b->QueryInterceptionHookPoint(Hook::POST_RECV_INITIAL_METADATA)) begin(*b->GetRecvInitialMetadata());
    if (b->QueryInterceptionHookPoint(Hook::POST_RECV_MESSAGE)) m_->received.with({service_, method_, type_}).inc();
    if (b->QueryInterceptionHookPoint(Hook::PRE_SEND_MESSAGE)) m_->sent.with({service_, method_, type_}).inc();
    if (b->QueryInterceptionHookPoint(Hook::PRE_SEND_STATUS)) finish(b->GetSendStatus());
    b->Proceed();
  }

 private:
  void begin(const std::multimap<::grpc::string_ref, ::grpc::string_ref>& md) {
    const ::grpc::ServerContextBase* call = info_->server_context();
    Context ctx = deadline_context(call);
    if (auto tracer = trace::Tracer::global()) {
      auto parent = trace::extract([&](std::string_view k) { return md_value(md, k); }, tracer->propagation());
      span_ = tracer->start_span(service_ + "/" + method_, trace::SpanKind::kServer, parent,
                                 {{"rpc.system", std::string("grpc")},
                                  {"rpc.service", service_},
                                  {"rpc.method", method_},
                                  {"net.peer.name", call->peer()}});
      ctx = trace::with_span(ctx, span_.context());
      if (auto bag = md_value(md, "baggage"); !bag.empty()) ctx = trace::with_baggage(ctx, trace::parse_baggage(bag));
    }
    if (auto rid = md_value(md, "x-request-id"); !rid.empty() && rid.size() <= 128)
      ctx = ctx.with_log_field("request_id", std::string(rid));
    std::lock_guard lock(calls().mu);
    calls().calls[call] = ctx;
    registered_ = true;
    ctx_ = ctx;
  }

  void finish(const ::grpc::Status& st) {
    if (finished_) return;
    finished_ = true;
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::string code(code_name(code_from_grpc(static_cast<int>(st.error_code()))));
    m_->handled.with({service_, method_, type_, code}).inc();
    m_->seconds.with({service_, method_, type_}).observe(seconds);
    in_flight_.dec();
    if (!st.ok()) span_.set_status(trace::StatusCode::kError, code + ": " + st.error_message());
    span_.set_attribute("rpc.grpc.status_code", static_cast<int>(st.error_code()));
    span_.end();
    auto level = st.ok() || st.error_code() == ::grpc::StatusCode::CANCELLED ? log::Level::kInfo : log::Level::kWarn;
    logger_.log(level, ctx_, "grpc call",
                {{"grpc_service", service_},
                 {"grpc_method", method_},
                 {"grpc_code", code},
                 {"duration_ms", seconds * 1000.0},
                 {"error", st.error_message()}});
  }

  ::grpc::experimental::ServerRpcInfo* info_;
  ServerMetrics* m_;
  log::Logger logger_;
  std::chrono::steady_clock::time_point start_;
  std::string service_, method_;
  const char* type_;
  metrics::Gauge in_flight_;
  trace::Span span_;
  Context ctx_;
  bool registered_ = false;
  bool finished_ = false;
};

class ServerObserverFactory final : public ::grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  ServerObserverFactory(metrics::Registry& r, log::Logger logger) : metrics_(r), logger_(std::move(logger)) {}
  ::grpc::experimental::Interceptor* CreateServerInterceptor(::grpc::experimental::ServerRpcInfo* info) override {
    return new ServerObserver(info, &metrics_, logger_);
  }

 private:
  ServerMetrics metrics_;
  log::Logger logger_;
};

// ---- client side ----------------------------------------------------------------------------------------

struct ClientMetrics {
  metrics::CounterVec& handled;
  metrics::HistogramVec& seconds;
  explicit ClientMetrics(metrics::Registry& r)
      : handled(r.counter_vec({.name = "grpc_client_handled_total", .help = "RPCs completed by the client, by code."},
                              {"grpc_service", "grpc_method", "grpc_code"})),
        seconds(r.histogram_vec({.name = "grpc_client_handling_seconds", .help = "Client-side RPC latency."},
                                {"grpc_service", "grpc_method"})) {}
};
ClientMetrics& client_metrics() {
  static ClientMetrics m(metrics::Registry::global());
  return m;
}

class ClientObserver final : public ::grpc::experimental::Interceptor {
 public:
  explicit ClientObserver(::grpc::experimental::ClientRpcInfo* info) : start_(std::chrono::steady_clock::now()) {
    auto [service, method] = split_method(info->method());
    service_ = std::move(service);
    method_ = std::move(method);
  }
  void Intercept(::grpc::experimental::InterceptorBatchMethods* b) override {
    using Hook = ::grpc::experimental::InterceptionHookPoints;
    if (b->QueryInterceptionHookPoint(Hook::POST_RECV_STATUS)) {
      auto* st = b->GetRecvStatus();
      std::string code(code_name(code_from_grpc(static_cast<int>(st->error_code()))));
      client_metrics().handled.with({service_, method_, code}).inc();
      client_metrics()
          .seconds.with({service_, method_})
          .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
    }
    b->Proceed();
  }

 private:
  std::chrono::steady_clock::time_point start_;
  std::string service_, method_;
};

class ClientObserverFactory final : public ::grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  ::grpc::experimental::Interceptor* CreateClientInterceptor(::grpc::experimental::ClientRpcInfo* info) override {
    return new ClientObserver(info);
  }
};

}  // namespace

Context context_of(const ::grpc::ServerContextBase* call) {
  {
    std::lock_guard lock(calls().mu);
    if (auto it = calls().calls.find(call); it != calls().calls.end()) return it->second;
  }
  return deadline_context(call);
}

std::unique_ptr<::grpc::ClientContext> client_context(const Context& ctx, std::chrono::milliseconds fallback) {
  auto c = std::make_unique<::grpc::ClientContext>();
  auto left = ctx.deadline() ? ctx.remaining() : std::chrono::duration_cast<Duration>(fallback);
  c->set_deadline(std::chrono::system_clock::now() + left);
  if (auto tracer = trace::Tracer::global()) {
    if (auto span = trace::span_from(ctx)) {
      trace::inject(
          *span, [&](std::string_view k, std::string_view v) { c->AddMetadata(lower(k), std::string(v)); },
          tracer->propagation());
    }
    if (const auto* bag = trace::baggage_from(ctx); bag && !bag->empty())
      c->AddMetadata("baggage", trace::format_baggage(*bag));
  }
  for (const auto& [k, v] : ctx.all_metadata()) c->AddMetadata(lower(k), std::string(v));
  return c;
}

ChannelPool::ChannelPool(std::string target, ChannelOptions options) : target_(std::move(target)) {
  std::size_t n = std::max<std::size_t>(options.pool_size, 1);
  for (std::size_t i = 0; i < n; ++i) {
    ::grpc::ChannelArguments args;
    // A local subchannel pool per channel: each channel gets its own HTTP/2 connection.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(options.keepalive_time.count()));
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 1);
    args.SetServiceConfigJSON(
        R"({"methodConfig":[{"name":[{}],"retryPolicy":{"maxAttempts":)" +
        std::to_string(std::max(options.max_attempts, 2)) +
        R"(,"initialBackoff":"0.05s","maxBackoff":"1s","backoffMultiplier":2,"retryableStatusCodes":["UNAVAILABLE"]}}]})");
    std::vector<std::unique_ptr<::grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
    if (options.observe) interceptors.push_back(std::make_unique<ClientObserverFactory>());
    channels_.push_back(::grpc::experimental::CreateCustomChannelWithInterceptors(
        target_, ::grpc::InsecureChannelCredentials(), args, std::move(interceptors)));
  }
}

ChannelPool::~ChannelPool() = default;

std::shared_ptr<::grpc::Channel> ChannelPool::get() {
  return channels_[next_.fetch_add(1, std::memory_order_relaxed) % channels_.size()];
}

// ---- server ---------------------------------------------------------------------------------------

struct Server::Impl {
  ServerSettings settings;
  log::Logger logger;
  metrics::Registry& registry;
  std::vector<::grpc::Service*> services;
  std::unique_ptr<::grpc::Server> server;
  int port = 0;
  std::mutex mu;
};

Server::Server(ServerSettings settings, log::Logger logger, metrics::Registry& registry)
    : impl_(new Impl{std::move(settings), std::move(logger), registry, {}, {}, 0, {}}) {}

Server::~Server() {
  shutdown();
}

void Server::add_service(::grpc::Service* service) {
  impl_->services.push_back(service);
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
  std::vector<std::unique_ptr<::grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<ServerObserverFactory>(impl_->registry, impl_->logger));
  b.experimental().SetInterceptorCreators(std::move(interceptors));
  impl_->server = b.BuildAndStart();
  if (!impl_->server || impl_->port == 0)
    return Status(Code::kUnavailable, "gRPC server could not listen on " + s.host + ":" + std::to_string(s.port));
  impl_->logger.info("grpc server listening",
                     {{"address", s.host + ":" + std::to_string(impl_->port)}, {"services", impl_->services.size()}});
  return {};
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
