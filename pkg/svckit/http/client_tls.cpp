// The client's TLS handshake (detail/client_exchange.hpp): the context per host or for all hosts,
// loaded off the loop and looked at again in the background, the session offered for resumption, and
// the handshake itself within the call's deadline.
#include <openssl/x509.h>

#include "svckit/http/detail/client_exchange.hpp"

namespace svckit::http {

namespace {

detail::ClientTlsContext load_tls_context(const ClientTlsOptions& o) {
  detail::ClientTlsContext t;
  t.files = detail::client_files_fingerprint(o);
  t.ctx = detail::make_client_context(o);
  t.looked = std::chrono::steady_clock::now();
  return t;
}

// The background look at a good context's files (see detail::ClientTlsContext).
Task<void> look_at_tls_files(std::shared_ptr<detail::ClientTlsContexts> tls, std::string key, ClientTlsOptions o,
                             std::string files) {
  auto looked = co_await run_blocking(Context(), [&o, &files]() -> std::optional<detail::ClientTlsContext> {
    if (detail::client_files_fingerprint(o) == files) return std::nullopt;
    return load_tls_context(o);
  });
  std::lock_guard lock(tls->mu);
  auto it = tls->by_key.find(key);
  if (it == tls->by_key.end()) co_return;
  it->second.looking = false;
  it->second.looked = std::chrono::steady_clock::now();
  if (looked && *looked && (*looked)->ctx) it->second = std::move(**looked);
}

}  // namespace

// The client's side of a TLS handshake on a connected socket, within the call's deadline.
Task<Status> Client::Exchange::handshake(ClientConn& c) {
  const std::string hostport = url.host + ":" + std::to_string(url.port);
  const std::string ctx_key = impl.options.tls_hosts.contains(hostport) ? hostport : std::string();
  const ClientTlsOptions& o = impl.tls_options(hostport);
  detail::SslCtxPtr ctx;
  std::shared_ptr<detail::ClientSessions> sessions;
  std::string files;  // set when this call starts a look at a good context's files
  bool look = false;
  Status remembered;
  {
    std::lock_guard lock(impl.tls->mu);
    if (auto it = impl.tls->by_key.find(ctx_key); it != impl.tls->by_key.end()) {
      auto& e = it->second;
      const bool due = !e.looking && std::chrono::steady_clock::now() - e.looked >= std::chrono::seconds(1);
      if (e.ctx) {
        ctx = *e.ctx;
        sessions = e.sessions;
        if (due) {
          e.looking = look = true;
          files = e.files;
        }
      } else if (due) {
        e.looking = true;  // this call loads it again; the others meanwhile get the remembered error
      } else {
        remembered = e.ctx.error();
      }
    }
  }
  if (!remembered.ok()) co_return remembered;
  if (look) Loop::current()->spawn(look_at_tls_files(impl.tls, ctx_key, o, std::move(files)));
  if (!ctx) {
    auto made = co_await run_blocking(call, [&o] { return load_tls_context(o); });
    std::lock_guard lock(impl.tls->mu);
    if (!made) {  // the call's own end (deadline, a full pool): nothing learnt
      if (auto it = impl.tls->by_key.find(ctx_key); it != impl.tls->by_key.end()) it->second.looking = false;
      co_return made.error();
    }
    auto& e = impl.tls->by_key[ctx_key];
    e = std::move(*made);
    if (!e.ctx) co_return e.ctx.error();
    ctx = *e.ctx;
    sessions = e.sessions;
  }
  auto ssl = detail::new_client_ssl(ctx.get(), o, url.host, c.sock.native_handle());
  if (!ssl) co_return ssl.error();
  c.ssl = std::move(*ssl);
  detail::ClientSessions::prepare(sessions, c.ssl.get(), hostport);
  for (;;) {
    detail::TlsIo r = detail::tls_handshake(c.ssl.get());
    if (r.want == detail::Want::kNone && !r.ec) {
      impl.tls_handshakes.fetch_add(1, std::memory_order_relaxed);
      if (SSL_session_reused(c.ssl.get())) {
        impl.tls_resumed.fetch_add(1, std::memory_order_relaxed);
        // TLS 1.2 hands out no new session on a resumed handshake: the one resumed serves again.
        if (SSL_version(c.ssl.get()) != TLS1_3_VERSION) sessions->put(hostport, SSL_get0_session(c.ssl.get()));
      }
      co_return Status();
    }
    std::error_code e = r.ec;
    if (!e) e = co_await detail::tls_wait(c.sock, r.want);
    if (e) {
      long verify = SSL_get_verify_result(c.ssl.get());
      std::string why = verify != X509_V_OK
                            ? std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify)
                            : "handshake failed: " + e.message();
      c.ssl.reset();
      co_return ended("TLS_HANDSHAKE_FAILED", "tls " + key + ": " + why);
    }
  }
}

}  // namespace svckit::http
