#pragma once
// etcd as a live configuration source (config.remote): one etcd key holds a YAML document whose keys
// lie over the service's files, environment and flags. The key is read once at start-up and then
// watched; every change goes through the same binder and validation as a file edit, so a bad value
// (YAML that does not parse, a key out of range) is refused and the configuration in force stays,
// logged and counted (svckit_config_reload_failures_total), exactly as a bad file edit is.
//
// ```cpp
//   Status remote(config::Config& cfg, Runtime& rt) {
//     auto source = discovery::EtcdConfigSource::create(
//         {.endpoints = {"http://127.0.0.1:2379"}, .key = "/config/user-svc"});
//     if (Status st = source->fetch_now(); !st.ok()) return st;  // start-up: etcd down is an error here
//     source->run_on(rt);                                         // the watch's loop
//     cfg.add_source(source);
//     return cfg.reload();
//   }
// ```
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "svckit/config/binder.hpp"
#include "svckit/config/config.hpp"
#include "svckit/core/runtime.hpp"

namespace svckit::http {
class Client;
}

namespace svckit::discovery {

struct RemoteConfigOptions {
  bool enabled = false;
  std::vector<std::string> endpoints = {"http://127.0.0.1:2379"};
  std::string key;  // empty: /config/<service>
  // Whether a start-up that cannot reach etcd fails (true) or starts on the local configuration and
  // takes the remote one when etcd answers (false).
  bool required = false;
  std::chrono::milliseconds timeout{2000};
  std::chrono::milliseconds backoff_min{200};
  std::chrono::milliseconds backoff_max{10000};
  static void describe(config::Binder<RemoteConfigOptions>& b);
};

struct RemoteConfigStats {
  std::uint64_t updates = 0;  // values read (the first, then each change)
  std::uint64_t errors = 0;   // failed reads and broken watches (each retried)
  std::int64_t revision = 0;  // etcd's mod_revision of the value in use, 0 when the key is absent
};

class EtcdConfigSource final : public config::Source, public std::enable_shared_from_this<EtcdConfigSource> {
 public:
  static std::shared_ptr<EtcdConfigSource> create(RemoteConfigOptions options);
  ~EtcdConfigSource() override;

  // Reads the key now, on a short-lived runtime of its own (start-up, before the service's loops
  // exist). An absent key is no error (an empty layer); an unreachable etcd is UNAVAILABLE.
  Status fetch_now();
  // The runtime whose loop watches the key once Config::watch() asks for changes.
  void run_on(Runtime& rt);
  void close();

  std::string name() const override { return "etcd " + options_.key; }
  // The last value read, parsed: its keys, or the YAML error that refuses it.
  Result<config::Layer> load() override;
  Status watch(std::function<void()> changed) override;
  RemoteConfigStats stats() const;

 private:
  explicit EtcdConfigSource(RemoteConfigOptions options);
  struct Read {
    bool found = false;
    std::string value;
    std::int64_t mod_revision = 0;
    std::int64_t revision = 0;  // the store's, to watch from
  };
  Task<Result<Read>> read(http::Client& client, const Context& ctx, std::size_t endpoint);
  void take(const Read& r);
  Task<void> watch_loop(std::shared_ptr<EtcdConfigSource> self);

  RemoteConfigOptions options_;
  mutable std::mutex mu_;
  std::string value_;
  bool found_ = false;
  std::int64_t revision_ = 0;      // store revision the value was read at
  std::int64_t mod_revision_ = 0;  // of the value
  std::function<void()> changed_;
  Runtime* rt_ = nullptr;
  std::unique_ptr<http::Client> client_;
  Context stop_;
  std::atomic<std::uint64_t> updates_{0}, errors_{0};
};

}  // namespace svckit::discovery
