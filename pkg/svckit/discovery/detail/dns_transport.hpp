#pragma once
// Internal: the dns backend's stub resolver on the wire. A batch of queries goes to one server over
// one UDP socket (a fresh socket, so a fresh random source port, and random query ids from
// getrandom), on the calling coroutine's loop with Asio, never blocking it. Each datagram must answer
// a query of the batch (id, QR, the same question) or it is dropped; a truncated answer (TC) is asked
// again over TCP; FORMERR to a query with EDNS0 is asked again without it. A server that does not
// answer within `timeout`, refuses the socket, or answers SERVFAIL, REFUSED or NOTIMP leaves the
// queries to the next server, for `attempts` rounds over the servers, as glibc's resolver does.
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "svckit/core/context.hpp"
#include "svckit/core/task.hpp"
#include "svckit/discovery/detail/dns_config.hpp"
#include "svckit/discovery/detail/dns_message.hpp"

namespace svckit::discovery::detail::dns {

struct Query {
  std::string name;  // absolute, without the trailing dot
  std::uint16_t type = 0;
};

struct TransportOptions {
  std::vector<Server> servers;
  Duration timeout = std::chrono::seconds(2);  // each try of a server
  int attempts = 2;                            // rounds over the servers
};

struct TransportCounters {
  std::atomic<std::uint64_t> queries{0};        // datagrams sent
  std::atomic<std::uint64_t> tcp{0};            // queries asked again over TCP after a truncated answer
  std::atomic<std::uint64_t> timeouts{0};       // tries of a server that ended without every answer
  std::atomic<std::uint64_t> server_errors{0};  // SERVFAIL, REFUSED, NOTIMP, FORMERR answers
  std::atomic<std::uint64_t> dropped{0};        // datagrams that were malformed or answered no query
};

// The answers to `queries`, in their order, each NOERROR or NXDOMAIN; UNAVAILABLE naming the last
// failure when some query got no such answer from any server, or the context's error. Must be
// awaited on a svckit loop.
Task<Result<std::vector<Message>>> exchange(const Context& ctx, const TransportOptions& options,
                                            const std::vector<Query>& queries, TransportCounters& counters);

}  // namespace svckit::discovery::detail::dns
