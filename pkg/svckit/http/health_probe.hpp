#pragma once
// The probe of svckit's active health checks (discovery/health_check.hpp): an HTTP GET of
// <instance.metadata["admin"]><path>, healthy on a 2xx; an instance without an admin URL is probed
// by a TCP connect to its first endpoint. Probes are bounded by the checker's timeout, and the
// client they use should be unobserved (ClientOptions::observe = false): probes are not traffic.
//
// ```cpp
//   std::shared_ptr<discovery::Discovery> checked(Runtime& rt, std::shared_ptr<discovery::Discovery> registry) {
//     auto probes = std::make_shared<http::Client>(rt, http::ClientOptions{.observe = false});
//     return discovery::HealthChecker::wrap(rt, std::move(registry), {}, http::health_probe(probes, "/readyz"));
//   }
// ```
#include <memory>
#include <string>

#include "svckit/discovery/health_check.hpp"
#include "svckit/http/client.hpp"

namespace svckit::http {

discovery::Probe health_probe(std::shared_ptr<Client> client, std::string path = "/readyz");

// OK once a TCP connection to host:port is established (and closed again) within ctx's deadline;
// UNAVAILABLE naming the error otherwise. Runs on the calling loop.
Task<Status> tcp_probe(const Context& ctx, std::string host, std::uint16_t port);

}  // namespace svckit::http
