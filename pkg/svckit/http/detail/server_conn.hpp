#pragma once
// Internal (server): the state the server keeps per loop and per connection, and the connection's
// request cycle as one method per phase (read the head, route, read the body, handle, respond, close).
// server.cpp owns listening, accepting, timeouts and the drain; connection.cpp the request cycle.
// Per-request state lives in the connection and is reset, never reallocated, between requests.
// clang-format off
#include <coroutine>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>
#include <asio/ip/tcp.hpp>
// clang-format on

#include "svckit/http/detail/read_poller.hpp"
#include "svckit/http/server.hpp"

namespace svckit::http {

namespace detail {
inline std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}
}  // namespace detail

struct Server::Counters {
  std::atomic<std::uint64_t> accepted{0}, rejected{0}, requests{0}, bad{0}, timeouts{0}, exceptions{0};
};

struct Server::LoopState {
  Loop* loop = nullptr;
  std::unique_ptr<asio::ip::tcp::acceptor> acceptor;
  std::unique_ptr<detail::ReadPoller> poller;  // every connection of this loop, for read waits
  std::vector<Conn*> conns;
};

struct Server::Conn {
  enum class State : std::uint8_t { kIdle, kHead, kBody, kHandling, kWriting };
  Conn(Server& s, LoopState& l, asio::ip::tcp::socket so) : srv(s), ls(&l), sock(std::move(so)) {}

  // The whole life of the connection: requests until one of the phases ends it, then close().
  Task<void> run();

  Server& srv;
  LoopState* ls;
  asio::ip::tcp::socket sock;
  std::size_t slot = 0;  // index in ls->conns
  State state = State::kIdle;
  std::int64_t deadline = 0;  // steady ns; 0: none
  bool timed_out = false;     // the sweep (or the drain) cancelled the connection's wait
  std::string remote;
  detail::ReadPoller* poller = nullptr;  // set when the loop's poller took the connection
  detail::ReadPoller::Waiter rw;

  // The input buffer: [start, end) holds bytes not yet consumed.
  std::unique_ptr<char[]> in;
  std::size_t cap = 0, start = 0, end = 0;

  // The current request.
  RequestHead head;
  Request req;
  Response res;
  Router::Match match;
  std::size_t consumed = 0;    // bytes of the head
  std::size_t body_start = 0;  // offset of the body in `in`
  std::size_t next_start = 0;  // offset of the next request in `in`
  std::uint64_t body_limit = 0;
  std::string chunked_body;

  std::string out;            // response bytes not yet written
  std::string_view big_body;  // a large response body, written from the Response without a copy
  std::string scratch;
  bool just_flushed = false;  // the last thing done was a write: no point reading speculatively

 private:
  void open();
  // Phases, in run()'s order. A phase that returns false has ended the connection (after answering,
  // if it could); the synchronous ones are the hot path's, their coroutine forms the slow path's.
  Task<bool> read_head();
  void route();
  bool body_buffered();
  Task<bool> read_body();
  Task<bool> read_fixed_body(std::size_t len);
  Task<bool> read_chunked_body();
  bool handle_inline();
  Task<void> handle();
  void handle_unrouted();
  void handler_threw(const char* what);
  bool encode_response();
  void close();

  // Helpers of the phases.
  Task<bool> flush(std::string_view extra);
  Task<void> refuse(int status, std::string_view why);
  bool make_room(std::size_t want, std::size_t max_total);
  Task<std::size_t> read_more();
  void reparse_head();
  Task<bool> send_continue();
  void set_state(State s, std::chrono::nanoseconds timeout);
};

}  // namespace svckit::http
