#include "svckit/auth_http/middleware.hpp"

#include "svckit/core/strings.hpp"

namespace svckit::auth {

namespace middleware {

namespace {

// RFC 6750 §3: quoted values may hold %x20-21 / %x23-5B / %x5D-7E only.
std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s)
    if (c >= 0x20 && c <= 0x7e && c != '"' && c != '\\') out += c;
  return out + "\"";
}

std::string challenge(const std::string& realm, std::string_view error, std::string_view description,
                      std::string_view scope = {}) {
  std::string v = "Bearer";
  auto add = [&](std::string_view name, std::string_view value) {
    v += v.size() == 6 ? " " : ", ";
    v.append(name).append("=").append(quoted(value));
  };
  if (!realm.empty()) add("realm", realm);
  if (!error.empty()) add("error", error);
  if (!description.empty()) add("error_description", description);
  if (!scope.empty()) add("scope", scope);
  return v;
}

void deny(http::Response& res, const std::string& realm, const Status& st, std::string_view scope = {}) {
  if (st.code() == Code::kUnauthenticated) {
    bool no_token = st.reason() == "NO_TOKEN" || st.reason() == "NO_PRINCIPAL";
    // RFC 6750 §3.1: a request with no credentials gets the challenge without an error code.
    res.error(st);
    res.set_header("WWW-Authenticate",
                   no_token ? challenge(realm, {}, {}) : challenge(realm, "invalid_token", st.message()));
  } else if (st.code() == Code::kPermissionDenied) {
    res.error(st);
    res.set_header("WWW-Authenticate", challenge(realm, "insufficient_scope", st.message(), scope));
  } else {
    res.error(st);
  }
}

}  // namespace

http::Middleware authenticate(std::shared_ptr<const Verifier> verifier, AuthenticateOptions options) {
  auto o = std::make_shared<const AuthenticateOptions>(std::move(options));
  return [verifier = std::move(verifier), o](http::Request& req, http::Response& res, http::Next next) -> Task<void> {
    std::string_view header = req.header("Authorization");
    if (header.empty()) {
      if (!o->optional) {
        deny(res, o->realm, Status(Code::kUnauthenticated, "NO_TOKEN", "a bearer token is required"));
        co_return;
      }
      co_await next(req, res);
      co_return;
    }
    std::string_view token = bearer_token(header);
    if (token.empty()) {
      deny(res, o->realm,
           Status(Code::kUnauthenticated, "MALFORMED_TOKEN", "the Authorization header is not a bearer token"));
      co_return;
    }
    // Named before the await: GCC 12 mishandles non-trivial temporaries inside co_await expressions.
    Task<Result<Claims>> verifying = verifier->verify(req.ctx, token);
    Result<Claims> claims = co_await std::move(verifying);
    if (!claims) {
      deny(res, o->realm, claims.error());
      co_return;
    }
    req.ctx = with_principal(req.ctx, make_principal(std::move(*claims), o->principal));
    co_await next(req, res);
  };
}

http::Middleware require_role(std::string role) {
  return [role = std::move(role)](http::Request& req, http::Response& res, http::Next next) -> Task<void> {
    if (Status st = auth::require_role(req.ctx, role); !st.ok()) {
      deny(res, {}, st);
      co_return;
    }
    co_await next(req, res);
  };
}

http::Middleware require_scope(std::string scope) {
  return [scope = std::move(scope)](http::Request& req, http::Response& res, http::Next next) -> Task<void> {
    if (Status st = auth::require_scope(req.ctx, scope); !st.ok()) {
      deny(res, {}, st, scope);
      co_return;
    }
    co_await next(req, res);
  };
}

}  // namespace middleware
}  // namespace svckit::auth
