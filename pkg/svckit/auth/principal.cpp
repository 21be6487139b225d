#include "svckit/auth/principal.hpp"

#include <algorithm>

namespace svckit::auth {

namespace {
// The context value's own type, so that no one else's shared_ptr<const Principal> is taken for it.
struct PrincipalValue {
  std::shared_ptr<const Principal> p;
};
}  // namespace

bool Principal::has_role(std::string_view role) const noexcept {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

bool Principal::has_scope(std::string_view scope) const noexcept {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

std::shared_ptr<const Principal> make_principal(Claims claims, const PrincipalOptions& options) {
  auto p = std::make_shared<Principal>();
  p->subject = std::string(claims.subject());
  p->roles = claims.strings(options.roles_claim);
  p->scopes = claims.strings(options.scopes_claim);
  if (p->scopes.empty() && options.scopes_claim == "scope") p->scopes = claims.strings("scp");
  p->claims = std::move(claims);
  return p;
}

Context with_principal(const Context& ctx, std::shared_ptr<const Principal> principal) {
  return ctx.with_value(PrincipalValue{std::move(principal)});
}

const Principal* principal_of(const Context& ctx) noexcept {
  const auto* v = ctx.value<PrincipalValue>();
  return v ? v->p.get() : nullptr;
}

std::shared_ptr<const Principal> shared_principal_of(const Context& ctx) noexcept {
  const auto* v = ctx.value<PrincipalValue>();
  return v ? v->p : nullptr;
}

Status require_role(const Context& ctx, std::string_view role) {
  const Principal* p = principal_of(ctx);
  if (!p) return Status(Code::kUnauthenticated, "NO_PRINCIPAL", "authentication required");
  if (p->has_role(role)) return {};
  return Status(Code::kPermissionDenied, "MISSING_ROLE", "the role " + std::string(role) + " is required")
      .with_metadata("role", std::string(role));
}

Status require_scope(const Context& ctx, std::string_view scope) {
  const Principal* p = principal_of(ctx);
  if (!p) return Status(Code::kUnauthenticated, "NO_PRINCIPAL", "authentication required");
  if (p->has_scope(scope)) return {};
  return Status(Code::kPermissionDenied, "MISSING_SCOPE", "the scope " + std::string(scope) + " is required")
      .with_metadata("scope", std::string(scope));
}

}  // namespace svckit::auth
