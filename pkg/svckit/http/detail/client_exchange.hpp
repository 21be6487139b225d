#pragma once
// Internal (client): the connection pools and one request/response exchange as a type with one
// method per phase: encode the request, acquire a connection (idle, new, or wait for one), write,
// read the head, read the body, and give the connection back or close it.
// clang-format off
#include <coroutine>
#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <memory>
#include <string>
#include <system_error>
#include <vector>
#include <asio/ip/tcp.hpp>
// clang-format on

#include "svckit/discovery/outlier.hpp"
#include "svckit/http/client.hpp"
#include "svckit/http/detail/tls.hpp"

namespace svckit::http {

// Methods RFC 9110 calls idempotent: sending one again after a lost response is safe.
inline bool idempotent(Method m) {
  return m == Method::kGet || m == Method::kHead || m == Method::kPut || m == Method::kDelete ||
         m == Method::kOptions || m == Method::kTrace;
}

struct ClientConn {
  explicit ClientConn(asio::io_context& io) : sock(io) {}
  asio::ip::tcp::socket sock;
  detail::SslPtr ssl;  // https: the TLS session over sock; null: plain
  std::unique_ptr<char[]> buf = std::unique_ptr<char[]>(new char[16 * 1024]);
  std::size_t cap = 16 * 1024, start = 0, end = 0;
  ResponseHead head;
  Clock::time_point idle_since;

  // One read or write, plain or TLS: the bytes moved, or would_block with what to wait for in `want`.
  using Wait = asio::ip::tcp::socket::wait_type;
  std::size_t read_some(char* p, std::size_t n, std::error_code& e, Wait& want) {
    want = asio::ip::tcp::socket::wait_read;
    if (ssl) [[unlikely]]
      return tls_result(detail::tls_read(ssl.get(), p, n), e, want);
    return sock.read_some(asio::buffer(p, n), e);
  }
  std::size_t write_some(const char* p, std::size_t n, std::error_code& e, Wait& want) {
    want = asio::ip::tcp::socket::wait_write;
    if (ssl) [[unlikely]]
      return tls_result(detail::tls_write(ssl.get(), p, n), e, want);
    return sock.write_some(asio::buffer(p, n), e);
  }
  static std::size_t tls_result(const detail::TlsIo& r, std::error_code& e, Wait& want) {
    if (r.want != detail::Want::kNone) {
      e = asio::error::would_block;
      want = r.want == detail::Want::kWrite ? asio::ip::tcp::socket::wait_write : asio::ip::tcp::socket::wait_read;
      return 0;
    }
    e = r.ec;
    return r.n;
  }
};

struct HostPool {
  std::vector<std::shared_ptr<ClientConn>> idle;
  std::size_t open = 0;  // idle + in use
};

// A discovered service's live set, shared by the loops: the watch replaces it, each loop's balancer
// takes a copy when the generation moved.
struct ServiceView {
  explicit ServiceView(std::size_t loops) : ejected_by_loop(new std::atomic<std::uint32_t>[loops]()), loops(loops) {}
  std::mutex mu;
  std::vector<discovery::Instance> set;
  std::atomic<std::uint64_t> generation{0};
  discovery::ServicePolicy policy;
  std::atomic<std::uint64_t> ejections{0};
  std::unique_ptr<std::atomic<std::uint32_t>[]> ejected_by_loop;  // each loop's count, for metrics
  std::size_t loops;
  std::unique_ptr<discovery::Watch> watch;  // last member: destroyed first, so no callback outlives the rest
};

// A loop's view of one service: the registry's set (raw), its passive health, and the balancer
// over the instances that are not ejected.
struct LoopBalancer {
  std::unique_ptr<discovery::Balancer> balancer;
  std::uint64_t seen = ~std::uint64_t{0};
  std::shared_ptr<ServiceView> view;
  std::vector<discovery::Instance> raw;  // the registry's set, version-filtered
  discovery::OutlierDetector outliers;
  std::uint64_t outlier_epoch = ~std::uint64_t{0};
  // Instance id → its http endpoint parsed, for the set in `raw` (cleared when the set changes): a
  // call does not parse its instance's address again.
  std::map<std::string, Url, std::less<>> endpoints;
};

namespace detail {
// TLS contexts by "host:port" (tls_hosts) or "" (options.tls), made on first use off the loop (they
// read the CA bundle and the client certificate); a context that failed to load is remembered as
// its error for a second, then loaded again. Once a second at most, a handshake that found a good
// context starts a look at its files in the background (blocking pool): changed files that load (a
// rotated certificate or CA bundle) become the context of the next connections; files that do not
// load leave the context in force, and are tried again a second later. Shared with those looks,
// which may outlive the client.
struct ClientTlsContext {
  Result<SslCtxPtr> ctx;
  std::shared_ptr<ClientSessions> sessions = std::make_shared<detail::ClientSessions>();
  std::string files;  // the files' fingerprint when ctx was made
  std::chrono::steady_clock::time_point looked;
  bool looking = false;  // a load or a look is under way
};
struct ClientTlsContexts {
  std::mutex mu;
  std::map<std::string, ClientTlsContext, std::less<>> by_key;
};
}  // namespace detail

struct Client::Impl {
  Runtime& rt;
  ClientOptions options;
  // One map per loop: a coroutine stays on its loop, so pools need no lock.
  std::vector<std::map<std::string, HostPool, std::less<>>> pools;
  std::vector<std::map<std::string, LoopBalancer, std::less<>>> balancers;  // per loop, by service
  std::mutex views_mu;
  std::map<std::string, std::shared_ptr<ServiceView>, std::less<>> views;
  std::atomic<std::uint64_t> requests{0}, opened{0}, reused{0}, retries{0}, instance_retries{0}, ejections{0};
  std::atomic<std::uint64_t> tls_handshakes{0}, tls_resumed{0};
  std::shared_ptr<detail::ClientTlsContexts> tls = std::make_shared<detail::ClientTlsContexts>();
  const ClientTlsOptions& tls_options(std::string_view hostport) const {
    auto it = options.tls_hosts.find(hostport);
    return it == options.tls_hosts.end() ? options.tls : it->second;
  }

  Impl(Runtime& r, ClientOptions o) : rt(r), options(std::move(o)), pools(r.size()), balancers(r.size()) {}
  ~Impl() {
    // The watches first: their callbacks write into the views.
    std::lock_guard lock(views_mu);
    for (auto& [name, view] : views) view->watch.reset();
  }
};

// An empty buffer for a request head, reused from an earlier call on this thread, and its return.
std::string take_head_buffer();
void give_back_head_buffer(std::string&& buffer);

// One call's exchange with one upstream (host:port), on the calling loop, tries included.
struct Client::Exchange {
  Exchange(Impl& i, Loop& l, const ClientRequest& r, const Url& u, const Context& c);
  ~Exchange();
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  // The request's bytes: head, and the body unless it is streamed.
  void encode(const Context& caller);
  // A connection in `conn`: an idle one still open, a new one, or one that comes back within the
  // deadline. An error Status ends the call.
  Task<Status> acquire();
  // The request written (the streamed body chunked); the error, if any, is left in `ec`.
  Task<void> write();
  // The response, or an error; `retry` set when a reused connection had been closed by the server
  // before it saw anything of ours, so that sending again is safe.
  Task<Result<ClientResponse>> read(bool& retry);

  Impl& impl;
  Loop& loop;
  const ClientOptions& opt;
  const ClientRequest& request;
  const Url& url;
  const Context& call;  // the call's own context: its deadline bounds every phase
  std::string key;      // host:port
  HostPool& pool;
  bool streaming = false;
  int attempt = 0;

  std::string bytes;  // the encoded request
  std::shared_ptr<ClientConn> conn;
  bool reused = false;
  CancelRegistration cancel_reg;  // cancelling the call cancels the connection's pending I/O
  std::error_code ec;
  Status source_status;  // body_source's error, if it failed
  void give_up();

 private:
  Task<Status> connect_new();
  Task<Status> handshake(ClientConn& c);
  Task<std::error_code> write_all(std::string_view data);
  Task<std::error_code> write_gather(std::string_view a, std::string_view b, std::string_view c);
  Task<void> write_source();
  Task<std::size_t> read_some();
  Task<bool> read_body(ClientResponse& res, bool& keep_alive, Status& sink_status);
  bool deliver(ClientResponse& res, std::string_view piece, Status& sink_status);
  void watch_cancel(const std::shared_ptr<ClientConn>& c);
  // The call's own error (deadline, cancellation) or UNAVAILABLE with `reason`: CONNECT_FAILED
  // (nothing was sent), NO_RESPONSE or RESPONSE_CUT_SHORT (sent; the answer did not arrive whole).
  Status ended(std::string_view reason, std::string_view what) const;
};

}  // namespace svckit::http
