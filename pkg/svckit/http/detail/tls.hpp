#pragma once
// Internal (server and client): OpenSSL under the HTTP connections. Contexts built from the TLS
// options; one non-blocking OpenSSL call at a time (handshake, read, write) that says what the socket
// must become before the call is tried again; and the server's context holder, which reloads its
// certificate files into a new SSL_CTX for new connections (open ones keep the one they started
// with: each SSL holds a reference to its context). Included from .cpp files only.
// clang-format off
#include <coroutine>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <vector>
#include <asio/ip/tcp.hpp>
#include <openssl/ssl.h>
// clang-format on

#include "svckit/core/detail/io_await.hpp"
#include "svckit/core/status.hpp"
#include "svckit/http/tls.hpp"
#include "svckit/log/logger.hpp"

namespace svckit::http::detail {

struct SslFree {
  void operator()(SSL* s) const noexcept { SSL_free(s); }
};
using SslPtr = std::unique_ptr<SSL, SslFree>;
using SslCtxPtr = std::shared_ptr<SSL_CTX>;

// What a call that would block waits for before it is made again.
enum class Want : std::uint8_t { kNone, kRead, kWrite };
struct TlsIo {
  std::size_t n = 0;
  Want want = Want::kNone;
  std::error_code ec;  // asio::error::eof at the peer's end of stream, connection_reset for a failure
};
TlsIo tls_read(SSL* ssl, char* data, std::size_t size);
TlsIo tls_write(SSL* ssl, const char* data, std::size_t size);
TlsIo tls_handshake(SSL* ssl);
// Sends close_notify once, without waiting for the peer's; nothing after a failed handshake or I/O.
void tls_close(SSL* ssl);

inline svckit::detail::WaitAwaiter<asio::ip::tcp::socket> tls_wait(asio::ip::tcp::socket& sock, Want want) {
  return {sock, want == Want::kWrite ? asio::ip::tcp::socket::wait_write : asio::ip::tcp::socket::wait_read};
}

// The oldest OpenSSL error queued on this thread, and the queue cleared.
std::string openssl_error();

// A client context: the CA bundle, the verification mode, the client certificate, ALPN http/1.1.
Result<SslCtxPtr> make_client_context(const ClientTlsOptions& o);
// Identity, size and modification time of the files make_client_context reads (blocking: stat).
std::string client_files_fingerprint(const ClientTlsOptions& o);
// A connection's SSL for `host` (SNI, and the name or IP address its certificate must carry).
Result<SslPtr> new_client_ssl(SSL_CTX* ctx, const ClientTlsOptions& o, const std::string& host, int fd);

// TLS sessions a client may resume (TLS 1.3 tickets, TLS 1.2 session ids) by "host:port", for one
// client context: a resumed handshake skips the certificate exchange and its verification. A few
// per host, each offered once (RFC 8446 C.4); at most kMaxHosts hosts. Thread-safe.
class ClientSessions {
 public:
  static constexpr std::size_t kPerHost = 4, kMaxHosts = 1024;
  ClientSessions() = default;
  ClientSessions(const ClientSessions&) = delete;
  ClientSessions& operator=(const ClientSessions&) = delete;
  ~ClientSessions();
  // Makes ctx hand the sessions its connections get to the ClientSessions they were prepared with.
  static void enable(SSL_CTX* ctx);
  // Before the handshake: offers a session held for `key`, and keeps those this connection gets.
  static void prepare(const std::shared_ptr<ClientSessions>& self, SSL* ssl, const std::string& key);
  std::size_t held(const std::string& key) const;
  void put(const std::string& key, SSL_SESSION* session);  // keeps a copy

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::vector<SSL_SESSION*>, std::less<>> held_;
};

// The verified client certificate of a server-side connection, if it sent one.
std::optional<PeerCertificate> verified_peer(SSL* ssl);

class ServerTlsContext {
 public:
  // Reads the files once; their errors are start()'s.
  static Result<std::unique_ptr<ServerTlsContext>> create(const ServerTlsOptions& o, log::Logger logger);
  // An SSL for an accepted connection, on the context in force.
  SslPtr new_ssl(int fd);
  // Reads the files again when they changed since the last look (always with force) and swaps the
  // context in; a pair that does not load (or a key that does not match) is refused once, logged and
  // counted, and the context in force stays. Blocking (file reads): off the loop threads.
  Status reload(bool force);
  std::uint64_t reloads() const noexcept { return reloads_.load(); }
  std::uint64_t reload_failures() const noexcept { return failures_.load(); }

 private:
  ServerTlsContext(ServerTlsOptions o, log::Logger logger) : options_(std::move(o)), logger_(std::move(logger)) {}
  std::string fingerprint() const;
  ServerTlsOptions options_;
  log::Logger logger_;
  std::mutex mu_;  // ctx_; the reload itself is serialised by reload_mu_
  SslCtxPtr ctx_;
  std::mutex reload_mu_;
  std::string loaded_;    // the files' fingerprint in force
  std::string rejected_;  // the last fingerprint refused (not logged twice)
  std::atomic<std::uint64_t> reloads_{0}, failures_{0};
};

}  // namespace svckit::http::detail
