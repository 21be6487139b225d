#pragma once
// The standard health check as any client sends it, without generated stubs: an empty
// grpc.health.v1.HealthCheckRequest (service "") to Health/Check. A SERVING answer is the two bytes
// 08 01 (field 1, varint 1).
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

namespace svckit::grpc::testing {

inline ::grpc::Status health_check(const std::shared_ptr<::grpc::Channel>& channel, std::string* answer) {
  ::grpc::GenericStub stub(channel);
  ::grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  ::grpc::Slice empty("");
  ::grpc::ByteBuffer request(&empty, 1), response;
  std::promise<::grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", ::grpc::StubOptions(), &request, &response,
                 [&](::grpc::Status st) { done.set_value(std::move(st)); });
  ::grpc::Status st = done.get_future().get();
  std::vector<::grpc::Slice> slices;
  answer->clear();
  if (st.ok() && response.Dump(&slices).ok())
    for (auto& s : slices) answer->append(reinterpret_cast<const char*>(s.begin()), s.size());
  return st;
}

}  // namespace svckit::grpc::testing
