#include "refresh_tokens.hpp"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "svckit/auth/base64url.hpp"
#include "svckit/auth/issuer.hpp"

namespace svckit::identity {

namespace {

using Clock = std::chrono::system_clock;

db::Timestamp to_ts(Clock::time_point t) {
  return std::chrono::time_point_cast<std::chrono::microseconds>(t);
}

struct TokenRow {
  std::int64_t id = 0;
  std::string family;
  std::int64_t user_id = 0;
  db::Timestamp expires_at;
  std::optional<db::Timestamp> used_at;
  std::optional<db::Timestamp> revoked_at;
  static void row_schema(db::RowSchema<TokenRow>& s) {
    s.field("id", &TokenRow::id);
    s.field("family", &TokenRow::family);
    s.field("user_id", &TokenRow::user_id);
    s.field("expires_at", &TokenRow::expires_at);
    s.field("used_at", &TokenRow::used_at);
    s.field("revoked_at", &TokenRow::revoked_at);
  }
};

Status refused(std::string reason, std::string message) {
  return Status(Code::kUnauthenticated, std::move(reason), std::move(message));
}

}  // namespace

std::string RefreshTokens::hash(std::string_view token) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest);
  return auth::base64url_encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

Task<Result<Issued>> RefreshTokens::insert(const Context& ctx, std::int64_t user_id, const std::string& family) {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1)
    co_return std::unexpected(Status(Code::kInternal, "the random generator failed"));
  Issued out;
  out.token = auth::base64url_encode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
  out.family = family;
  const auto now = Clock::now();
  out.expires_at = now + ttl_;
  db::Params args{hash(out.token), out.family, user_id, to_ts(now), to_ts(out.expires_at)};
  auto n = co_await db_->exec(
      ctx,
      "INSERT INTO refresh_tokens (token_hash, family, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
      std::move(args));
  if (!n) co_return std::unexpected(n.error());
  co_return out;
}

Task<Result<Issued>> RefreshTokens::issue(const Context& ctx, std::int64_t user_id) {
  const std::string family = auth::random_id();
  co_return co_await insert(ctx, user_id, family);
}

Task<Status> RefreshTokens::revoke_family(const Context& ctx, const std::string& family) {
  db::Params args{to_ts(Clock::now()), family};
  auto n = co_await db_->exec(ctx, "UPDATE refresh_tokens SET revoked_at = $1 WHERE family = $2 AND revoked_at IS NULL",
                              std::move(args));
  co_return n ? Status() : n.error();
}

Task<Result<Rotated>> RefreshTokens::rotate(const Context& ctx, std::string_view token) {
  db::Params find{hash(token)};
  auto rows = co_await db_->query_as<TokenRow>(
      ctx, "SELECT id, family, user_id, expires_at, used_at, revoked_at FROM refresh_tokens WHERE token_hash = $1",
      std::move(find));
  if (!rows) co_return std::unexpected(rows.error());
  if (rows->empty()) co_return std::unexpected(refused("REFRESH_TOKEN_UNKNOWN", "unknown refresh token"));
  const TokenRow row = (*rows)[0];  // a copy: the rows go with the next await's temporaries
  if (row.revoked_at) co_return std::unexpected(refused("REFRESH_TOKEN_REVOKED", "this refresh token was revoked"));
  const auto now = Clock::now();
  if (row.expires_at <= now) co_return std::unexpected(refused("REFRESH_TOKEN_EXPIRED", "this refresh token expired"));
  // Mark it used only if nobody did: of two concurrent uses, one wins and the other is a reuse.
  db::Params mark{to_ts(now), row.id};
  auto marked = co_await db_->exec(ctx, "UPDATE refresh_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL",
                                   std::move(mark));
  if (!marked) co_return std::unexpected(marked.error());
  if (row.used_at || *marked == 0) {
    if (Status st = co_await revoke_family(ctx, row.family); !st.ok()) co_return std::unexpected(st);
    co_return std::unexpected(
        refused("REFRESH_TOKEN_REUSED", "this refresh token was already used: every token of its login is revoked"));
  }
  auto next = co_await insert(ctx, row.user_id, row.family);
  if (!next) co_return std::unexpected(next.error());
  co_return Rotated{row.user_id, std::move(*next)};
}

Task<Status> RefreshTokens::revoke_family_of(const Context& ctx, std::string_view token) {
  db::Params find{hash(token)};
  auto family = co_await db_->query_as<std::string>(ctx, "SELECT family FROM refresh_tokens WHERE token_hash = $1",
                                                    std::move(find));
  if (!family) co_return family.error();
  if (family->empty()) co_return Status();
  const std::string name = (*family)[0];
  co_return co_await revoke_family(ctx, name);
}

Task<Status> RefreshTokens::revoke_user(const Context& ctx, std::int64_t user_id) {
  db::Params args{to_ts(Clock::now()), user_id};
  auto n = co_await db_->exec(
      ctx, "UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL", std::move(args));
  co_return n ? Status() : n.error();
}

}  // namespace svckit::identity
