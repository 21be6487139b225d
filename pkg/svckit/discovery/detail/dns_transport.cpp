#include "svckit/discovery/detail/dns_transport.hpp"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <optional>
#include <stdexcept>
#include <system_error>

// clang-format off
#include "svckit/core/detail/io_await.hpp"
#include "svckit/core/runtime.hpp"
#include <asio/ip/udp.hpp>
// clang-format on

namespace svckit::discovery::detail::dns {

namespace {

using asio::ip::tcp;
using asio::ip::udp;

constexpr std::size_t kMaxMessage = 65535;

// Query ids from the kernel's CSPRNG: an off-path attacker must guess them (with the source port)
// to slip a forged answer in.
void random_ids(std::vector<std::uint16_t>& ids) {
  std::size_t want = ids.size() * sizeof(std::uint16_t);
  auto* p = reinterpret_cast<unsigned char*>(ids.data());
  while (want > 0) {
    ssize_t n = ::getrandom(p, want, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "getrandom");  // a kernel without it
    }
    p += n;
    want -= static_cast<std::size_t>(n);
  }
}

// Ids distinct within a batch, so that each answer names one query.
std::vector<std::uint16_t> batch_ids(std::size_t n) {
  std::vector<std::uint16_t> ids(n);
  for (;;) {
    random_ids(ids);
    bool distinct = true;
    for (std::size_t i = 0; i < n && distinct; ++i)
      for (std::size_t j = i + 1; j < n; ++j)
        if (ids[i] == ids[j]) distinct = false;
    if (distinct) return ids;
  }
}

template <class Socket>
struct Holder {
  explicit Holder(asio::io_context& io) : sock(io) {}
  Socket sock;
};

// Cancels the socket's waits when `call` is cancelled or its deadline passes; from any thread.
template <class Socket>
CancelRegistration cancel_on(const Context& call, Loop& loop, const std::shared_ptr<Holder<Socket>>& h) {
  return call.on_cancel([l = &loop, weak = std::weak_ptr<Holder<Socket>>(h)](const Status&) {
    l->post([weak] {
      if (auto s = weak.lock()) {
        std::error_code e;
        s->sock.cancel(e);
      }
    });
  });
}

Status unavailable(const Server& s, std::string_view what) {
  return Status(Code::kUnavailable, "DNS server " + to_string(s) + ": " + std::string(what));
}

std::string_view rcode_name(std::uint8_t rc) {
  switch (rc) {
    case rcode::kFormErr:
      return "FORMERR";
    case rcode::kServFail:
      return "SERVFAIL";
    case rcode::kNotImp:
      return "NOTIMP";
    case rcode::kRefused:
      return "REFUSED";
    default:
      return "an unexpected rcode";
  }
}

// What one query of a round is at.
struct Slot {
  std::size_t index = 0;  // into the batch
  std::uint16_t id = 0;
  bool edns = true;
  bool done = false;       // answered (finally, or to be asked again over TCP or without EDNS)
  bool truncated = false;  // ask again over TCP
  bool resend = false;     // FORMERR to EDNS: ask again without it
};

// One datagram of the round: which slot it answers and how, or nothing (dropped).
// `dropped` keeps why the last datagram that answered nothing was dropped.
void take_datagram(const std::uint8_t* data, std::size_t n, const Server& server, const std::vector<Query>& queries,
                   std::vector<Slot>& slots, std::vector<std::optional<Message>>& results, Status& last,
                   std::string& dropped, TransportCounters& counters) {
  auto msg = parse(std::span<const std::uint8_t>(data, n));
  if (!msg) {
    counters.dropped.fetch_add(1, std::memory_order_relaxed);
    dropped = msg.error().message();
    return;
  }
  for (Slot& s : slots) {
    if (s.done || !answers(*msg, s.id, queries[s.index].name, queries[s.index].type)) continue;
    s.done = true;
    if (msg->truncated) {
      s.truncated = true;
    } else if (msg->rcode == rcode::kNoError || msg->rcode == rcode::kNxDomain) {
      results[s.index] = std::move(*msg);
    } else {
      counters.server_errors.fetch_add(1, std::memory_order_relaxed);
      if (msg->rcode == rcode::kFormErr && s.edns) {
        s.edns = false;  // a server from before EDNS0 (RFC 6891 6.2.2)
        s.resend = true;
        s.done = false;
      }
      last = unavailable(
          server, std::string("answered ") + std::string(rcode_name(msg->rcode)) + " for " + queries[s.index].name);
    }
    return;
  }
  counters.dropped.fetch_add(1, std::memory_order_relaxed);  // answers nothing we asked: stale or forged
  dropped = "an answer to no query asked";
}

Result<asio::ip::address> address_of(const Server& server) {
  std::error_code e;
  auto a = asio::ip::make_address(server.address, e);
  if (e) return make_error(Code::kInvalidArgument, "DNS server " + server.address + ": " + e.message());
  return a;
}

// One round of UDP to one server for the slots not answered yet.
Task<void> udp_round(const Context& ctx, const TransportOptions& o, const Server& server,
                     const std::vector<Query>& queries, std::vector<Slot>& slots,
                     std::vector<std::optional<Message>>& results, Status& last, TransportCounters& counters) {
  Loop& loop = *Loop::current();
  auto address = address_of(server);
  if (!address) {
    last = address.error();
    co_return;
  }
  auto h = std::make_shared<Holder<udp::socket>>(loop.io());
  std::error_code e;
  udp::endpoint peer(*address, server.port);
  h->sock.open(peer.protocol(), e);
  if (!e) h->sock.connect(peer, e);  // only the server's datagrams reach this socket
  if (!e) h->sock.non_blocking(true, e);
  if (e) {
    last = unavailable(server, e.message());
    co_return;
  }
  Context call = ctx.with_timeout(o.timeout);
  svckit::detail::DeadlineGuard guard(call);
  CancelRegistration reg = cancel_on(call, loop, h);
  std::unique_ptr<std::uint8_t[]> buf(new std::uint8_t[kMaxMessage]);
  std::string dropped;
  bool first = true;
  for (;;) {
    if (first || std::any_of(slots.begin(), slots.end(), [](const Slot& s) { return s.resend; })) {
      for (Slot& s : slots) {
        if (s.done || !(first || s.resend)) continue;
        s.resend = false;
        auto q = encode_query(s.id, queries[s.index].name, queries[s.index].type, s.edns);
        if (!q) {
          last = q.error();
          s.done = true;
          continue;
        }
        h->sock.send(asio::buffer(q->data(), q->size()), 0, e);
        counters.queries.fetch_add(1, std::memory_order_relaxed);
        if (e) {
          last = unavailable(server, e.message());
          co_return;
        }
      }
      first = false;
    }
    if (std::all_of(slots.begin(), slots.end(), [](const Slot& s) { return s.done; })) co_return;
    if (call.done()) break;
    std::size_t n = h->sock.receive(asio::buffer(buf.get(), kMaxMessage), 0, e);
    if (e == asio::error::would_block) {
      e = co_await svckit::detail::WaitAwaiter{h->sock, udp::socket::wait_read};
      if (e) break;  // the try's time is over, or the caller's context ended
      continue;
    }
    if (e) {  // on a connected socket: the server's ICMP port unreachable (connection refused)
      last = unavailable(server, e.message());
      co_return;
    }
    take_datagram(buf.get(), n, server, queries, slots, results, last, dropped, counters);
  }
  counters.timeouts.fetch_add(1, std::memory_order_relaxed);
  if (Status st = ctx.err(); !st.ok())
    last = st;
  else
    last = unavailable(server, "no answer within " + std::to_string(o.timeout.count() / 1000000) + "ms" +
                                   (dropped.empty() ? "" : " (dropped: " + dropped + ")"));
}

Task<std::error_code> write_all(Holder<tcp::socket>& h, const std::string& data) {
  std::size_t at = 0;
  while (at < data.size()) {
    std::error_code e;
    std::size_t n = h.sock.write_some(asio::buffer(data.data() + at, data.size() - at), e);
    if (e == asio::error::would_block) {
      e = co_await svckit::detail::WaitAwaiter{h.sock, tcp::socket::wait_write};
      if (e) co_return e;
      continue;
    }
    if (e) co_return e;
    at += n;
  }
  co_return std::error_code();
}

Task<std::error_code> read_exactly(Holder<tcp::socket>& h, std::uint8_t* out, std::size_t size) {
  std::size_t at = 0;
  while (at < size) {
    std::error_code e;
    std::size_t n = h.sock.read_some(asio::buffer(out + at, size - at), e);
    if (e == asio::error::would_block) {
      e = co_await svckit::detail::WaitAwaiter{h.sock, tcp::socket::wait_read};
      if (e) co_return e;
      continue;
    }
    if (e) co_return e;
    at += n;
  }
  co_return std::error_code();
}

// The query of `slot` over TCP (RFC 7766: each message preceded by its two-byte length).
Task<void> tcp_query(const Context& ctx, const TransportOptions& o, const Server& server,
                     const std::vector<Query>& queries, const Slot& slot, std::vector<std::optional<Message>>& results,
                     Status& last, TransportCounters& counters) {
  Loop& loop = *Loop::current();
  counters.tcp.fetch_add(1, std::memory_order_relaxed);
  const Query& q = queries[slot.index];
  auto address = address_of(server);
  if (!address) {
    last = address.error();
    co_return;
  }
  auto encoded = encode_query(slot.id, q.name, q.type, slot.edns);
  if (!encoded) {
    last = encoded.error();
    co_return;
  }
  std::string framed;
  framed += static_cast<char>(encoded->size() >> 8);
  framed += static_cast<char>(encoded->size() & 0xFF);
  framed += *encoded;
  auto h = std::make_shared<Holder<tcp::socket>>(loop.io());
  Context call = ctx.with_timeout(o.timeout);
  svckit::detail::DeadlineGuard guard(call);
  CancelRegistration reg = cancel_on(call, loop, h);
  tcp::endpoint peer(*address, server.port);
  std::error_code e = co_await svckit::detail::ConnectAwaiter{h->sock, peer};
  if (!e) h->sock.non_blocking(true, e);
  if (!e) e = co_await write_all(*h, framed);
  std::uint8_t len[2] = {0, 0};
  if (!e) e = co_await read_exactly(*h, len, 2);
  std::size_t size = (std::size_t(len[0]) << 8) | len[1];
  std::unique_ptr<std::uint8_t[]> buf(new std::uint8_t[kMaxMessage]);
  if (!e) e = co_await read_exactly(*h, buf.get(), size);
  if (e) {
    Status st = ctx.err();
    last = !st.ok()
               ? st
               : unavailable(server, "over TCP: " + (call.done() ? std::string("no answer in time") : e.message()));
    co_return;
  }
  auto msg = parse(std::span<const std::uint8_t>(buf.get(), size));
  if (!msg || !answers(*msg, slot.id, q.name, q.type) || msg->truncated) {
    counters.dropped.fetch_add(1, std::memory_order_relaxed);
    std::string why = msg ? std::string("an answer to another question") : std::string(msg.error().message());
    last = unavailable(server, "over TCP: " + why);
    co_return;
  }
  if (msg->rcode != rcode::kNoError && msg->rcode != rcode::kNxDomain) {
    counters.server_errors.fetch_add(1, std::memory_order_relaxed);
    last = unavailable(server, std::string("answered ") + std::string(rcode_name(msg->rcode)) + " for " + q.name);
    co_return;
  }
  results[slot.index] = std::move(*msg);
}

}  // namespace

Task<Result<std::vector<Message>>> exchange(const Context& ctx, const TransportOptions& options,
                                            const std::vector<Query>& queries, TransportCounters& counters) {
  if (!Loop::current()) throw std::logic_error("dns::exchange awaited outside a svckit loop");
  std::vector<std::optional<Message>> results(queries.size());
  std::vector<bool> edns(queries.size(), true);
  Status last(Code::kUnavailable, "no DNS server configured");
  for (int round = 0; round < options.attempts; ++round) {
    for (const Server& server : options.servers) {
      if (Status st = ctx.err(); !st.ok()) co_return std::unexpected(st);
      std::vector<Slot> slots;
      for (std::size_t i = 0; i < queries.size(); ++i)
        if (!results[i]) slots.push_back(Slot{.index = i, .edns = edns[i]});
      if (slots.empty()) break;  // every query answered
      std::vector<std::uint16_t> ids = batch_ids(slots.size());
      for (std::size_t i = 0; i < slots.size(); ++i) slots[i].id = ids[i];
      co_await udp_round(ctx, options, server, queries, slots, results, last, counters);
      for (const Slot& s : slots) {
        edns[s.index] = s.edns;
        if (s.truncated && !results[s.index])
          co_await tcp_query(ctx, options, server, queries, s, results, last, counters);
      }
    }
  }
  std::vector<Message> out;
  for (auto& r : results) {
    if (!r) co_return std::unexpected(last);
    out.push_back(std::move(*r));
  }
  co_return out;
}

}  // namespace svckit::discovery::detail::dns
