#pragma once
// TLS for svckit's HTTP server and client (OpenSSL 3): the options, and the client identity a handler
// sees.
// - Server (ServerOptions::tls, the `http.tls` keys): a certificate and key turn TLS on for the
//   listener (TLS 1.2+, ALPN http/1.1). The files are reloaded when they change, and on
//   Server::reload_tls() (the App calls it on SIGHUP), for new connections; open ones keep what they
//   were accepted with, and a bad pair is refused while the old one stays. With a client CA, client
//   certificates are asked for (optional) or required (mutual TLS), and the verified one is on the
//   request (Request::peer_certificate()).
// - Client (ClientOptions::tls, per host in ClientOptions::tls_hosts): https:// URLs verified
//   against a CA bundle (the system's by default) with the host name checked, and a client
//   certificate for mutual TLS.
#include <chrono>
#include <string>
#include <vector>

namespace svckit::config {
template <class T>
class Binder;
}

namespace svckit::http {

struct ServerTlsOptions {
  std::string cert_file;             // PEM: the certificate, then its chain; empty: plain HTTP
  std::string key_file;              // PEM private key of cert_file
  std::string client_ca_file;        // PEM CAs that client certificates must chain to
  std::string client_auth = "none";  // none | optional (verified when sent) | require (mutual TLS)
  std::string min_version = "1.2";   // 1.2 | 1.3
  std::string ciphers;               // TLS 1.2 cipher list (OpenSSL syntax); empty: OpenSSL's defaults
  std::chrono::nanoseconds handshake_timeout = std::chrono::seconds(10);
  std::chrono::nanoseconds reload_interval = std::chrono::seconds(5);  // file change checks; 0: none

  bool enabled() const noexcept { return !cert_file.empty(); }
  static void describe(config::Binder<ServerTlsOptions>& b);
};

struct ClientTlsOptions {
  std::string ca_file;              // PEM CAs the server must chain to; empty: the system's bundle
  std::string cert_file;            // PEM client certificate (and chain) for mutual TLS; empty: none
  std::string key_file;             // its private key
  std::string server_name;          // SNI and the name verified; empty: the URL's host
  bool verify = true;               // false: any server certificate is accepted (say so explicitly)
  std::string min_version = "1.2";  // 1.2 | 1.3

  static void describe(config::Binder<ClientTlsOptions>& b);
};

// The certificate a client presented and the server verified (mutual TLS).
struct PeerCertificate {
  std::string subject;            // RFC 2253: "CN=orders,O=gov"
  std::string issuer;             // RFC 2253
  std::string serial;             // hex, upper case
  std::vector<std::string> uris;  // SAN URIs, such as a SPIFFE id "spiffe://cluster.local/ns/gov/sa/orders"
  std::vector<std::string> dns;   // SAN DNS names
};

}  // namespace svckit::http
