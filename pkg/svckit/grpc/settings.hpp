#pragma once
// The `grpc:` config section: where the server listens, its HTTP/2 windows and message sizes,
// keepalive, TLS, and the admission of calls (limits per method, load shedding).
//
//   grpc:
//     port: 9090
//     limits:
//       - method: /svckit.chat.v1.ChatService/BidirectionalChat
//         rate: 100          # new calls per second (token bucket)
//         burst: 200
//         max_in_flight: 2000
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "svckit/config/binder.hpp"

namespace svckit::grpc {

// One method's limits (an item of grpc.limits). A call over them is refused with RESOURCE_EXHAUSTED
// (reason RATE_LIMITED or CONCURRENCY_LIMITED) before a svckit::grpc::Service handler runs, or by the
// admit() check of a generated service's handler (grpc++ interceptors cannot end a call before its
// handler runs); grpc_server_limited_total counts refusals. Set rate, max_in_flight or both.
struct MethodLimit {
  std::string method;             // "/package.Service/Method"
  double rate = 0;                // calls admitted per second; 0: no rate limit
  double burst = 0;               // calls admitted at once after a quiet spell; 0: the rate (at least 1)
  std::size_t max_in_flight = 0;  // calls served at once; 0: no concurrency limit
  static void describe(config::Binder<MethodLimit>& b);
};

// Defaults: 64 KiB stream window, 1 MiB connection window, 100 concurrent streams.
struct ServerSettings {
  std::string host = "0.0.0.0";
  int port = 9090;  // 0: a free port
  int max_concurrent_streams = 100;
  config::ByteSize initial_stream_window = config::ByteSize(64 << 10);
  config::ByteSize initial_connection_window = config::ByteSize(1 << 20);
  config::ByteSize max_receive_message = config::ByteSize(4 << 20);
  config::ByteSize max_send_message = config::ByteSize(4 << 20);
  std::chrono::milliseconds keepalive_time{60000};
  std::chrono::milliseconds keepalive_timeout{20000};
  std::chrono::milliseconds shutdown_grace{5000};  // in-flight calls get this long at stop
  bool share_port = false;                         // let other processes listen on the port too (SO_REUSEPORT)
  bool reflection = true;
  std::vector<MethodLimit> limits;
  // Load shedding for every method (go-zero's CPU-based shedder, as the HTTP side's
  // resilience.shed): when CPU use is over the threshold and more calls are in flight than the
  // recent pass rate and fastest response time justify, calls are refused (as limits are) with
  // UNAVAILABLE (OVERLOADED) and grpc_server_shed_total counts them.
  bool shed = false;
  double shed_cpu_threshold = 0.9;
  std::string tls_cert_file;  // both set: TLS; empty: plaintext
  std::string tls_key_file;
  static void describe(config::Binder<ServerSettings>& b);
};

}  // namespace svckit::grpc
