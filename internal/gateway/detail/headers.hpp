#pragma once
// Internal: what crosses the gateway in each direction. Hop-by-hop fields (RFC 9110 §7.6.1:
// Connection and every field it names, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade,
// Proxy-*) stop here both ways; forwarding fields (X-Forwarded-For/-Proto/-Host, Forwarded) are
// appended to, and kept from the peer only when it is a trusted proxy; fields the gateway or its
// client write themselves (Host unless preserved, Content-Length, trace context, the request
// deadline, the request id, the mirror marker X-Mirror) are dropped from what the client sent, and so is every X-User-*
// field: the identity headers are the gateway's to set, from a verified token only (edge_auth.hpp).
#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "svckit/http/message.hpp"

namespace svckit::gateway::detail {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Exact addresses and IPv4 CIDRs ("10.0.0.0/8").
class TrustedProxies {
 public:
  explicit TrustedProxies(const std::vector<std::string>& entries = {});
  bool contains(std::string_view address) const;
  bool empty() const noexcept { return exact_.empty() && cidrs_.empty(); }

 private:
  std::vector<std::string> exact_;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> cidrs_;  // network, mask
};

// The field names a message's Connection fields list, kept as views of those fields' values (no
// copy: a message's fields outlive it) and compared case-insensitively.
class ConnectionTokens {
 public:
  void add_field(std::string_view value);  // one Connection field's value
  bool contains(std::string_view name) const noexcept;

 private:
  std::array<std::string_view, 4> fields_;
  std::size_t count_ = 0;
  std::vector<std::string_view> more_;  // beyond four Connection fields
};
ConnectionTokens connection_tokens(const http::Request& req);
ConnectionTokens connection_tokens(const Headers& headers);
bool hop_by_hop(std::string_view name, const ConnectionTokens& tokens);

struct ForwardInfo {
  bool trusted_peer = false;
  bool preserve_host = false;
  bool upgrade = false;               // a websocket tunnel: Upgrade and Connection: Upgrade are sent
  std::string_view request_id;        // sent as X-Request-Id
  const Headers* identity = nullptr;  // X-User-* of the verified token, appended
  bool drop_authorization = false;    // auth_forward_token: false
};

// X-User-Id, X-User-Roles...: never taken from a client.
bool identity_field(std::string_view name);

// The fields to send upstream for req, appended to `out` in wire form ("Name: value\r\n" each: the
// client's ClientRequest::wire_headers), with no string per field.
void upstream_request_headers(const http::Request& req, const ForwardInfo& info, std::string& out);

// An empty string with room for a request's fields, reused from an earlier request of this thread,
// and its return when the request ends: no allocation per request for the forwarded fields.
std::string take_buffer();
void give_back_buffer(std::string&& buffer);

// Wire-form fields as pairs (a mirrored copy's, which outlives the request).
Headers parse_wire_headers(std::string_view wire);

// The upstream response's fields the client gets (framing and hop-by-hop removed; Date and Server
// are the gateway's own). For a 101 the Upgrade field is kept.
void copy_response_headers(const Headers& upstream, int status, http::Response& res);

}  // namespace svckit::gateway::detail
