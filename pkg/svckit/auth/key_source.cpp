#include "svckit/auth/key_source.hpp"

#include <fstream>
#include <sstream>

#include "svckit/core/runtime.hpp"

namespace svckit::auth {

StaticKeys::StaticKeys(KeySet keys) : keys_(std::make_shared<const KeySet>(std::move(keys))) {}

Result<std::shared_ptr<StaticKeys>> StaticKeys::from_jwks(std::string_view json) {
  std::vector<std::string> skipped;
  auto set = KeySet::from_jwks(json, &skipped);
  if (!set) return std::unexpected(set.error());
  if (set->empty())
    return make_error(Code::kInvalidArgument,
                      "JWKS: no usable key" + (skipped.empty() ? std::string() : " (" + skipped.front() + ")"));
  return std::make_shared<StaticKeys>(std::move(*set));
}

void StaticKeys::replace(KeySet keys) {
  keys_.store(std::make_shared<const KeySet>(std::move(keys)));
}

Result<KeySet> read_jwks_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Code::kInvalidArgument, "cannot read the JWKS file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::vector<std::string> skipped;
  auto set = KeySet::from_jwks(ss.str(), &skipped);
  if (!set) return make_error(Code::kInvalidArgument, path + ": " + std::string(set.error().message()));
  if (set->empty())
    return make_error(Code::kInvalidArgument,
                      path + ": no usable key" + (skipped.empty() ? std::string() : " (" + skipped.front() + ")"));
  return set;
}

Result<std::shared_ptr<FileKeys>> FileKeys::open(std::string path, std::chrono::nanoseconds min_refresh) {
  auto set = read_jwks_file(path);
  if (!set) return std::unexpected(set.error());
  std::shared_ptr<FileKeys> keys(new FileKeys(std::move(path), min_refresh));
  keys->keys_.store(std::make_shared<const KeySet>(std::move(*set)));
  keys->last_read_ = std::chrono::steady_clock::now();
  return keys;
}

bool FileKeys::claim_refresh() {
  std::lock_guard lock(mu_);
  auto now = std::chrono::steady_clock::now();
  if (now - last_read_ < min_refresh_) return false;
  last_read_ = now;
  return true;
}

Task<std::shared_ptr<const KeySet>> FileKeys::refresh(Context ctx, std::string) {
  if (!claim_refresh()) co_return keys();
  const std::string* path = &path_;
  auto job = [path] { return read_jwks_file(*path); };
  Result<KeySet> set = co_await run_blocking(ctx, job);
  if (set) keys_.store(std::make_shared<const KeySet>(std::move(*set)));
  co_return keys();
}

}  // namespace svckit::auth
