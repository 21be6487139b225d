#pragma once
// Where a Verifier gets its keys. keys() is read on every verification and never blocks; refresh()
// is asked for when a token names a kid the current set lacks (a key rotated in since the set was
// loaded), and a source that can load again does so within its rate limit. StaticKeys holds a set
// given in code or read from a JWKS file at start-up; FileKeys also re-reads its file (on the
// blocking pool) when an unknown kid comes, at most once per min_refresh. The HTTP JWKS client is
// auth_http's JwksClient.
//
// ```cpp
//   Result<std::shared_ptr<auth::Verifier>> file_verifier() {
//     auto keys = auth::FileKeys::open("configs/jwks.json");     // blocking: at start-up only
//     if (!keys) return std::unexpected(keys.error());
//     return std::make_shared<auth::Verifier>(*keys, auth::VerifierOptions{.issuer = "https://id.example"});
//   }
// ```
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "svckit/auth/key_set.hpp"
#include "svckit/core/context.hpp"
#include "svckit/core/task.hpp"

namespace svckit::auth {

// The current key set, replaced whole. A mutex rather than std::atomic<std::shared_ptr>: libstdc++
// 12 guards that with a lock bit ThreadSanitizer cannot see, so every swap would be reported as a race.
class KeySlot {
 public:
  KeySlot() = default;
  explicit KeySlot(std::shared_ptr<const KeySet> keys) : keys_(std::move(keys)) {}
  std::shared_ptr<const KeySet> load() const {
    std::lock_guard lock(mu_);
    return keys_;
  }
  void store(std::shared_ptr<const KeySet> keys) {
    std::lock_guard lock(mu_);
    keys_ = std::move(keys);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const KeySet> keys_;
};

class KeySource {
 public:
  virtual ~KeySource() = default;
  // The set to verify with now; null while none has been loaded.
  virtual std::shared_ptr<const KeySet> keys() const = 0;
  // Called when a token names `kid` and keys() has no such key: load again if the source can and
  // its rate limit allows, then return the set to use. Default: keys().
  virtual Task<std::shared_ptr<const KeySet>> refresh(Context /*ctx*/, std::string /*kid*/) { co_return keys(); }
  // The same wish from code that cannot wait (a gRPC call check on grpc++'s thread): start a refresh
  // and return at once. Default: nothing.
  virtual void refresh_later(std::string /*kid*/) {}
};

class StaticKeys final : public KeySource {
 public:
  explicit StaticKeys(KeySet keys);
  // A JWKS document (keys svckit cannot use are left out; none usable is INVALID_ARGUMENT).
  static Result<std::shared_ptr<StaticKeys>> from_jwks(std::string_view json);
  std::shared_ptr<const KeySet> keys() const override { return keys_.load(); }
  // Swaps the set in (for a process that learns its keys by other means). Thread-safe.
  void replace(KeySet keys);

 private:
  KeySlot keys_;
};

class FileKeys final : public KeySource {
 public:
  // Reads the JWKS file now (a blocking read: call it at start-up).
  static Result<std::shared_ptr<FileKeys>> open(std::string path,
                                                std::chrono::nanoseconds min_refresh = std::chrono::seconds(10));
  std::shared_ptr<const KeySet> keys() const override { return keys_.load(); }
  // Re-reads the file on the blocking pool, at most once per min_refresh; a file that no longer
  // reads or parses keeps the set loaded before.
  Task<std::shared_ptr<const KeySet>> refresh(Context ctx, std::string kid) override;

 private:
  FileKeys(std::string path, std::chrono::nanoseconds min_refresh)
      : path_(std::move(path)), min_refresh_(min_refresh) {}
  bool claim_refresh();  // true when the rate limit lets this caller read
  std::string path_;
  std::chrono::nanoseconds min_refresh_;
  KeySlot keys_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point last_read_;
};

// Reads and parses a JWKS file (blocking).
Result<KeySet> read_jwks_file(const std::string& path);

}  // namespace svckit::auth
