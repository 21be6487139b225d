// One code space: svckit Status ↔ grpc::Status, the reason travelling in the message.
#include <grpcpp/support/status.h>

#include <string>

#include "svckit/grpc/grpc.hpp"

namespace svckit::grpc {

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

}  // namespace svckit::grpc
