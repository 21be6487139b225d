// chat-svc: the platform's gRPC chat (api/chat/v1/chat.proto). gRPC on grpc.port (9090 by default)
// with health (grpc.health.v1, following readiness) and reflection, no HTTP traffic port; the app
// runtime's admin port for metrics, health and debug pages; on SIGTERM every stream ends with UNAVAILABLE and in-flight
// calls get grpc.shutdown_grace.
#include <algorithm>

#include "chat.hpp"
#include "svckit/app/app.hpp"
#include "svckit/auth/settings.hpp"
#include "svckit/auth_grpc/call_check.hpp"
#include "svckit/auth_http/jwks_client.hpp"
#include "svckit/grpc/grpc.hpp"

namespace {

struct ChatSettings {
  std::vector<std::string> rooms = {"general", "random"};
  int send_queue = 256;
  std::string slow_consumer = "drop_oldest";
  svckit::config::ByteSize max_content = svckit::config::ByteSize(4096);
  std::string default_room = "general";
  bool require_token = false;
  static void describe(svckit::config::Binder<ChatSettings>& b) {
    b.field("rooms", &ChatSettings::rooms)
        .check([](const std::vector<std::string>& v) { return !v.empty(); }, "must name at least one room");
    b.field("send_queue", &ChatSettings::send_queue).range(1, 1000000).doc("messages queued per stream");
    b.field("slow_consumer", &ChatSettings::slow_consumer).one_of({"drop_oldest", "disconnect"});
    b.field("max_content", &ChatSettings::max_content)
        .range(svckit::config::ByteSize(1), svckit::config::ByteSize(1 << 20));
    b.field("default_room", &ChatSettings::default_room)
        .doc(
            "where a message without a room goes (joined on the first one): clients of the bare contract "
            "(user_id, content, timestamp) chat there; empty: a room is required");
    b.field("require_token", &ChatSettings::require_token)
        .doc("refuse streams without a bearer token (the auth section must name the identity service's keys)");
    b.validate([](const ChatSettings& c) -> svckit::Status {
      if (!c.default_room.empty() && std::find(c.rooms.begin(), c.rooms.end(), c.default_room) == c.rooms.end())
        return svckit::Status(svckit::Code::kInvalidArgument,
                              "default_room: \"" + c.default_room + "\" is not in rooms");
      return {};
    });
  }
};

}  // namespace

int main(int argc, char** argv) {
  svckit::app::App app({.name = "chat-svc", .version = "1.0.0", .http = false});
  app.define<svckit::grpc::ServerSettings>("grpc");
  app.define<ChatSettings>("chat");
  app.define<svckit::auth::VerifierSettings>("auth");
  if (auto exit = app.init(argc, argv)) return *exit;
  auto s = app.settings<ChatSettings>("chat");
  auto auth = app.settings<svckit::auth::VerifierSettings>("auth");
  auto grpc_settings = app.settings<svckit::grpc::ServerSettings>("grpc");
  svckit::chat::Service chat(app.runtime(),
                             {.rooms = s.rooms,
                              .send_queue = static_cast<std::size_t>(s.send_queue),
                              .disconnect_slow = s.slow_consumer == "disconnect",
                              .max_content = s.max_content.bytes,
                              .default_room = s.default_room},
                             app.logger());
  svckit::grpc::Server server(grpc_settings, app.logger());
  server.add_service(&chat);
  // With the identity service's keys (auth:), a stream that carries a bearer token is verified and
  // its user is the token's subject; chat.require_token refuses streams without one.
  if (auth.configured()) {
    if (!auth.jwks_file.empty()) auth.jwks_file = app.config().resolve(auth.jwks_file);
    auto verifier = svckit::auth::make_verifier(app.runtime(), auth, app.logger(), app.discovery());
    if (!verifier) {
      std::fprintf(stderr, "chat-svc: refusing to start: auth: %s\n", verifier.error().to_string().c_str());
      return 2;
    }
    server.add_call_check(svckit::auth::grpc_check(
        *verifier, {.public_methods = {"/grpc.health.v1.Health/", "/grpc.reflection.v1alpha.ServerReflection/"},
                    .optional = !s.require_token}));
  } else if (s.require_token) {
    std::fprintf(stderr, "chat-svc: refusing to start: chat.require_token needs auth.jwks_url or auth.jwks_file\n");
    return 2;
  }
  // The App starts it, publishes readiness in grpc.health.v1, sheds with the HTTP side's shedder
  // (resilience.shed: one view of the load) and shuts it down after the hook below ended the streams.
  app.serve(server);
  app.on_stop([&]() -> svckit::Task<void> {
    chat.close_all();
    co_return;
  });
  return app.run();
}
