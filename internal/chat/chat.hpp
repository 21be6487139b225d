#pragma once
// The chat service (api/chat/v1/chat.proto): rooms with per-room broadcast over bidirectional streams.
// Each stream has a bounded send queue written one message at a time; a consumer that cannot keep up
// is handled by policy: drop_oldest (default: the oldest queued messages go, and the client gets a
// NOTICE saying how many) or disconnect (the stream ends with RESOURCE_EXHAUSTED). One slow client
// never stalls the room or grows memory without bound.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "chat/v1/chat.pb.h"
#include "svckit/grpc/service.hpp"
#include "svckit/log/logger.hpp"
#include "svckit/metrics/metrics.hpp"

namespace svckit::chat {

struct Options {
  std::vector<std::string> rooms = {"general", "random"};
  std::size_t send_queue = 256;    // messages per stream
  bool disconnect_slow = false;    // false: drop_oldest
  std::size_t max_content = 4096;  // bytes
  std::size_t max_user_id = 64;
  // Where a MESSAGE without a room goes, joining it on the first one: a client written against the
  // bare contract (user_id, content, timestamp; no room, kind or JOIN) chats there. Empty: a room is
  // required.
  std::string default_room = "general";
};

class Hub;

// Served by svckit's own gRPC dispatch (svckit::grpc::Service): observed without grpc++ interceptors,
// grpc.limits and shedding applied before a stream is opened. Each stream is a pair of coroutines on
// `runtime` (a reader and a writer, grpc::Service::stream_task).
class Service final : public grpc::Service {
 public:
  Service(Runtime& runtime, Options options, log::Logger logger,
          metrics::Registry& registry = metrics::Registry::global());
  ~Service() override;
  // Ends every stream with UNAVAILABLE (server stopping) so clients see a clean end.
  void close_all();
  std::size_t streams() const;

 private:
  std::shared_ptr<Hub> hub_;
};

}  // namespace svckit::chat
