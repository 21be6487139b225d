#pragma once
// The resilience pieces as HTTP middleware (the adapter between svckit::resilience and svckit::http, so
// that neither depends on the other), with their metrics: svckit_resilience_rejected_total{kind},
// svckit_resilience_shed_total. Rejections answer in svckit's error format: 429 with Retry-After for
// limits, 503 with Retry-After for shedding.
//
// ```cpp
//   Task<void> report(http::Request& req, http::Response& res);
//   auto shedder = std::make_shared<resilience::Shedder>();
//   auto bulkhead = std::make_shared<resilience::Bulkhead>(4);
//   std::vector<resilience::RouteRule> rules = {{.method = "GET", .route = "/v1/users/:id", .rate = 100}};
//   auto api = router.group("/v1");
//   router.use(resilience::middleware::shed(shedder));                 // outermost: cheapest answer
//   api.use(resilience::middleware::rate_limit(std::make_shared<resilience::TokenBucket>(500, 1000)));
//   api.get("/report", report).use(resilience::middleware::concurrency_limit(bulkhead));
//   router.use(resilience::route_limits(rules));                      // rules: resilience/rules.hpp
// ```
#include <memory>
#include <vector>

#include "svckit/http/router.hpp"
#include "svckit/resilience/limiter.hpp"
#include "svckit/resilience/queue_shedder.hpp"
#include "svckit/resilience/rules.hpp"
#include "svckit/resilience/shedder.hpp"

namespace svckit::resilience {

namespace middleware {
http::Middleware rate_limit(std::shared_ptr<Limiter> limiter);
// Waits its turn (within the request's deadline) instead of refusing while under max_queueing.
http::Middleware pace(std::shared_ptr<Pacer> pacer);
http::Middleware concurrency_limit(std::shared_ptr<Bulkhead> bulkhead);
http::Middleware shed(std::shared_ptr<Shedder> shedder);
// Refuses with the probability the shedder holds for the request's event loop (queue_shedder.hpp);
// counted as svckit_resilience_rejected_total{kind="queue_delay"}.
http::Middleware shed_queue(std::shared_ptr<QueueShedder> shedder);
}  // namespace middleware

// One middleware for all rules: it finds the request's rule by method and matched route template.
http::Middleware route_limits(const std::vector<RouteRule>& rules);

}  // namespace svckit::resilience
