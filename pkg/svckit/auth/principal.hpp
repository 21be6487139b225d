#pragma once
// Who a request acts for, once its token is verified: the subject, roles, scopes and every claim.
// The HTTP middleware (auth_http) and the gRPC call check (auth_grpc) put it in the request's
// Context; handlers and the code they call read it back, and require_role / require_scope answer
// PERMISSION_DENIED (UNAUTHENTICATED when no one is authenticated) in a line.
//
// ```cpp
//   Task<void> delete_user(http::Request& req, http::Response& res) {
//     if (Status st = auth::require_role(req.ctx, "admin"); !st.ok()) co_return res.error(st);
//     const auth::Principal* who = auth::principal_of(req.ctx);
//     res.json(200, R"({"deleted_by":")" + who->subject + "\"}");
//   }
// ```
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "svckit/auth/claims.hpp"
#include "svckit/core/context.hpp"
#include "svckit/core/status.hpp"

namespace svckit::auth {

struct Principal {
  std::string subject;
  std::vector<std::string> roles;
  std::vector<std::string> scopes;
  Claims claims;

  bool has_role(std::string_view role) const noexcept;
  bool has_scope(std::string_view scope) const noexcept;
};

struct PrincipalOptions {
  std::string roles_claim = "roles";  // an array of strings, or a space-separated string
  // OAuth scopes: "scope" (RFC 8693 / RFC 9068, space-separated), else "scp" (an array, as some
  // issuers write it).
  std::string scopes_claim = "scope";
};

std::shared_ptr<const Principal> make_principal(Claims claims, const PrincipalOptions& options = {});

// A child of ctx carrying the principal (one shared pointer in the context node).
Context with_principal(const Context& ctx, std::shared_ptr<const Principal> principal);
// The principal a verified token put in ctx, or null.
const Principal* principal_of(const Context& ctx) noexcept;
std::shared_ptr<const Principal> shared_principal_of(const Context& ctx) noexcept;

// OK when ctx's principal has the role (scope); UNAUTHENTICATED NO_PRINCIPAL without one;
// PERMISSION_DENIED MISSING_ROLE (MISSING_SCOPE) naming what is missing otherwise.
Status require_role(const Context& ctx, std::string_view role);
Status require_scope(const Context& ctx, std::string_view scope);

}  // namespace svckit::auth
