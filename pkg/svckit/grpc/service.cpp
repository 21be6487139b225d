// A svckit::grpc::Service's methods, checked against the .proto's descriptor and registered with grpc++
// the way generated code registers its own.
#include "svckit/grpc/service.hpp"

#include <google/protobuf/descriptor.h>
#include <grpcpp/impl/rpc_method.h>
#include <grpcpp/impl/rpc_service_method.h>

#include <stdexcept>
#include <string>

namespace svckit::grpc {

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

}  // namespace svckit::grpc
