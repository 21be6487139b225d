// The database benchmark client (bench/db/run.sh drives it against a real PostgreSQL, beside pgbench,
// a plain libpq program and psql in the same run).
//   db_bench select DSN CONNECTIONS SECONDS COROUTINES   point selects on pgbench_accounts; prints tps
//   db_bench fetch  DSN REPEATS                          10,000 rows with a JSONB column; prints ms each
//   db_bench copy   DSN ROWS                             COPY FROM STDIN into bench_copy; prints ms
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>

#include "svckit/db/postgres.hpp"

using namespace std::chrono;
using svckit::Context;
using svckit::Task;
namespace db = svckit::db;

namespace {

Task<void> selector(std::shared_ptr<db::PgDatabase> pg, steady_clock::time_point end, std::atomic<std::uint64_t>* done,
                    std::atomic<std::uint64_t>* errors, std::int64_t accounts, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int64_t> pick(1, accounts);
  const std::string sql = "SELECT abalance FROM pgbench_accounts WHERE aid = $1";
  while (steady_clock::now() < end) {
    db::Params args{pick(rng)};
    auto r = co_await pg->query(Context(), sql, args);
    if (r && r->size() == 1)
      done->fetch_add(1, std::memory_order_relaxed);
    else
      errors->fetch_add(1, std::memory_order_relaxed);
  }
}

int usage() {
  std::fputs("usage: db_bench select DSN CONNECTIONS SECONDS COROUTINES | fetch DSN REPEATS | copy DSN ROWS\n", stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return usage();
  std::string mode = argv[1], dsn = argv[2];
  std::size_t workers = mode == "select" ? 2 : 1;
  svckit::Runtime rt({.workers = workers});
  std::size_t conns = mode == "select" ? std::strtoul(argv[3], nullptr, 10) : 1;
  auto opened = db::PgDatabase::open(rt, {.dsn = dsn,
                                          .min_connections = conns,
                                          .max_connections = conns,
                                          .statement_timeout = std::chrono::milliseconds(0)});
  if (!opened) {
    std::fprintf(stderr, "%s\n", opened.error().to_string().c_str());
    return 1;
  }
  auto pg = *opened;
  if (mode == "select") {
    if (argc < 6) return usage();
    int seconds = std::atoi(argv[4]), coroutines = std::atoi(argv[5]);
    auto count = rt.block_on([&]() -> Task<svckit::Result<db::Rows>> {
      co_return co_await pg->query(Context(), "SELECT count(*) FROM pgbench_accounts");
    }());
    std::int64_t accounts = count ? *(*count)[0].get<std::int64_t>(0) : 100000;
    // Warm-up: open every connection and prepare the statement on it.
    std::atomic<std::uint64_t> done{0}, errors{0};
    auto warm_end = steady_clock::now() + seconds * 100ms;
    for (int i = 0; i < coroutines; ++i) rt.spawn(selector(pg, warm_end, &done, &errors, accounts, 1000 + i));
    std::this_thread::sleep_until(warm_end + 200ms);
    done = 0;
    errors = 0;
    auto start = steady_clock::now();
    auto end = start + seconds * 1s;
    for (int i = 0; i < coroutines; ++i) rt.spawn(selector(pg, end, &done, &errors, accounts, i));
    std::this_thread::sleep_until(end + 300ms);
    double tps = static_cast<double>(done.load()) / duration<double>(end - start).count();
    std::printf("svckit select: connections=%zu coroutines=%d tps=%.0f errors=%llu\n", conns, coroutines, tps,
                static_cast<unsigned long long>(errors.load()));
  } else if (mode == "fetch") {
    int repeats = std::atoi(argv[3]);
    const std::string sql = "SELECT id, name, score, doc FROM bench_fetch ORDER BY id";
    // Fetch, read and free the rows inside the coroutine, on the event loop, as a handler does (the
    // rows' memory comes from and returns to that thread's malloc arena).
    int status = rt.block_on([&]() -> Task<int> {
      for (int i = 0; i < repeats; ++i) {
        auto t0 = steady_clock::now();
        std::size_t bytes = 0;
        {
          auto rows = co_await pg->query(Context(), sql);
          if (!rows || rows->size() != 10000) {
            std::fprintf(stderr, "fetch failed\n");
            co_return 1;
          }
          // Read every value, as the C program does: numbers parsed, text read in place.
          for (db::Row row : *rows) {
            std::int64_t id;
            double score;
            if (!row.decode(0, id).ok() || !row.decode(2, score).ok()) co_return 1;
            bytes += row.raw(1).size() + row.raw(3).size() + (id < 0) + (score < 0);
          }
        }
        std::printf("svckit fetch: %.3f ms (%zu bytes)\n",
                    duration<double, std::milli>(steady_clock::now() - t0).count(), bytes);
      }
      co_return 0;
    }());
    if (status != 0) return status;
  } else if (mode == "copy") {
    long rows = std::atol(argv[3]);
    long next = 0;
    auto t0 = steady_clock::now();
    auto copied = rt.block_on([&]() -> Task<svckit::Result<std::uint64_t>> {
      co_return co_await pg->copy_in(Context(), "COPY bench_copy (id, name, score, doc) FROM STDIN",
                                     [&]() -> std::optional<std::string> {
                                       if (next >= rows) return std::nullopt;
                                       std::string chunk;
                                       chunk.reserve(64 * 1024);
                                       for (int k = 0; k < 1000 && next < rows; ++k, ++next) {
                                         chunk += std::to_string(next);
                                         chunk += "\tname-";
                                         chunk += std::to_string(next);
                                         chunk += "\t0.5\t{\"n\": ";
                                         chunk += std::to_string(next);
                                         chunk += ", \"tags\": [\"a\", \"b\"]}\n";
                                       }
                                       return chunk;
                                     });
    }());
    if (!copied) {
      std::fprintf(stderr, "%s\n", copied.error().to_string().c_str());
      return 1;
    }
    std::printf("svckit copy: %llu rows in %.1f ms\n", static_cast<unsigned long long>(*copied),
                duration<double, std::milli>(steady_clock::now() - t0).count());
  } else {
    return usage();
  }
  pg->close();
  return 0;
}
