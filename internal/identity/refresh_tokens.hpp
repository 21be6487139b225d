#pragma once
// Refresh tokens: 256 random bits the client holds, stored only as their SHA-256. Each token belongs
// to a family (one login); using a token rotates it (it is marked used and a new one of the same
// family is returned), and presenting a token that was already used is taken as theft: the whole
// family is revoked, so neither the thief nor the victim can refresh again (RFC 9700 §4.14.2).
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "svckit/core/task.hpp"
#include "svckit/db/database.hpp"

namespace svckit::identity {

struct Issued {
  std::string token;  // what the client keeps; never stored
  std::string family;
  std::chrono::system_clock::time_point expires_at;
};

struct Rotated {
  std::int64_t user_id = 0;
  Issued next;
};

class RefreshTokens {
 public:
  RefreshTokens(std::shared_ptr<db::Database> db, std::chrono::seconds ttl) : db_(std::move(db)), ttl_(ttl) {}

  // A new family's first token (a login).
  Task<Result<Issued>> issue(const Context& ctx, std::int64_t user_id);
  // UNAUTHENTICATED with reason REFRESH_TOKEN_UNKNOWN, _EXPIRED, _REVOKED, or _REUSED (the family is
  // revoked by this call) unless the token is the family's current one.
  Task<Result<Rotated>> rotate(const Context& ctx, std::string_view token);
  // Revokes the token's family; OK also for a token that is unknown or already revoked.
  Task<Status> revoke_family_of(const Context& ctx, std::string_view token);
  // Revokes every family of a user (roles changed, password changed).
  Task<Status> revoke_user(const Context& ctx, std::int64_t user_id);

  static std::string hash(std::string_view token);

 private:
  Task<Result<Issued>> insert(const Context& ctx, std::int64_t user_id, const std::string& family);
  Task<Status> revoke_family(const Context& ctx, const std::string& family);

  std::shared_ptr<db::Database> db_;
  std::chrono::seconds ttl_;
};

}  // namespace svckit::identity
