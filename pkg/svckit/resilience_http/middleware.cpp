#include "svckit/resilience_http/middleware.hpp"

#include <algorithm>
#include <string>
#include <unordered_map>

#include "svckit/core/runtime.hpp"
#include "svckit/http/message.hpp"
#include "svckit/metrics/metrics.hpp"

namespace svckit::resilience {

namespace {

metrics::CounterVec& rejected() {
  static auto& v = metrics::Registry::global().counter_vec(
      {.name = "svckit_resilience_rejected_total", .help = "Requests refused by a limiter, bulkhead or shedder."},
      {"kind"});
  return v;
}

void refuse(http::Response& res, const Status& st) {
  auto ms = st.metadata_value("retry_after_ms");
  long secs = 1;
  if (!ms.empty()) secs = std::max<long>(1, (std::stol(std::string(ms)) + 999) / 1000);
  res.set_header("Retry-After", std::to_string(secs));
  res.error(st);
}

}  // namespace

namespace middleware {

http::Middleware rate_limit(std::shared_ptr<Limiter> limiter) {
  auto counter = rejected().with({"rate_limit"});
  return [limiter, counter](http::Request& req, http::Response& res, http::Next next) -> Task<void> {
    if (Status st = limiter->try_acquire(); !st.ok()) {
      counter.inc();
      refuse(res, st);
      co_return;
    }
    co_await next(req, res);
  };
}

http::Middleware pace(std::shared_ptr<Pacer> pacer) {
  auto counter = rejected().with({"pace"});
  return [pacer, counter](http::Request& req, http::Response& res, http::Next next) -> Task<void> {
    auto wait = pacer->reserve();
    if (!wait) {
      counter.inc();
      refuse(res, wait.error());
      co_return;
    }
    if (wait->count() > 0) {
      Status slept = co_await sleep_for(req.ctx, *wait);
      if (!slept.ok()) {
        res.error(slept);
        co_return;
      }
    }
    co_await next(req, res);
  };
}

http::Middleware concurrency_limit(std::shared_ptr<Bulkhead> bulkhead) {
  auto counter = rejected().with({"concurrency"});
  return [bulkhead, counter](http::Request& req, http::Response& res, http::Next next) -> Task<void> {
    auto permit = bulkhead->try_acquire();
    if (!permit) {
      counter.inc();
      refuse(res, permit.error());
      co_return;
    }
    co_await next(req, res);
  };
}

http::Middleware shed(std::shared_ptr<Shedder> shedder) {
  static auto shed_total = metrics::Registry::global().counter(
      {.name = "svckit_resilience_shed_total", .help = "Requests dropped by the load shedder."});
  return [shedder](http::Request& req, http::Response& res, http::Next next) -> Task<void> {
    auto promise = shedder->allow();
    if (!promise) {
      shed_total.inc();
      refuse(res, promise.error());
      co_return;
    }
    co_await next(req, res);
    if (res.status < 500)
      promise->pass();
    else
      promise->fail();
  };
}

http::Middleware shed_queue(std::shared_ptr<QueueShedder> shedder) {
  auto counter = rejected().with({"queue_delay"});
  return [shedder, counter](http::Request& req, http::Response& res, http::Next next) -> Task<void> {
    if (Status st = shedder->admit(); !st.ok()) {
      counter.inc();
      refuse(res, st);
      co_return;
    }
    co_await next(req, res);
  };
}

}  // namespace middleware

http::Middleware route_limits(const std::vector<RouteRule>& rules) {
  struct Guard {
    std::shared_ptr<TokenBucket> bucket;
    std::shared_ptr<Bulkhead> bulkhead;
  };
  auto table = std::make_shared<std::unordered_map<std::string, Guard>>();
  for (const auto& r : rules) {
    Guard g;
    if (r.rate > 0) g.bucket = std::make_shared<TokenBucket>(r.rate, r.burst > 0 ? r.burst : std::max(1.0, r.rate));
    if (r.max_in_flight > 0) g.bulkhead = std::make_shared<Bulkhead>(r.max_in_flight);
    (*table)[r.method + " " + r.route] = std::move(g);
  }
  auto limited = rejected().with({"route_limit"});
  return [table, limited](http::Request& req, http::Response& res, http::Next next) -> Task<void> {
    if (!req.route().empty()) {
      std::string key = std::string(req.method_text()) + " " + std::string(req.route());
      auto it = table->find(key);
      if (it == table->end()) it = table->find("* " + std::string(req.route()));
      if (it != table->end()) {
        if (it->second.bucket) {
          if (Status st = it->second.bucket->try_acquire(); !st.ok()) {
            limited.inc();
            refuse(res, st);
            co_return;
          }
        }
        if (it->second.bulkhead) {
          auto permit = it->second.bulkhead->try_acquire();
          if (!permit) {
            limited.inc();
            refuse(res, permit.error());
            co_return;
          }
          co_await next(req, res);
          co_return;
        }
      }
    }
    co_await next(req, res);
  };
}

}  // namespace svckit::resilience
