// The svckit side of bench/grpc: one echo service (bidi stream and unary, echo.proto) served four ways.
//   echo_server svckit [app flags]   svckit::grpc::Server inside an App serving a svckit::grpc::Service
//                                    (svckit's own dispatch), all observation on (metrics, server span,
//                                    log line per call, deadline Context)
//   echo_server generated [app flags]  the same, serving grpc++'s generated CallbackService, observed
//                                    through grpc++'s interceptor hooks
//   echo_server raw PORT             the same service on a bare grpc++ ServerBuilder: the baseline the
//                                    interceptors' cost is measured against
//   echo_server noop PORT            raw plus one interceptor that does nothing: what grpc++'s
//                                    interceptor machinery costs by itself
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/server_interceptor.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "echo.grpc.pb.h"
#include "svckit/app/app.hpp"
#include "svckit/grpc/grpc.hpp"
#include "svckit/grpc/service.hpp"

namespace {

using svckit::bench::echo::v1::Echo;
using svckit::bench::echo::v1::EchoMessage;

// Reads one message, writes it back, reads the next: what the Go server's handler does.
class EchoStream final : public ::grpc::ServerBidiReactor<EchoMessage, EchoMessage> {
 public:
  EchoStream() { StartRead(&msg_); }
  void OnReadDone(bool ok) override {
    if (!ok) return Finish(::grpc::Status::OK);
    StartWrite(&msg_);
  }
  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(::grpc::Status(::grpc::StatusCode::UNAVAILABLE, "write failed"));
    StartRead(&msg_);
  }
  void OnDone() override { delete this; }

 private:
  EchoMessage msg_;
};

class EchoService final : public Echo::CallbackService {
  ::grpc::ServerBidiReactor<EchoMessage, EchoMessage>* Stream(::grpc::CallbackServerContext*) override {
    return new EchoStream();
  }
  ::grpc::ServerUnaryReactor* Unary(::grpc::CallbackServerContext* ctx, const EchoMessage* in,
                                    EchoMessage* out) override {
    *out = *in;
    auto* r = ctx->DefaultReactor();
    r->Finish(::grpc::Status::OK);
    return r;
  }
};

// The same echo on svckit's dispatch.
class SvckitEcho final : public svckit::grpc::ServerStream<EchoMessage, EchoMessage> {
  void on_message(EchoMessage& m) override { write(m); }
  void on_write_done(bool ok) override {
    if (!ok) return finish(svckit::Status(svckit::Code::kUnavailable, "write failed"));
    read();
  }
};

std::unique_ptr<svckit::grpc::Service> svckit_echo() {
  auto s = std::make_unique<svckit::grpc::Service>("svckit.bench.echo.v1.Echo");
  s->stream<EchoMessage, EchoMessage>("Stream", [](svckit::Context&) { return std::make_unique<SvckitEcho>(); });
  s->unary<EchoMessage, EchoMessage>("Unary", [](svckit::Context&, const EchoMessage& in, EchoMessage& out) {
    out = in;
    return svckit::Status();
  });
  return s;
}

class Noop final : public ::grpc::experimental::Interceptor {
  void Intercept(::grpc::experimental::InterceptorBatchMethods* b) override { b->Proceed(); }
};
class NoopFactory final : public ::grpc::experimental::ServerInterceptorFactoryInterface {
  ::grpc::experimental::Interceptor* CreateServerInterceptor(::grpc::experimental::ServerRpcInfo*) override {
    return new Noop();
  }
};

int run_raw(int port, bool noop) {
  EchoService service;
  ::grpc::ServerBuilder b;
  if (noop) {
    std::vector<std::unique_ptr<::grpc::experimental::ServerInterceptorFactoryInterface>> f;
    f.push_back(std::make_unique<NoopFactory>());
    b.experimental().SetInterceptorCreators(std::move(f));
  }
  int bound = 0;
  b.AddListeningPort("127.0.0.1:" + std::to_string(port), ::grpc::InsecureServerCredentials(), &bound);
  b.RegisterService(&service);
  auto server = b.BuildAndStart();
  if (!server || bound == 0) {
    std::fprintf(stderr, "echo_server raw: cannot listen on %d\n", port);
    return 1;
  }
  std::fprintf(stderr, "echo_server raw: listening on %d\n", bound);
  server->Wait();
  return 0;
}

int run_server_only(int port) {
  EchoService service;
  svckit::grpc::ServerSettings settings;
  settings.host = "127.0.0.1";
  settings.port = port;
  svckit::grpc::Server server(settings, svckit::log::Logger());
  server.add_service(&service);
  if (!server.start().ok()) return 1;
  std::fprintf(stderr, "echo_server server-only: listening on %u\n", server.port());
  pause();
  return 0;
}

int run_svckit(int argc, char** argv, bool generated) {
  svckit::app::App app({.name = "echo-bench", .version = "1.0.0"});
  app.define<svckit::grpc::ServerSettings>("grpc");
  if (auto exit = app.init(argc, argv)) return *exit;
  EchoService plain;
  auto own = svckit_echo();
  auto settings = app.settings<svckit::grpc::ServerSettings>("grpc");
  svckit::grpc::Server server(settings, app.logger());
  if (generated)
    server.add_service(&plain);
  else
    server.add_service(own.get());
  if (auto st = server.start(); !st.ok()) {
    std::fprintf(stderr, "echo_server: %s\n", st.to_string().c_str());
    return 1;
  }
  std::fprintf(stderr, "echo_server %s: listening on %u\n", generated ? "generated" : "svckit", server.port());
  app.on_stop([&]() -> svckit::Task<void> {
    auto stop = [&server] { server.shutdown(); };
    (void)co_await svckit::run_blocking(svckit::Context().with_timeout(std::chrono::seconds(10)), stop);
  });
  return app.run();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && std::strcmp(argv[1], "raw") == 0) return run_raw(std::atoi(argv[2]), false);
  if (argc >= 3 && std::strcmp(argv[1], "server") == 0) return run_server_only(std::atoi(argv[2]));
  if (argc >= 3 && std::strcmp(argv[1], "noop") == 0) return run_raw(std::atoi(argv[2]), true);
  if (argc >= 2 && std::strcmp(argv[1], "svckit") == 0) return run_svckit(argc - 1, argv + 1, false);
  if (argc >= 2 && std::strcmp(argv[1], "generated") == 0) return run_svckit(argc - 1, argv + 1, true);
  std::fprintf(stderr, "usage: echo_server raw|noop PORT | echo_server svckit|generated [app flags]\n");
  return 2;
}
