#pragma once
// Internal: the gateway's metric families (docs/gateway.md lists them). Labels are route names from
// the routes file (or "unmatched"), never request paths.
#include "../gateway.hpp"
#include "svckit/metrics/metrics.hpp"

namespace svckit::gateway {

struct Gateway::Metrics {
  explicit Metrics(metrics::Registry& r)
      : requests(r.counter_vec({.name = "svckit_gateway_requests_total",
                                .help = "Requests through the gateway by route and the status answered."},
                               {"route", "status"})),
        duration(r.histogram_vec(
            {.name = "svckit_gateway_request_duration_seconds", .help = "Time from routing to the last byte answered."},
            {"route"})),
        upstream(r.histogram_vec({.name = "svckit_gateway_upstream_duration_seconds",
                                  .help = "Per try: time from sending to the upstream's response head."},
                                 {"route"})),
        tries(r.counter_vec({.name = "svckit_gateway_upstream_tries_total",
                             .help = "Tries sent upstream by route and outcome (status, or the error)."},
                            {"route", "outcome"})),
        reloads(r.counter_vec({.name = "svckit_gateway_route_reloads_total",
                               .help = "Edits of the routes file, applied (ok) or refused (rejected)."},
                              {"result"})),
        generation(r.gauge({.name = "svckit_gateway_route_table_generation",
                            .help = "The route table in force (1 at start, +1 per applied edit)."})),
        auth(r.counter_vec({.name = "svckit_gateway_auth_total",
                            .help = "Token checks on auth: jwt routes by route and outcome (ok, anonymous, missing, "
                                    "invalid, forbidden, keys_unavailable)."},
                           {"route", "outcome"})),
        auth_cache(r.counter_vec({.name = "svckit_gateway_auth_cache_total",
                                  .help = "Verified-token cache lookups: hit (no signature checked) or miss."},
                                 {"result"})),
        mirror(r.counter_vec({.name = "svckit_gateway_mirror_total",
                              .help = "Mirrored copies by route and outcome (mirrored: answered, failed, "
                                      "dropped_in_flight, dropped_body)."},
                             {"route", "outcome"})),
        canary(r.counter_vec({.name = "svckit_gateway_canary_requests_total",
                              .help = "Requests of routes with a canary by side (stable, canary)."},
                             {"route", "side"})),
        auth_cache_hit(auth_cache.with({"hit"})),
        auth_cache_miss(auth_cache.with({"miss"})) {}
  metrics::CounterVec& requests;
  metrics::HistogramVec& duration;
  metrics::HistogramVec& upstream;
  metrics::CounterVec& tries;
  metrics::CounterVec& reloads;
  metrics::Gauge generation;
  metrics::CounterVec& auth;
  metrics::CounterVec& auth_cache;
  metrics::CounterVec& mirror;
  metrics::CounterVec& canary;
  metrics::Counter auth_cache_hit, auth_cache_miss;
};

}  // namespace svckit::gateway
