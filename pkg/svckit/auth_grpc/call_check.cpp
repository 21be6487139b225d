#include "svckit/auth_grpc/call_check.hpp"

namespace svckit::auth {

grpc::CallCheck grpc_check(std::shared_ptr<const Verifier> verifier, GrpcCheckOptions options) {
  if (!verifier) throw std::invalid_argument("auth::grpc_check: no verifier");
  auto o = std::make_shared<const GrpcCheckOptions>(std::move(options));
  return [verifier = std::move(verifier), o](grpc::IncomingCall& call) -> Status {
    std::string_view method = call.method();
    for (const auto& p : o->public_methods)
      if (method == p || (p.ends_with('/') && method.starts_with(p))) return {};
    auto header = call.metadata("authorization");
    if (!header) {
      if (o->optional) return {};
      return Status(Code::kUnauthenticated, "NO_TOKEN", "a bearer token is required (authorization metadata)");
    }
    std::string_view token = bearer_token(*header);
    if (token.empty()) return Status(Code::kUnauthenticated, "MALFORMED_TOKEN", "authorization is not a bearer token");
    auto claims = verifier->verify(token);
    if (!claims) return claims.error();
    auto principal = make_principal(std::move(*claims), o->principal);
    if (auto it = o->method_roles.find(method); it != o->method_roles.end()) {
      bool allowed = false;
      for (const auto& role : it->second) allowed = allowed || principal->has_role(role);
      if (!allowed) {
        std::string roles;
        for (const auto& role : it->second) roles += (roles.empty() ? "" : ", ") + role;
        return Status(Code::kPermissionDenied, "MISSING_ROLE", "one of the roles " + roles + " is required");
      }
    }
    call.context() = with_principal(call.context(), std::move(principal));
    return {};
  };
}

}  // namespace svckit::auth
