#include "svckit/db/detail/pg_pool.hpp"

#include <algorithm>
#include <string>
#include <utility>

namespace svckit::db {

PgDatabase::Impl::Impl(Runtime& r, PgOptions o) : rt(r), options(std::move(o)), pools(r.size()) {
  auto& reg = metrics::Registry::global();
  auto& conns = reg.gauge_vec({.name = "svckit_db_pool_connections", .help = "Pooled database connections by state."},
                              {"driver", "state"});
  open_gauge = conns.with({"postgres", "open"});
  busy_gauge = conns.with({"postgres", "busy"});
  waiting_gauge =
      reg.gauge_vec({.name = "svckit_db_pool_waiting", .help = "Calls waiting for a pooled connection."}, {"driver"})
          .with({"postgres"});
  acquire_seconds = reg.histogram_vec({.name = "svckit_db_pool_acquire_seconds",
                                       .help = "Time to get a pooled connection.",
                                       .buckets = metrics::exponential_buckets(0.00001, 4, 10)},
                                      {"driver"})
                        .with({"postgres"});
  std::size_t loops = std::max<std::size_t>(pools.size(), 1);
  for (std::size_t i = 0; i < pools.size(); ++i) {
    pools[i].max = std::max<std::size_t>(1, (options.max_connections + loops - 1 - i) / loops);
    pools[i].min = (options.min_connections + loops - 1 - i) / loops;
  }
}

namespace detail {

namespace {

// Opens one more pooled connection on the current loop.
Task<Result<std::shared_ptr<PgConn>>> open_conn(std::shared_ptr<Impl> impl, Loop* loop) {
  LoopPool& pool = impl->pools[loop->index()];
  ++pool.connecting;
  auto r = co_await connect(impl, loop, true);
  --pool.connecting;
  if (!r) {
    impl->connect_failures.fetch_add(1);
    pool.backoff = pool.backoff.count() == 0 ? std::chrono::milliseconds(50)
                                             : std::min(pool.backoff * 2, std::chrono::milliseconds(1000));
    pool.failed_at = Clock::now();
    pool.retry_at = pool.failed_at + pool.backoff;
    pool.last_error = r.error();
    co_return r;
  }
  if (impl->closed) co_return make_error(Code::kUnavailable, "database closed");
  pool.backoff = std::chrono::milliseconds(0);
  pool.last_error = Status();
  impl->last_connect_ok.store(Clock::now().time_since_epoch().count());
  impl->connects.fetch_add(1);
  impl->open.fetch_add(1);
  impl->open_gauge.inc();
  pool.conns.push_back(*r);
  loop->spawn(reader(impl, *r));
  co_return r;
}

// Past the backoff, or another loop has reached the server since this one failed.
bool may_connect(const Impl& impl, const LoopPool& pool) {
  return Clock::now() >= pool.retry_at || impl.last_connect_ok.load() > pool.failed_at.time_since_epoch().count();
}

Status unavailable(const LoopPool& pool) {
  return Status(Code::kUnavailable, "DATABASE_UNAVAILABLE",
                "database unavailable (reconnecting): " +
                    std::string(pool.last_error.ok() ? "no connection" : pool.last_error.message()));
}

// Closes idle connections beyond min and ones past max_lifetime; true when the pool is below min
// and may connect now.
bool sweep_once(Impl& impl, LoopPool& pool) {
  auto now = Clock::now();
  std::vector<std::shared_ptr<PgConn>> retire;
  std::size_t keep = pool.conns.size();
  for (auto& c : pool.conns) {
    if (c->reserved || !c->pending.empty() || !c->ready) continue;
    bool old = now - c->created > impl.options.max_lifetime;
    bool idle = keep > pool.min && now - c->last_used > impl.options.idle_timeout;
    if (old || idle) {
      retire.push_back(c);
      --keep;
    }
  }
  for (auto& c : retire) fail_conn(c, Status(Code::kUnavailable, "connection retired"));
  return pool.conns.size() + pool.connecting < pool.min && may_connect(impl, pool);
}

}  // namespace

Task<Result<std::shared_ptr<PgConn>>> acquire(std::shared_ptr<Impl> impl, const Context& call, bool reserve) {
  Loop* loop = Loop::current();
  if (!loop) co_return make_error(Code::kInternal, "database calls must run on a svckit loop");
  if (impl->closed) co_return make_error(Status(Code::kUnavailable, "DATABASE_UNAVAILABLE", "database closed"));
  LoopPool& pool = impl->pools[loop->index()];
  const std::size_t depth = impl->options.pipeline ? std::max<std::size_t>(impl->options.max_pipeline_depth, 1) : 1;
  const auto started = Clock::now();
  const auto give_up = started + impl->options.acquire_timeout;
  bool waiting = false;
  auto stop_waiting = [&] {
    if (waiting) impl->waiting_gauge.dec();
    waiting = false;
  };
  for (;;) {
    PgConn* best = nullptr;
    for (auto& c : pool.conns) {
      if (!c->ready || c->broken || c->reserved) continue;
      if (reserve ? !c->pending.empty() : c->pending.size() >= depth) continue;
      if (!best || c->pending.size() < best->pending.size()) best = c.get();
    }
    auto take = [&](PgConn* c) {
      stop_waiting();
      if (reserve) c->reserved = true;
      update_busy(*c);
      impl->acquire_seconds.observe(std::chrono::duration<double>(Clock::now() - started).count());
      return c->shared_from_this();
    };
    if (best && best->pending.empty()) co_return take(best);
    bool can_open = pool.conns.size() + pool.connecting < pool.max && may_connect(*impl, pool);
    if (can_open) {
      auto r = co_await open_conn(impl, loop);
      if (r && !(*r)->broken && !(*r)->reserved) co_return take(r->get());
      if (!r && !best && pool.conns.empty()) {
        stop_waiting();
        co_return std::unexpected(unavailable(pool));
      }
      continue;
    }
    if (best) co_return take(best);
    if (pool.conns.empty() && pool.connecting == 0 && !pool.last_error.ok()) {
      stop_waiting();
      co_return std::unexpected(unavailable(pool));  // fail fast while the server is away
    }
    if (call.done()) {
      stop_waiting();
      co_return std::unexpected(call.err());
    }
    if (Clock::now() >= give_up) {
      stop_waiting();
      co_return make_error(Status(
          Code::kUnavailable, "POOL_EXHAUSTED",
          "no database connection free within " + std::to_string(impl->options.acquire_timeout.count()) + " ms"));
    }
    if (!waiting) {
      waiting = true;
      impl->waiting_gauge.inc();
    }
    Status slept = co_await sleep_for(call, std::chrono::microseconds(500));
    (void)slept;  // a done call is noticed at the top of the loop
  }
}

void release(const std::shared_ptr<PgConn>& c) {
  c->reserved = false;
  update_busy(*c);
}

Task<Result<std::shared_ptr<PgConn>>> connection_for(std::shared_ptr<Impl> impl, const Context& call,
                                                     std::shared_ptr<PgConn> tx_conn, bool exclusive) {
  if (!tx_conn) co_return co_await acquire(impl, call, exclusive);
  if (tx_conn->broken)
    co_return make_error(Status(Code::kUnavailable, "DATABASE_UNAVAILABLE", "the transaction's connection was lost"));
  co_return tx_conn;
}

// The frame holds as little as possible (and no co_await in a loop condition): GCC 12 mislays locals
// of coroutine frames in such loops.
Task<void> sweep(std::shared_ptr<Impl> impl, Loop* loop) {
  for (;;) {
    Status slept = co_await sleep_for(impl->stop, std::chrono::milliseconds(250));
    if (!slept.ok() || impl->closed) co_return;
    if (sweep_once(*impl, impl->pools[loop->index()])) {
      auto opened = co_await open_conn(impl, loop);
      (void)opened;
    }
  }
}

}  // namespace detail

}  // namespace svckit::db
