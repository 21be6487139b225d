#pragma once
// The `discovery.consul` options: the local Consul agent, the HTTP check it runs against each
// registered instance's admin /readyz, and how watches use blocking queries. The backend itself is
// svckit::discovery_consul (ConsulRegistry).
#include <chrono>
#include <string>

#include "svckit/config/binder.hpp"

namespace svckit::discovery {

struct ConsulOptions {
  std::string address = "http://127.0.0.1:8500";  // the agent
  std::chrono::milliseconds check_interval{10000};
  std::chrono::milliseconds check_timeout{2000};
  // A check critical for longer than this: the agent deregisters the instance (Consul's
  // DeregisterCriticalServiceAfter; its minimum is one minute in a real agent).
  std::chrono::milliseconds deregister_critical_after{60000};
  std::chrono::milliseconds wait{300000};             // a blocking query's wait
  std::chrono::milliseconds min_query_interval{100};  // watches query at most this often
  std::chrono::milliseconds timeout{2000};            // calls that do not block
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{5000};
  static void describe(config::Binder<ConsulOptions>& b);
};

}  // namespace svckit::discovery
