#pragma once
// The `file` backend: a registry in a folder that every process of the platform on one host shares
// (data/registry/ under `make run`). Each registered instance keeps its own file,
// <dir>/<service>/<instance-id>.json, written whole to a temporary name and renamed into place (a
// reader never sees half a file, and many processes can write at once), and rewritten every
// `heartbeat` with a new timestamp. A reader counts an instance whose heartbeat is older than its
// `ttl` as gone, so a process killed with SIGKILL drops out of every view within the TTL (plus one
// scan interval); deregistering removes the file at once. Watchers follow the folders with inotify
// and rescan every `scan_interval` for expiries, and are handed the whole set when it changes.
// One background thread per registry does the heartbeats and the watching; no call blocks an event
// loop (registering writes its file on the blocking pool).
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "svckit/config/binder.hpp"
#include "svckit/discovery/registry.hpp"

namespace svckit::discovery {

struct FileRegistryOptions {
  std::string dir = "data/registry";
  std::chrono::milliseconds ttl{10000};          // an instance without a heartbeat for this long is gone
  std::chrono::milliseconds heartbeat{3000};     // how often a registered instance's file is rewritten
  std::chrono::milliseconds scan_interval{500};  // how often watchers look for expired instances
  static void describe(config::Binder<FileRegistryOptions>& b);
};

struct FileRegistryStats {
  std::uint64_t writes = 0;        // registrations and heartbeats written
  std::uint64_t write_errors = 0;  // files that could not be written (the registration stays, retried)
  std::uint64_t bad_files = 0;     // files skipped because they did not decode
  std::uint64_t deliveries = 0;    // sets handed to watchers
};

class FileRegistry final : public Registrar, public Discovery {
 public:
  // Creates the folder if needed; an unusable folder is the error.
  static Result<std::shared_ptr<FileRegistry>> open(FileRegistryOptions options);
  ~FileRegistry() override;  // stops the thread; registered instances' files are left to expire

  Task<Status> register_instance(const Context& ctx, const Instance& instance) override;
  Task<Status> deregister(const Context& ctx, const Instance& instance) override;
  Task<Result<std::vector<Instance>>> instances(const Context& ctx, std::string service) override;
  std::unique_ptr<Watch> watch(std::string service, WatchFn fn) override;
  Task<Result<std::vector<std::string>>> services(const Context& ctx) override;

  // Synchronous forms (blocking file I/O: not for an event-loop thread).
  Status add(const Instance& instance);
  Status remove(const Instance& instance);
  std::vector<Instance> read(const std::string& service);
  std::vector<std::string> service_names();  // folders with at least one live instance

  FileRegistryStats stats() const;
  const FileRegistryOptions& options() const noexcept { return options_; }

  struct State;

 private:
  explicit FileRegistry(FileRegistryOptions options);
  FileRegistryOptions options_;
  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace svckit::discovery
