// The server: grpc++'s builder configured from the grpc: section, svckit Services' methods resolved
// once at start, the observation installed, health, and the graceful shutdown.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/support/server_interceptor.h>

#include <fstream>
#include <mutex>
#include <sstream>
#include <unordered_set>

#include "svckit/grpc/detail/limits.hpp"
#include "svckit/grpc/detail/server_state.hpp"
#include "svckit/grpc/grpc.hpp"
#include "svckit/grpc/service.hpp"
#include "svckit/resilience/shedder.hpp"

namespace svckit::grpc {

using detail::ServerState;

struct Server::Impl {
  ServerSettings settings;
  log::Logger logger;
  metrics::Registry& registry;
  std::vector<::grpc::Service*> services;
  std::vector<Service*> dispatched;  // svckit Services among them
  std::shared_ptr<resilience::Shedder> shedder;
  std::vector<CallCheck> checks;
  std::unique_ptr<ServerState> state;
  std::unique_ptr<::grpc::Server> server;
  int port = 0;
  std::mutex mu;
};

Server::Server(ServerSettings settings, log::Logger logger, metrics::Registry& registry)
    : impl_(new Impl{std::move(settings), std::move(logger), registry, {}, {}, {}, {}, {}, {}, 0, {}}) {}

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

void Server::add_call_check(CallCheck check) {
  impl_->checks.push_back(std::move(check));
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
  // Settings built in code have not been through the config binder's checks.
  auto guards = detail::make_guards(s.limits);
  if (!guards) return guards.error();
  auto shedder = impl_->shedder;
  if (!shedder && s.shed)
    shedder = std::make_shared<resilience::Shedder>(resilience::ShedderSettings{.cpu_threshold = s.shed_cpu_threshold});
  impl_->state = std::make_unique<ServerState>(impl_->registry, impl_->logger, std::move(shedder), std::move(*guards));
  impl_->state->checks = impl_->checks;
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
    interceptors.push_back(detail::observer_factory(impl_->state.get(), std::move(dispatched)));
    b.experimental().SetInterceptorCreators(std::move(interceptors));
  }
  b.SetContextAllocator(std::make_unique<detail::ObservedContextAllocator>());
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
