#include "svckit/http/tls.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <asio/error.hpp>
#include <cerrno>
#include <csignal>
#include <mutex>

#include "svckit/config/binder.hpp"
#include "svckit/http/detail/tls.hpp"

namespace svckit::http {

using namespace std::chrono_literals;

void ServerTlsOptions::describe(config::Binder<ServerTlsOptions>& b) {
  b.field("cert_file", &ServerTlsOptions::cert_file).doc("PEM certificate and chain; set: the listener speaks TLS");
  b.field("key_file", &ServerTlsOptions::key_file).doc("PEM private key of cert_file");
  b.field("client_ca_file", &ServerTlsOptions::client_ca_file).doc("PEM CAs client certificates must chain to");
  b.field("client_auth", &ServerTlsOptions::client_auth)
      .one_of({"none", "optional", "require"})
      .doc("client certificates: none, optional (verified when sent), require (mutual TLS)");
  b.field("min_version", &ServerTlsOptions::min_version).one_of({"1.2", "1.3"});
  b.field("ciphers", &ServerTlsOptions::ciphers).doc("TLS 1.2 cipher list (OpenSSL syntax); empty: OpenSSL's");
  b.field("handshake_timeout", &ServerTlsOptions::handshake_timeout)
      .range(10ms, 5min)
      .doc("a client that has not finished its handshake by then is dropped");
  b.field("reload_interval", &ServerTlsOptions::reload_interval)
      .range(0ms, 24h)
      .doc("how often the certificate files are checked for a change; 0: only on SIGHUP");
}

void ClientTlsOptions::describe(config::Binder<ClientTlsOptions>& b) {
  b.field("ca_file", &ClientTlsOptions::ca_file).doc("PEM CAs the server must chain to; empty: the system's");
  b.field("cert_file", &ClientTlsOptions::cert_file).doc("PEM client certificate for mutual TLS");
  b.field("key_file", &ClientTlsOptions::key_file).doc("its private key");
  b.field("server_name", &ClientTlsOptions::server_name).doc("SNI and the name verified; empty: the URL's host");
  b.field("verify", &ClientTlsOptions::verify).doc("false accepts any server certificate (tests only)");
  b.field("min_version", &ClientTlsOptions::min_version).one_of({"1.2", "1.3"});
}

namespace detail {

namespace {

std::error_code failure_code(int err) {
  if (err == SSL_ERROR_ZERO_RETURN) return asio::error::eof;
  if (err == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
    return asio::error::eof;
  return asio::error::connection_reset;
}

TlsIo after_failure(SSL* ssl, int rc) {
  TlsIo r;
  int err = SSL_get_error(ssl, rc);
  if (err == SSL_ERROR_WANT_READ)
    r.want = Want::kRead;
  else if (err == SSL_ERROR_WANT_WRITE)
    r.want = Want::kWrite;
  else
    r.ec = failure_code(err);
  ERR_clear_error();
  return r;
}

int version_of(const std::string& v) {
  return v == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
}

// Only http/1.1: a client offering h2 alone gets no ALPN answer and may go on or give up.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen,
                void*) {
  static const unsigned char kHttp11[] = "\x08http/1.1";
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, kHttp11, sizeof kHttp11 - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

// OpenSSL writes to its socket with write(), not send(MSG_NOSIGNAL) as Asio does: a peer that has
// gone would raise SIGPIPE and kill the process. Ignored once, as Go's runtime and nginx do, unless
// the program installed a handler of its own.
void ignore_sigpipe() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current {};
    if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) ::signal(SIGPIPE, SIG_IGN);
  });
}

SslCtxPtr adopt(SSL_CTX* ctx) {
  ignore_sigpipe();
  return SslCtxPtr(ctx, [](SSL_CTX* c) { SSL_CTX_free(c); });
}

Result<SslCtxPtr> make_server_context(const ServerTlsOptions& o) {
  auto fail = [](std::string what) -> Result<SslCtxPtr> {
    return make_error(Code::kInvalidArgument, what + ": " + openssl_error());
  };
  SslCtxPtr ctx = adopt(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return fail("SSL_CTX_new");
  SSL_CTX* c = ctx.get();
  SSL_CTX_set_min_proto_version(c, version_of(o.min_version));
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (!o.ciphers.empty() && SSL_CTX_set_cipher_list(c, o.ciphers.c_str()) != 1) return fail("tls.ciphers");
  if (SSL_CTX_use_certificate_chain_file(c, o.cert_file.c_str()) != 1) return fail("tls.cert_file " + o.cert_file);
  if (o.key_file.empty()) return make_error(Code::kInvalidArgument, "tls.key_file is required with tls.cert_file");
  if (SSL_CTX_use_PrivateKey_file(c, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    return fail("tls.key_file " + o.key_file);
  if (SSL_CTX_check_private_key(c) != 1) return fail("tls.key_file does not match tls.cert_file");
  SSL_CTX_set_alpn_select_cb(c, select_alpn, nullptr);
  static const unsigned char kSessionContext[] = "svckit-http";
  SSL_CTX_set_session_id_context(c, kSessionContext, sizeof kSessionContext - 1);
  if (o.client_auth != "none") {
    if (o.client_ca_file.empty())
      return make_error(Code::kInvalidArgument, "tls.client_auth " + o.client_auth + " needs tls.client_ca_file");
    if (SSL_CTX_load_verify_locations(c, o.client_ca_file.c_str(), nullptr) != 1)
      return fail("tls.client_ca_file " + o.client_ca_file);
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.client_ca_file.c_str());
    if (!names) return fail("tls.client_ca_file " + o.client_ca_file);
    SSL_CTX_set_client_CA_list(c, names);
    int mode = SSL_VERIFY_PEER | (o.client_auth == "require" ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
    SSL_CTX_set_verify(c, mode, nullptr);
  }
  return ctx;
}

std::string name_text(const X509_NAME* name) {
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string s(data, static_cast<std::size_t>(len > 0 ? len : 0));
  BIO_free(bio);
  return s;
}

void add_file(std::string& fp, const std::string& path) {
  struct stat st {};
  if (path.empty()) return;
  if (::stat(path.c_str(), &st) != 0) {
    fp += path + ":missing;";
    return;
  }
  fp += path + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
        std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ";";
}

}  // namespace

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

TlsIo tls_read(SSL* ssl, char* data, std::size_t size) {
  std::size_t n = 0;
  if (SSL_read_ex(ssl, data, size, &n) == 1) return TlsIo{n, Want::kNone, {}};
  return after_failure(ssl, 0);
}

TlsIo tls_write(SSL* ssl, const char* data, std::size_t size) {
  std::size_t n = 0;
  if (SSL_write_ex(ssl, data, size, &n) == 1) return TlsIo{n, Want::kNone, {}};
  return after_failure(ssl, 0);
}

TlsIo tls_handshake(SSL* ssl) {
  int rc = SSL_do_handshake(ssl);
  if (rc == 1) return {};
  TlsIo r = after_failure(ssl, rc);
  if (r.want == Want::kNone && !r.ec) r.ec = asio::error::connection_reset;
  return r;
}

void tls_close(SSL* ssl) {
  if (ssl && SSL_is_init_finished(ssl) && !(SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN)) SSL_shutdown(ssl);
  ERR_clear_error();
}

Result<SslCtxPtr> make_client_context(const ClientTlsOptions& o) {
  auto fail = [](std::string what) -> Result<SslCtxPtr> {
    return make_error(Code::kInvalidArgument, what + ": " + openssl_error());
  };
  SslCtxPtr ctx = adopt(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return fail("SSL_CTX_new");
  SSL_CTX* c = ctx.get();
  SSL_CTX_set_min_proto_version(c, version_of(o.min_version));
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (o.verify) {
    int rc = o.ca_file.empty() ? SSL_CTX_set_default_verify_paths(c)
                               : SSL_CTX_load_verify_locations(c, o.ca_file.c_str(), nullptr);
    if (rc != 1) return fail("tls ca_file " + (o.ca_file.empty() ? std::string("(system)") : o.ca_file));
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
  }
  if (!o.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(c, o.cert_file.c_str()) != 1) return fail("tls cert_file " + o.cert_file);
    if (SSL_CTX_use_PrivateKey_file(c, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
      return fail("tls key_file " + o.key_file);
    if (SSL_CTX_check_private_key(c) != 1) return fail("tls key_file does not match cert_file");
  }
  static const unsigned char kHttp11[] = "\x08http/1.1";
  SSL_CTX_set_alpn_protos(c, kHttp11, sizeof kHttp11 - 1);  // 0 on success
  ClientSessions::enable(c);
  return ctx;
}

Result<SslPtr> new_client_ssl(SSL_CTX* ctx, const ClientTlsOptions& o, const std::string& host, int fd) {
  SslPtr ssl(SSL_new(ctx));
  if (!ssl || SSL_set_fd(ssl.get(), fd) != 1) return make_error(Code::kInternal, "SSL_new: " + openssl_error());
  const std::string& name = o.server_name.empty() ? host : o.server_name;
  std::error_code ec;
  asio::ip::make_address(name, ec);
  const bool is_ip = !ec;
  if (!is_ip) SSL_set_tlsext_host_name(ssl.get(), name.c_str());  // SNI names hosts, never addresses
  if (o.verify) {
    int rc = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), name.c_str())
                   : SSL_set1_host(ssl.get(), name.c_str());
    if (rc != 1) return make_error(Code::kInvalidArgument, "tls: cannot verify the name " + name);
  }
  SSL_set_connect_state(ssl.get());
  return ssl;
}

std::optional<PeerCertificate> verified_peer(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert || SSL_get_verify_result(ssl) != X509_V_OK) return std::nullopt;
  PeerCertificate p;
  p.subject = name_text(X509_get_subject_name(cert));
  p.issuer = name_text(X509_get_issuer_name(cert));
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr)) {
    if (char* hex = BN_bn2hex(bn)) {
      p.serial = hex;
      OPENSSL_free(hex);
    }
    BN_free(bn);
  }
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
      if (g->type != GEN_URI && g->type != GEN_DNS) continue;
      const ASN1_IA5STRING* s = g->type == GEN_URI ? g->d.uniformResourceIdentifier : g->d.dNSName;
      std::string v(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                    static_cast<std::size_t>(ASN1_STRING_length(s)));
      (g->type == GEN_URI ? p.uris : p.dns).push_back(std::move(v));
    }
    GENERAL_NAMES_free(names);
  }
  return p;
}

// ---- server context --------------------------------------------------------------------------------

Result<std::unique_ptr<ServerTlsContext>> ServerTlsContext::create(const ServerTlsOptions& o, log::Logger logger) {
  std::unique_ptr<ServerTlsContext> t(new ServerTlsContext(o, std::move(logger)));
  std::string fp = t->fingerprint();
  auto ctx = make_server_context(o);
  if (!ctx) return std::unexpected(ctx.error());
  t->ctx_ = std::move(*ctx);
  t->loaded_ = std::move(fp);
  return t;
}

std::string client_files_fingerprint(const ClientTlsOptions& o) {
  std::string fp;
  add_file(fp, o.ca_file);
  add_file(fp, o.cert_file);
  add_file(fp, o.key_file);
  return fp;
}

std::string ServerTlsContext::fingerprint() const {
  std::string fp;
  add_file(fp, options_.cert_file);
  add_file(fp, options_.key_file);
  add_file(fp, options_.client_ca_file);
  return fp;
}

SslPtr ServerTlsContext::new_ssl(int fd) {
  SSL_CTX* ctx;
  SslCtxPtr hold;
  {
    std::lock_guard lock(mu_);
    hold = ctx_;
  }
  ctx = hold.get();
  SslPtr ssl(SSL_new(ctx));  // holds its own reference to ctx from here on
  if (ssl && SSL_set_fd(ssl.get(), fd) == 1) {
    SSL_set_accept_state(ssl.get());
    return ssl;
  }
  ERR_clear_error();
  return nullptr;
}

Status ServerTlsContext::reload(bool force) {
  std::lock_guard reload_lock(reload_mu_);
  std::string fp = fingerprint();
  if (!force && (fp == loaded_ || fp == rejected_)) return {};
  auto ctx = make_server_context(options_);
  if (!ctx) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    rejected_ = fp;
    logger_.error("tls certificate reload refused; the certificate in force stays",
                  {{"cert_file", options_.cert_file}, {"error", ctx.error().message()}});
    return ctx.error();
  }
  {
    std::lock_guard lock(mu_);
    ctx_ = std::move(*ctx);
  }
  loaded_ = std::move(fp);
  rejected_.clear();
  reloads_.fetch_add(1, std::memory_order_relaxed);
  logger_.info("tls certificate reloaded", {{"cert_file", options_.cert_file}});
  return {};
}

}  // namespace detail

}  // namespace svckit::http
