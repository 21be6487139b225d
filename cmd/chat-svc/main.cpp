// chat-svc: the platform's gRPC chat (api/chat/v1/chat.proto). gRPC on grpc.port (9090 by default)
// with health (grpc.health.v1, following readiness) and reflection; the app runtime's admin port for
// metrics, health and debug pages; on SIGTERM every stream ends with UNAVAILABLE and in-flight calls
// get grpc.shutdown_grace.
#include "chat.hpp"
#include "svckit/app/app.hpp"
#include "svckit/grpc/grpc.hpp"

namespace {

struct ChatSettings {
  std::vector<std::string> rooms = {"general", "random"};
  int send_queue = 256;
  std::string slow_consumer = "drop_oldest";
  svckit::config::ByteSize max_content = svckit::config::ByteSize(4096);
  static void describe(svckit::config::Binder<ChatSettings>& b) {
    b.field("rooms", &ChatSettings::rooms)
        .check([](const std::vector<std::string>& v) { return !v.empty(); }, "must name at least one room");
    b.field("send_queue", &ChatSettings::send_queue).range(1, 1000000).doc("messages queued per stream");
    b.field("slow_consumer", &ChatSettings::slow_consumer).one_of({"drop_oldest", "disconnect"});
    b.field("max_content", &ChatSettings::max_content)
        .range(svckit::config::ByteSize(1), svckit::config::ByteSize(1 << 20));
  }
};

svckit::Task<void> follow_readiness(svckit::app::App& app, svckit::grpc::Server& server) {
  for (;;) {
    auto report = co_await app.readiness().check(app.runtime().shutdown_context(), std::chrono::seconds(2));
    server.set_serving(report.ready);
    svckit::Status slept = co_await svckit::sleep_for(app.runtime().shutdown_context(), std::chrono::milliseconds(250));
    if (!slept.ok()) co_return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  svckit::app::App app({.name = "chat-svc", .version = "1.0.0"});
  app.define<svckit::grpc::ServerSettings>("grpc");
  app.define<ChatSettings>("chat");
  if (auto exit = app.init(argc, argv)) return *exit;
  auto s = app.settings<ChatSettings>("chat");
  auto grpc_settings = app.settings<svckit::grpc::ServerSettings>("grpc");
  svckit::chat::Service chat({.rooms = s.rooms,
                              .send_queue = static_cast<std::size_t>(s.send_queue),
                              .disconnect_slow = s.slow_consumer == "disconnect",
                              .max_content = s.max_content.bytes},
                             app.logger());
  svckit::grpc::Server server(grpc_settings, app.logger());
  server.add_service(&chat);
  // With resilience.shed on, the gRPC port sheds with the HTTP side's shedder: one view of the load.
  if (app.shedder()) server.set_shedder(app.shedder());
  if (auto st = server.start(); !st.ok()) {
    std::fprintf(stderr, "chat-svc: cannot start: %s\n", st.to_string().c_str());
    return 1;
  }
  std::fprintf(stderr,
               "chat-svc: grpc %s:%u (svckit.chat.v1.ChatService/BidirectionalChat, grpc.health.v1, reflection)\n",
               grpc_settings.host == "0.0.0.0" ? "127.0.0.1" : grpc_settings.host.c_str(), server.port());
  app.runtime().spawn(follow_readiness(app, server));
  app.on_stop([&]() -> svckit::Task<void> {
    server.set_serving(false);
    chat.close_all();
    auto stop = [&server] { server.shutdown(); };  // blocks until calls end: off the loops
    svckit::Context ctx = svckit::Context().with_timeout(std::chrono::seconds(30));
    (void)co_await svckit::run_blocking(ctx, stop);
  });
  return app.run();
}
