#pragma once
// Traffic mirroring (docs/gateway.md, "Mirroring"): a sampled share of a route's requests is copied
// to a shadow upstream, fire-and-forget. The copy is sent on the request's loop beside the real call
// and never waits for it or delays it; its answer is read and discarded. Each copy has its own
// deadline, routes bound the copies out at once (over the bound they are dropped and counted), and
// the copy is marked: `X-Mirror: 1`, and its Host is the client's with `-shadow` appended to the host
// name (before any port), as Envoy does. The copy is a child span of the request's trace.
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "svckit/core/context.hpp"
#include "svckit/core/runtime.hpp"
#include "svckit/http/client.hpp"
#include "svckit/metrics/metrics.hpp"
#include "svckit/trace/context.hpp"
#include "table.hpp"

namespace svckit::gateway {

// "api.example.com:8080" → "api.example.com-shadow:8080".
std::string shadow_host(std::string_view host);

// The fields of a copy: the primary's fields with Host shadowed and the marker added.
std::vector<std::pair<std::string, std::string>> mirror_headers(
    const std::vector<std::pair<std::string, std::string>>& primary, std::string_view client_host);

struct MirrorCopy {
  std::shared_ptr<RouteState> state;  // the route's counters (the slot admit() reserved)
  std::string route;                  // metric label
  http::ClientRequest request;        // method, URL, fields and the whole body
  Duration timeout{};
  std::optional<trace::SpanContext> parent;  // the request's span
};

class Mirrors {
 public:
  // outcomes: svckit_gateway_mirror_total{route,outcome}.
  Mirrors(Runtime& rt, http::Client& client, metrics::CounterVec& outcomes);
  // Cancels the copies out and waits for them to end (a few seconds at most).
  ~Mirrors();
  Mirrors(const Mirrors&) = delete;
  Mirrors& operator=(const Mirrors&) = delete;

  // Reserves a slot for a copy on route `r`; false (counted as dropped) when its copies in flight
  // are at mirror_max_in_flight.
  bool admit(const CompiledRoute& r);
  // Counts a copy not made because the body was over mirror_max_body (no slot held).
  void drop_body(const CompiledRoute& r);
  // Gives back a slot admit() reserved for a copy that is not sent after all.
  void release(const CompiledRoute& r);
  // Sends the copy on the calling loop (a slot admitted); returns at once.
  void launch(MirrorCopy copy);

  // Copies out now, all routes.
  std::int64_t in_flight() const noexcept { return live_->load(); }

 private:
  Runtime& rt_;
  http::Client& client_;
  metrics::CounterVec& outcomes_;
  Context stop_ = Context().with_cancel();
  std::shared_ptr<std::atomic<std::int64_t>> live_ = std::make_shared<std::atomic<std::int64_t>>(0);
};

}  // namespace svckit::gateway
