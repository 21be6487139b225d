#pragma once
// The `discovery.etcd` options: where etcd is and how registrations and watches use it. The backend
// itself is svckit::discovery_etcd (EtcdRegistry), which speaks to etcd through svckit's HTTP client.
#include <chrono>
#include <string>
#include <vector>

#include "svckit/config/binder.hpp"

namespace svckit::discovery {

struct EtcdOptions {
  std::vector<std::string> endpoints = {"http://127.0.0.1:2379"};  // tried in turn
  std::string prefix = "/svc";
  std::chrono::seconds lease_ttl{10};
  std::chrono::milliseconds timeout{2000};  // each call to etcd
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{5000};
  static void describe(config::Binder<EtcdOptions>& b);
};

}  // namespace svckit::discovery
