#pragma once
// Bearer-token authentication for svckit's gRPC server: a call check (grpc::Server::add_call_check)
// that verifies the `authorization: Bearer <token>` metadata of each call before its handler runs,
// answers UNAUTHENTICATED (reason TOKEN_EXPIRED, BAD_SIGNATURE, ...) or PERMISSION_DENIED (a role the
// method requires), and puts the principal in the handler's Context (auth::principal_of(ctx)).
// Verification runs on grpc++'s callback thread with the keys at hand: a token naming a kid the set
// lacks is refused (UNKNOWN_KID) and the key source refreshes in the background for the calls after.
//
// ```cpp
//   void secure(svckit::grpc::Server& server, std::shared_ptr<const auth::Verifier> verifier) {
//     server.add_call_check(auth::grpc_check(verifier, {
//         .public_methods = {"/inventory.v1.Inventory/ListItems"},
//         .method_roles = {{"/inventory.v1.Inventory/GetItem", {"admin", "clerk"}}}}));
//   }
// ```
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "svckit/auth/principal.hpp"
#include "svckit/auth/verifier.hpp"
#include "svckit/grpc/grpc.hpp"

namespace svckit::auth {

struct GrpcCheckOptions {
  // Methods served without a token: "/package.Service/Method", or "/package.Service/" for all of a
  // service's methods.
  std::vector<std::string> public_methods;
  // Methods that need one of these roles (PERMISSION_DENIED MISSING_ROLE otherwise).
  std::map<std::string, std::vector<std::string>, std::less<>> method_roles;
  // Calls without an authorization entry pass without a principal; a bad token is still refused.
  bool optional = false;
  PrincipalOptions principal;
};

grpc::CallCheck grpc_check(std::shared_ptr<const Verifier> verifier, GrpcCheckOptions options = {});

}  // namespace svckit::auth
