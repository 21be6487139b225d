#pragma once
// Bearer-token authentication for svckit's HTTP server (RFC 6750). `authenticate` verifies the
// `Authorization: Bearer` token of each request and puts the principal in req.ctx (auth::principal_of);
// a request without a valid token gets 401 with `WWW-Authenticate: Bearer error="invalid_token"` and
// svckit's JSON error body (reason TOKEN_EXPIRED, BAD_SIGNATURE, ...). `require_role` and
// `require_scope` answer 403 to a principal that lacks them (401 when there is none).
//
// ```cpp
//   Task<void> list_orders(http::Request& req, http::Response& res);
//   Task<void> refund(http::Request& req, http::Response& res);
//   void routes(http::Router& router, std::shared_ptr<const auth::Verifier> verifier) {
//     auto api = router.group("/v1");
//     api.use(auth::middleware::authenticate(verifier, {.realm = "orders"}));
//     api.get("/orders", list_orders).use(auth::middleware::require_scope("orders:read"));
//     api.post("/orders/:id/refund", refund).use(auth::middleware::require_role("admin"));
//   }
// ```
#include <memory>
#include <string>

#include "svckit/auth/principal.hpp"
#include "svckit/auth/verifier.hpp"
#include "svckit/http/router.hpp"

namespace svckit::auth::middleware {

struct AuthenticateOptions {
  // Requests without an Authorization header pass through without a principal (handlers decide);
  // a token that is there and fails is still 401.
  bool optional = false;
  std::string realm;  // WWW-Authenticate's realm; empty: none
  PrincipalOptions principal;
};

http::Middleware authenticate(std::shared_ptr<const Verifier> verifier, AuthenticateOptions options = {});
http::Middleware require_role(std::string role);
http::Middleware require_scope(std::string scope);

}  // namespace svckit::auth::middleware
