#include "svckit/http/message.hpp"

#include <algorithm>

#include "svckit/core/strings.hpp"

namespace svckit::http {

std::string_view Request::query_param(std::string_view name) const noexcept {
  std::string_view q = query();
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return {};
}

namespace {
// Calls fn(key, value) for each pair of a query string, percent-decoded.
template <class F>
void for_each_query_pair(std::string_view q, F fn) {
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    if (!pair.empty()) {
      auto eq = pair.find('=');
      fn(url_decode(pair.substr(0, eq), true),
         eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1), true));
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
}
}  // namespace

std::optional<std::string_view> Request::cookie(std::string_view name) const noexcept {
  for (const Header* h = headers_begin(); h != headers_end(); ++h) {
    if (!iequals(h->name, "cookie")) continue;
    std::string_view rest = h->value;
    while (!rest.empty()) {
      auto semi = rest.find(';');
      std::string_view pair = rest.substr(0, semi);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      auto eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
        std::string_view value = pair.substr(eq + 1);
        while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
        return value;
      }
      if (semi == std::string_view::npos) break;
      rest.remove_prefix(semi + 1);
    }
  }
  return std::nullopt;
}

std::optional<std::string> Request::query_value(std::string_view name) const {
  std::optional<std::string> found;
  for_each_query_pair(query(), [&](std::string key, std::string value) {
    if (!found && key == name) found = std::move(value);
  });
  return found;
}

std::vector<std::string> Request::query_values(std::string_view name) const {
  std::vector<std::string> out;
  for_each_query_pair(query(), [&](std::string key, std::string value) {
    if (key == name) out.push_back(std::move(value));
  });
  return out;
}

std::string query_json(std::string_view query) {
  std::vector<std::pair<std::string, std::vector<std::string>>> keys;  // first-appearance order
  for_each_query_pair(query, [&](std::string key, std::string value) {
    for (auto& [k, values] : keys)
      if (k == key) return values.push_back(std::move(value));
    keys.emplace_back(std::move(key), std::vector<std::string>{}).second.push_back(std::move(value));
  });
  std::string out = "{";
  for (auto& [k, values] : keys) {
    if (out.size() > 1) out += ',';
    append_query_member(out, k, values);
  }
  out += '}';
  return out;
}

void append_query_member(std::string& out, std::string_view name, const std::vector<std::string>& values) {
  append_json_string(out, name);
  out += ':';
  if (values.size() > 1) out += '[';
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, values[i]);
  }
  if (values.size() > 1) out += ']';
}

std::string_view Request::param(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < param_count_; ++i)
    if (params_[i].name == name) return params_[i].value;
  return {};
}

void Response::set_header(std::string_view name, std::string_view value) {
  for (std::size_t i = 0; i < count_; ++i) {
    if (iequals(headers_[i].first, name)) {
      headers_[i].second.assign(value);
      return;
    }
  }
  add_header(name, value);
}

void Response::add_header(std::string_view name, std::string_view value) {
  if (count_ < headers_.size()) {
    headers_[count_].first.assign(name);
    headers_[count_].second.assign(value);
  } else {
    headers_.emplace_back(name, value);
  }
  ++count_;
}

std::string_view Response::header(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < count_; ++i)
    if (iequals(headers_[i].first, name)) return headers_[i].second;
  return {};
}

void Response::remove_header(std::string_view name) {
  std::size_t out = 0;
  for (std::size_t i = 0; i < count_; ++i) {
    if (iequals(headers_[i].first, name)) continue;
    if (out != i) std::swap(headers_[out], headers_[i]);
    ++out;
  }
  count_ = out;
}

void Response::text(int code, std::string_view s) {
  status = code;
  set_header("Content-Type", "text/plain; charset=utf-8");
  body.assign(s);
}

void Response::json(int code, std::string_view serialized) {
  status = code;
  set_header("Content-Type", "application/json");
  body.assign(serialized);
}

void Response::error(const Status& st) {
  status = st.ok() ? 200 : st.to_http();
  set_header("Content-Type", "application/json");
  body.clear();
  body += "{\"code\":\"";
  body += code_name(st.code());
  body += '"';
  if (!st.reason().empty()) {
    body += ",\"reason\":";
    append_json_string(body, st.reason());
  }
  body += ",\"message\":";
  append_json_string(body, st.message());
  if (!st.metadata().empty()) {
    body += ",\"metadata\":{";
    bool first = true;
    for (auto& [k, v] : st.metadata()) {
      if (!first) body += ',';
      first = false;
      append_json_string(body, k);
      body += ':';
      append_json_string(body, v);
    }
    body += '}';
  }
  body += '}';
}

Status check_json_request(const Request& req) {
  std::string_view type = req.header("Content-Type");
  if (!type.empty()) {
    auto trim = [](std::string_view v) {
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      return v;
    };
    std::string_view media = trim(type.substr(0, type.find(';')));
    bool json =
        iequals(media, "application/json") || (media.size() > 5 && iequals(media.substr(media.size() - 5), "+json"));
    // Parameters: only charset=utf-8 (RFC 8259 JSON is UTF-8) is acceptable.
    for (auto semi = type.find(';'); json && semi != std::string_view::npos;) {
      std::string_view rest = type.substr(semi + 1);
      auto next = rest.find(';');
      std::string_view param = trim(rest.substr(0, next));
      auto eq = param.find('=');
      if (eq != std::string_view::npos && iequals(trim(param.substr(0, eq)), "charset")) {
        std::string_view cs = trim(param.substr(eq + 1));
        if (cs.size() >= 2 && cs.front() == '"' && cs.back() == '"') cs = cs.substr(1, cs.size() - 2);
        if (!iequals(cs, "utf-8") && !iequals(cs, "utf8")) json = false;
      }
      semi = next == std::string_view::npos ? next : semi + 1 + next;
    }
    if (!json)
      return Status(Code::kInvalidArgument, "UNSUPPORTED_MEDIA_TYPE",
                    "Content-Type " + std::string(type) + " is not JSON (application/json expected)")
          .with_http_status(415);
  }
  if (req.body().empty())
    return Status(Code::kInvalidArgument, "EMPTY_BODY", "the request body is empty; a JSON document is expected");
  return {};
}

void append_json_string(std::string& out, std::string_view s) {
  json::append_string(out, s);
}

std::string url_decode(std::string_view s, bool form) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else if (form && s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 499:
      return "Client Closed Request";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "";
  }
}

}  // namespace svckit::http
