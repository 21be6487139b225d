#pragma once
// Request and Response as handlers see them. A Request is a view of bytes the server owns for the
// duration of the handler (headers, body and route parameters point into the connection's buffer);
// copy what must outlive the handler. A Response is reused across the requests of a connection, so
// after the first request its header list and body buffer do not allocate.
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "svckit/core/context.hpp"
#include "svckit/core/status.hpp"
#include "svckit/http/parser.hpp"
#include "svckit/http/tls.hpp"
#include "svckit/json/json.hpp"
#include "svckit/trace/context.hpp"

namespace svckit::http {

class Stream;  // svckit/http/stream.hpp

inline constexpr std::size_t kMaxParams = 16;

struct Param {
  std::string_view name;
  std::string_view value;
};

class Request {
 public:
  Method method() const noexcept { return head_->method; }
  std::string_view method_text() const noexcept { return head_->method_text; }
  std::string_view target() const noexcept { return head_->target; }
  std::string_view path() const noexcept { return head_->path; }
  std::string_view query() const noexcept { return head_->query; }
  // The first value of a query parameter as it appeared (not percent-decoded), or empty.
  std::string_view query_param(std::string_view name) const noexcept;
  // Query parameters percent-decoded ('+' is a space): the first value (nullopt when absent), and
  // every value of a repeated one (?tag=a&tag=b) in order.
  std::optional<std::string> query_value(std::string_view name) const;
  std::vector<std::string> query_values(std::string_view name) const;
  // One parameter as T (integers, floating point, bool, std::string, std::vector<...> for a repeated
  // one), checked as JSON binding checks fields: nullopt when absent; INVALID_ARGUMENT
  // VALIDATION_FAILED naming it when malformed ("limit: must be an integer", metadata {limit: ...}).
  // ```cpp
  //   auto limit = req.query<int>("limit");
  //   if (!limit) return res.error(limit.error());
  //   int n = limit->value_or(20);
  // ```
  template <class T>
  Result<std::optional<T>> query(std::string_view name) const;
  int version_minor() const noexcept { return head_->version_minor; }
  std::string_view header(std::string_view name) const noexcept { return head_->header(name); }
  // A cookie's value from the Cookie header(s) (RFC 6265 "a=b; c=d"), as sent; nullopt when absent.
  std::optional<std::string_view> cookie(std::string_view name) const noexcept;
  const Header* headers_begin() const noexcept { return head_->headers; }
  const Header* headers_end() const noexcept { return head_->headers + head_->header_count; }
  std::string_view body() const noexcept { return body_; }
  bool keep_alive() const noexcept { return head_->keep_alive; }

  // Route parameters (":id", "*path"), raw as they appeared in the path.
  std::string_view param(std::string_view name) const noexcept;
  std::size_t param_count() const noexcept { return param_count_; }
  const Param& param_at(std::size_t i) const noexcept { return params_[i]; }
  // The matched route's template ("/users/:id"): what metrics and logs label requests with.
  std::string_view route() const noexcept { return route_; }
  std::string_view remote_address() const noexcept { return remote_address_; }
  // The client's address after trusted proxies (set by the real_ip middleware), else remote_address.
  std::string_view client_ip() const noexcept { return client_ip_.empty() ? remote_address_ : client_ip_; }

  // Deadline, values and log fields of this request. For coroutine handlers it is also cancelled
  // (reason CLIENT_CLOSED) when the client disconnects mid-request.
  Context ctx;

  // The connection under the request, for handlers that stream the request body (routes with
  // .stream_body()), the response, or the bytes after a 101 (svckit/http/stream.hpp). Set by the
  // server; null for a Request a test builds by hand.
  Stream* stream() const noexcept { return stream_; }
  // Whether the request came over TLS, and the client certificate the server verified (mutual TLS,
  // svckit/http/tls.hpp): its subject, serial and SANs, such as a SPIFFE id; null without one.
  bool tls() const noexcept { return tls_; }
  const PeerCertificate* peer_certificate() const noexcept { return peer_; }

  // The request's server span when it is sampled (set by the tracing middleware), else null: the
  // metrics middleware keeps its ids as the exemplar of the request's latency.
  const trace::SpanContext* sampled_span() const noexcept { return sampled_ ? &sampled_span_ : nullptr; }

  // ---- for the server and middleware ----
  void set_sampled_span(const trace::SpanContext& span) noexcept {
    sampled_span_.trace_id = span.trace_id;
    sampled_span_.span_id = span.span_id;
    sampled_span_.sampled = true;
    sampled_ = true;
  }
  void set_head(const RequestHead* head) noexcept { head_ = head; }
  void set_body(std::string_view body) noexcept { body_ = body; }
  void set_route(std::string_view route) noexcept { route_ = route; }
  void set_remote_address(std::string_view a) noexcept { remote_address_ = a; }
  void set_stream(Stream* s) noexcept { stream_ = s; }
  void set_tls(bool on, const PeerCertificate* peer) noexcept {
    tls_ = on;
    peer_ = peer;
  }
  void set_client_ip(std::string ip) { client_ip_ = std::move(ip); }
  void clear_params() noexcept { param_count_ = 0; }
  void truncate_params(std::size_t n) noexcept {
    if (n < param_count_) param_count_ = n;
  }
  bool add_param(std::string_view name, std::string_view value) noexcept {
    if (param_count_ >= kMaxParams) return false;
    params_[param_count_++] = Param{name, value};
    return true;
  }
  void reset() noexcept {
    param_count_ = 0;
    sampled_ = false;
    route_ = {};
    body_ = {};
    client_ip_.clear();
  }

 private:
  const RequestHead* head_ = nullptr;
  std::string_view body_;
  std::string_view route_;
  std::string_view remote_address_;
  std::string client_ip_;
  Stream* stream_ = nullptr;
  trace::SpanContext sampled_span_;  // ids only: trace_state stays empty
  bool sampled_ = false;
  const PeerCertificate* peer_ = nullptr;
  bool tls_ = false;
  Param params_[kMaxParams];
  std::size_t param_count_ = 0;
};

class Response {
 public:
  int status = 200;
  std::string body;

  void set_header(std::string_view name, std::string_view value);
  void add_header(std::string_view name, std::string_view value);
  std::string_view header(std::string_view name) const noexcept;
  void remove_header(std::string_view name);
  std::span<const std::pair<std::string, std::string>> headers() const noexcept { return {headers_.data(), count_}; }

  // Body helpers: set status, Content-Type and body in one call.
  void text(int code, std::string_view s);
  void json(int code, std::string_view serialized);
  // A described struct (or vector, map, optional of one), encoded straight into the body: no DOM.
  template <class T>
  requires(!std::is_convertible_v<const T&, std::string_view>) void json(int code, const T& value) {
    status = code;
    set_header("Content-Type", "application/json");
    body.clear();
    svckit::json::encode_to(body, value);
  }
  // The one error format of svckit's HTTP APIs:
  //   {"code":"NOT_FOUND","reason":"USER_NOT_FOUND","message":"…","metadata":{…}}
  // with the HTTP status Status::to_http() gives.
  void error(const Status& status);

  // Set by the server: ask it to close the connection after this response.
  bool close = false;

  void reset() {
    status = 200;
    body.clear();
    count_ = 0;  // the slots keep their strings' capacity for the next request
    close = false;
  }

 private:
  std::vector<std::pair<std::string, std::string>> headers_;
  std::size_t count_ = 0;
};

// The request body as JSON (see svckit/json/json.hpp). Errors, all INVALID_ARGUMENT unless noted:
//   Content-Type other than application/json or */*+json (charset utf-8 only) → 415 UNSUPPORTED_MEDIA_TYPE
//   empty body → 400 EMPTY_BODY; syntax → 400 MALFORMED_JSON (line, column)
//   types, required fields and rules → 400 VALIDATION_FAILED with {field path: reason} as metadata.
// ```cpp
//   struct CreateUser {
//     std::string email;
//     static void json_schema(json::Schema<CreateUser>& s) { s.field("email", &CreateUser::email).required().email(); }
//   };
//   auto in = http::bind_json<CreateUser>(req);
//   if (!in) return res.error(in.error());
// ```
Status check_json_request(const Request& req);
template <class T>
Result<T> bind_json(const Request& req, const svckit::json::DecodeOptions& options = {}) {
  if (Status st = check_json_request(req); !st.ok()) return std::unexpected<Status>(std::move(st));
  return svckit::json::decode<T>(req.body(), options);
}

// "OK", "Not Found"…; empty for unknown codes.
std::string_view reason_phrase(int status) noexcept;
// Appends s to out as a JSON string literal (quotes and escapes).
void append_json_string(std::string& out, std::string_view s);
// Percent-decodes (and '+' to space when form is true); invalid escapes are kept as they are.
std::string url_decode(std::string_view s, bool form = false);

// The query string as a JSON object of strings, keys and values percent-decoded; a repeated key
// becomes an array of its values.
std::string query_json(std::string_view query);
// One member of that object: "name":"value", or "name":["a","b"] for several values.
void append_query_member(std::string& out, std::string_view name, const std::vector<std::string>& values);

// The query string bound to a described struct (json_schema), with the validation and field-path
// errors of bind_json: values arrive as text ("10", "true"), a repeated key fills a vector.
// ```cpp
//   struct ListBooks { std::string author; int limit = 20;
//     static void json_schema(json::Schema<ListBooks>& s) {
//       s.field("author", &ListBooks::author); s.field("limit", &ListBooks::limit).range(1, 100); } };
//   auto q = http::bind_query<ListBooks>(req);   // ?author=Le%20Guin&limit=10
// ```
template <class T>
Result<T> bind_query(const Request& req, json::DecodeOptions options = {}) {
  options.values_as_text = true;
  return svckit::json::decode<T>(query_json(req.query()), options);
}

template <class T>
Result<std::optional<T>> Request::query(std::string_view name) const {
  auto values = query_values(name);
  if (values.empty()) return std::optional<T>();
  std::string doc = "{";
  append_query_member(doc, name, values);
  doc += '}';
  auto decoded = svckit::json::decode<std::map<std::string, T>>(doc, {.values_as_text = true});
  if (!decoded) return std::unexpected(decoded.error());
  return std::optional<T>(std::move(decoded->begin()->second));
}

}  // namespace svckit::http
