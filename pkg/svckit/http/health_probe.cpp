// clang-format off
#include <coroutine>
#include <system_error>
#include <asio/ip/tcp.hpp>
// clang-format on

#include "svckit/http/health_probe.hpp"

#include "svckit/core/detail/io_await.hpp"

namespace svckit::http {

Task<Status> tcp_probe(const Context& ctx, std::string host, std::uint16_t port) {
  std::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) co_return Status(Code::kInvalidArgument, "tcp probe: " + host + " is not an IP address");
  Loop& loop = *Loop::current();
  auto sock = std::make_shared<asio::ip::tcp::socket>(loop.io());
  svckit::detail::DeadlineGuard deadline(ctx);
  // The deadline (or a cancellation) closes the pending connect.
  auto reg = ctx.on_cancel([l = &loop, weak = std::weak_ptr<asio::ip::tcp::socket>(sock)](const Status&) {
    l->post([weak] {
      if (auto s = weak.lock()) {
        std::error_code e;
        s->cancel(e);
      }
    });
  });
  asio::ip::tcp::endpoint ep(address, port);
  ec = co_await svckit::detail::ConnectAwaiter{*sock, ep};
  std::error_code ignored;
  sock->close(ignored);
  if (!ctx.err().ok())
    co_return Status(ctx.err().code(),
                     "tcp probe " + host + ":" + std::to_string(port) + ": " + std::string(ctx.err().message()));
  if (ec) co_return Status(Code::kUnavailable, "tcp probe " + host + ":" + std::to_string(port) + ": " + ec.message());
  co_return Status();
}

discovery::Probe health_probe(std::shared_ptr<Client> client, std::string path) {
  return [client = std::move(client), path = std::move(path)](const Context& ctx,
                                                              const discovery::Instance& instance) -> Task<Status> {
    // Copied into the frame: the caller's arguments may not outlive the first suspension.
    Context c = ctx;
    discovery::Instance i = instance;
    std::shared_ptr<Client> cl = client;
    std::string p = path;
    auto admin = i.metadata.find("admin");
    if (admin == i.metadata.end() || admin->second.empty()) {
      if (i.endpoints.empty()) co_return Status(Code::kFailedPrecondition, "instance " + i.id + " has no endpoint");
      std::string_view e = i.endpoints.front();
      auto scheme = e.find("://");
      if (scheme == std::string_view::npos) co_return Status(Code::kInvalidArgument, "bad endpoint " + std::string(e));
      auto url = parse_url("http://" + std::string(e.substr(scheme + 3)));
      if (!url) co_return url.error();
      co_return co_await tcp_probe(c, url->host, url->port);
    }
    std::string target = admin->second;
    while (!target.empty() && target.back() == '/') target.pop_back();
    target += p;
    auto res = co_await cl->get(c, std::move(target));
    if (!res) co_return res.error();
    if (res->status < 200 || res->status >= 300)
      co_return Status(Code::kUnavailable, p + " answered " + std::to_string(res->status));
    co_return Status();
  };
}

}  // namespace svckit::http
