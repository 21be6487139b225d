#pragma once
// Test helper (not installed): a handler that answers 101 Switching Protocols with the given Upgrade
// value (and, for websocket, the RFC 6455 example's Sec-WebSocket-Accept), then echoes every byte
// back until the client closes. For tests of connection takeover and tunnelling (routes built with
// .stream_body()).
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "svckit/http/router.hpp"
#include "svckit/http/stream.hpp"

namespace svckit::testkit {

inline std::function<Task<void>(http::Request&, http::Response&)> upgrade_echo(std::string protocol) {
  return [protocol = std::move(protocol)](http::Request& req, http::Response& res) -> Task<void> {
    http::Stream& s = *req.stream();
    res.status = 101;
    res.set_header("Upgrade", protocol);
    res.set_header("Connection", "Upgrade");
    if (protocol == "websocket") res.set_header("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    if (!(co_await s.write_head(res, std::nullopt)).ok()) co_return;
    char buf[4096];
    for (;;) {
      Result<std::size_t> n = co_await s.read_raw(buf);
      if (!n || *n == 0) break;
      if (!(co_await s.write_raw(std::string_view(buf, *n))).ok()) break;
    }
  };
}

}  // namespace svckit::testkit
