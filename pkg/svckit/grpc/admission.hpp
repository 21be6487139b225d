#pragma once
// One-line admission checks for callback handlers of methods with grpc.limits:
//
// ```cpp
//   #include "chat/v1/chat.grpc.pb.h"
//   using svckit::chat::v1::ChatMessage;
//   using Reactor = ::grpc::ServerBidiReactor<ChatMessage, ChatMessage>;
//   Reactor* chat_reactor(::grpc::CallbackServerContext* call);
//
//   class Chat final : public svckit::chat::v1::ChatService::CallbackService {
//     Reactor* BidirectionalChat(::grpc::CallbackServerContext* call) override {
//       if (auto st = svckit::grpc::admit(call); !st.ok())
//         return svckit::grpc::refused_stream<ChatMessage, ChatMessage>(st);
//       return chat_reactor(call);
//     }
//   };
// ```
// A unary handler starts with `if (auto* refused = svckit::grpc::refuse_if_limited(call)) return refused;`.
// The client sees RESOURCE_EXHAUSTED with the reason (RATE_LIMITED, CONCURRENCY_LIMITED) in the message.
#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include "svckit/grpc/grpc.hpp"

namespace svckit::grpc {

inline ::grpc::ServerUnaryReactor* refuse_if_limited(::grpc::CallbackServerContext* call) {
  Status st = admit(call);
  if (st.ok()) return nullptr;
  auto* reactor = call->DefaultReactor();
  reactor->Finish(to_grpc(st));
  return reactor;
}

// A reactor that ends the stream at once with `why`.
template <class Request, class Response>
::grpc::ServerBidiReactor<Request, Response>* refused_stream(const Status& why) {
  class Refused final : public ::grpc::ServerBidiReactor<Request, Response> {
   public:
    explicit Refused(const Status& why) { this->Finish(to_grpc(why)); }
    void OnDone() override { delete this; }
  };
  return new Refused(why);
}

}  // namespace svckit::grpc
