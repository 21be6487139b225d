#include "svckit/resilience/redis_limiter.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstring>

#include "svckit/log/logger.hpp"
#include "svckit/metrics/metrics.hpp"

namespace svckit::resilience {

namespace {

// A token bucket in a Redis hash, refilled from the server's clock; returns how many of the wanted
// tokens were granted. Atomic: Redis runs a script alone.
constexpr std::string_view kScript = R"LUA(
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local got = math.min(want, math.floor(tokens))
tokens = tokens - got
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return got
)LUA";

std::string command(std::initializer_list<std::string_view> args) {
  std::string out = "*";  // appended piecewise: "x" + std::string&& trips GCC 12's -Wrestrict
  out += std::to_string(args.size());
  out += "\r\n";
  for (auto a : args) {
    out += '$';
    out += std::to_string(a.size());
    out += "\r\n";
    out.append(a);
    out += "\r\n";
  }
  return out;
}

bool wait_fd(int fd, short events, std::chrono::milliseconds timeout) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1 && !(p.revents & (POLLERR | POLLHUP | POLLNVAL));
}

}  // namespace

RedisTokenBucket::RedisTokenBucket(RedisLimiterOptions o)
    : o_(std::move(o)),
      fallback_(o_.fallback_rate > 0 ? o_.fallback_rate : o_.rate,
                o_.fallback_burst > 0 ? o_.fallback_burst : o_.burst),
      thread_([this] { run(); }) {}

RedisTokenBucket::~RedisTokenBucket() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

Status RedisTokenBucket::try_acquire() {
  if (degraded_.load(std::memory_order_relaxed)) return fallback_.try_acquire();
  std::int64_t t = tokens_.load(std::memory_order_relaxed);
  while (t > 0)
    if (tokens_.compare_exchange_weak(t, t - 1, std::memory_order_relaxed)) return {};
  return rate_limited("cluster rate limit", o_.lease_interval);
}

// One EVAL round trip on the thread's blocking socket (never on an event loop).
Result<std::int64_t> RedisTokenBucket::lease(std::int64_t want) {
  if (fd_ < 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(o_.port));
    if (::inet_pton(AF_INET, o_.host.c_str(), &a.sin_addr) != 1)
      return make_error(Code::kInvalidArgument, "bad Redis host");
    int rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    if (rc != 0 && (errno != EINPROGRESS || !wait_fd(fd_, POLLOUT, o_.timeout))) {
      ::close(fd_);
      fd_ = -1;
      return make_error(Code::kUnavailable, "cannot connect to Redis");
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
      ::close(fd_);
      fd_ = -1;
      return make_error(Code::kUnavailable, std::string("cannot connect to Redis: ") + std::strerror(err));
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  auto fail = [this](std::string why) {
    ::close(fd_);
    fd_ = -1;
    return make_error(Code::kUnavailable, "Redis: " + why);
  };
  char rate[32], burst[32];
  std::snprintf(rate, sizeof rate, "%.6f", o_.rate);
  std::snprintf(burst, sizeof burst, "%.6f", o_.burst);
  std::string req = command({"EVAL", kScript, "1", o_.key, rate, burst, std::to_string(want)});
  for (std::size_t sent = 0; sent < req.size();) {
    if (!wait_fd(fd_, POLLOUT, o_.timeout)) return fail("send timed out");
    ssize_t n = ::send(fd_, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return fail("send failed");
    sent += static_cast<std::size_t>(n);
  }
  std::string reply;
  while (reply.find("\r\n") == std::string::npos) {
    if (!wait_fd(fd_, POLLIN, o_.timeout)) return fail("no answer");
    char buf[256];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return fail("connection closed");
    reply.append(buf, static_cast<std::size_t>(n));
  }
  if (reply[0] == ':') {
    std::int64_t got = 0;
    std::from_chars(reply.data() + 1, reply.data() + reply.find("\r\n"), got);
    return got;
  }
  return fail("unexpected reply: " + reply.substr(0, reply.find("\r\n")));
}

void RedisTokenBucket::run() {
  static auto degraded_gauge = metrics::Registry::global().gauge(
      {.name = "svckit_resilience_redis_limiter_degraded",
       .help = "1 while the cluster rate limiter runs on its local fallback (Redis unreachable)."});
  std::unique_lock lock(mu_);
  auto next_retry = std::chrono::steady_clock::now();
  while (!stop_) {
    lock.unlock();
    auto now = std::chrono::steady_clock::now();
    if (!degraded_.load() || now >= next_retry) {
      // Keep about two intervals' worth of tokens in hand.
      auto target =
          static_cast<std::int64_t>(std::ceil(o_.rate * 2 * static_cast<double>(o_.lease_interval.count()) / 1000.0));
      std::int64_t want = std::max<std::int64_t>(target - tokens_.load(), 0);
      auto got = want > 0 ? lease(want) : Result<std::int64_t>(0);
      if (got) {
        tokens_.fetch_add(*got);
        if (degraded_.exchange(false)) {
          degraded_gauge.set(0);
          log::global().info("cluster rate limiter back on Redis", {{"key", o_.key}});
        }
      } else {
        errors_.fetch_add(1);
        tokens_.store(0);
        next_retry = now + std::chrono::milliseconds(250);
        if (!degraded_.exchange(true)) {
          degraded_gauge.set(1);
          log::global().warn("cluster rate limiter on its local fallback", {{"key", o_.key}, {"error", got.error()}});
        }
      }
    }
    lock.lock();
    cv_.wait_for(lock, o_.lease_interval, [this] { return stop_; });
  }
}

}  // namespace svckit::resilience
