#pragma once
// Internal: one request through the gateway, as proxy.cpp, mirror.cpp and canary.cpp see it.
#include <memory>
#include <string>

#include "../gateway.hpp"
#include "headers.hpp"
#include "svckit/http/stream.hpp"

namespace svckit::gateway {

struct Gateway::Call {
  Call(http::Request& q, http::Response& s) : req(q), res(s), stream(*q.stream()), wire(detail::take_buffer()) {}
  ~Call() { detail::give_back_buffer(std::move(wire)); }
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;
  http::Request& req;
  http::Response& res;
  http::Stream& stream;
  std::shared_ptr<const RouteTable> table;  // the table this request started with, whatever reloads come
  RouteMatch match;
  const CompiledRoute* route = nullptr;
  Clock::time_point start = Clock::now();
  Clock::time_point try_start;
  Context ctx;  // the request's, narrowed by the route's timeout
  int attempt = 0;
  int tries = 0;
  bool may_retry = false;
  std::string upstream;  // host:port of the last try
  std::string avoid;     // the instance the last try failed on
  bool head_sent = false, discard = false, body_started = false, upgrade = false;
  // The body's first bytes, read before any upstream is contacted: a body that ends within them is
  // verified whole (framing and limit) before anything is sent, and can be sent again on a retry.
  std::string prefetched;
  bool prefetched_all = false;
  std::size_t replay = 0;  // how much of `prefetched` this try has sent
  Duration retry_wait{0};
  Status source_error;
  std::uint64_t bytes_in = 0, bytes_out = 0;
  int status = 0;
  double upstream_ms = 0;
  std::string wire;  // the fields sent upstream, in wire form (http::ClientRequest::wire_headers)
  detail::Headers cors;
  std::shared_ptr<const Identity> identity;  // auth: jwt routes, once the token is verified
  std::string error;
  // Mirroring (mirror.cpp): a copy is made of this request; its body is still being gathered (the
  // copy is sent when the client's body ends within mirror_max_body).
  bool mirror = false, mirror_gathering = false;
  http::ClientRequest mirror_copy;
  // Canary (canary.cpp): the side this request goes to, and both sides' URL bases.
  enum class Side { kNone, kStable, kCanary } side = Side::kNone;
  std::string stable_base, canary_base;
};

}  // namespace svckit::gateway
