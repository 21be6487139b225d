// What following a service in a real etcd costs (docs/benchmarks.md, make bench-discovery). Each mode
// starts its own etcd (Debian's etcd-server) on free 127.0.0.1 ports with a fresh data folder.
//
//   discovery_etcd_watch propagation [--watchers 5] [--changes 100]
//     One registrant registers and deregisters instances in turn (`changes` changes); `watchers`
//     watchers, each with its own EtcdRegistry, runtime thread and watch stream (as separate processes
//     would have), follow the service. Per change: the time from the start of the register or
//     deregister call to the moment the last watcher's callback had the new set (and the first
//     watcher's); median, p99 and max.
//   discovery_etcd_watch watch [--instances 1000] [--seconds 10] [--rate 10]
//     A registrant process (this binary, mode `registrant`) registers `instances` instances of one
//     service, each on its own lease. This process watches the service, keeping each set as the HTTP
//     client does (a copy under a lock), and reports its own RSS and CPU (user + sys): with the runtime
//     and registry alone, then while idle for `seconds`, then while the registrant changes the set at
//     `rate` changes a second (deregister one, register it back) for `seconds`.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "svckit/discovery_etcd/etcd_registry.hpp"
#include "svckit/testing/etcd_fixture.hpp"

using namespace std::chrono_literals;
using namespace svckit;
using Clock = std::chrono::steady_clock;

namespace {

int arg_int(int argc, char** argv, const char* name, int fallback) {
  for (int i = 2; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::atoi(argv[i + 1]);
  return fallback;
}

discovery::Instance make_instance(const std::string& service, int k) {
  discovery::Instance i;
  char id[32];
  std::snprintf(id, sizeof id, "%s-%04d", service.c_str(), k);
  i.id = id;
  i.name = service;
  i.version = "1.4.2";
  i.zone = k % 2 ? "a" : "b";
  std::string host = "10.1." + std::to_string(k / 250) + "." + std::to_string(k % 250 + 1);
  i.endpoints = {"http://" + host + ":8080", "grpc://" + host + ":9090"};
  i.metadata["admin"] = "http://" + host + ":8081";
  return i;
}

std::shared_ptr<discovery::EtcdRegistry> open(Runtime& rt, const std::string& url) {
  discovery::EtcdOptions o;
  o.endpoints = {url};
  o.lease_ttl = 30s;
  o.backoff_min = 50ms;
  o.backoff_max = 500ms;
  return discovery::EtcdRegistry::create(rt, o);
}

double ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// Nearest-rank percentile of sorted samples.
double pct(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  std::size_t rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size(), std::max<std::size_t>(rank, 1)) - 1];
}

// ---- propagation --------------------------------------------------------------------------------

struct Watcher {
  Runtime rt{{.workers = 1}};
  std::shared_ptr<discovery::EtcdRegistry> registry;
  std::unique_ptr<discovery::Watch> watch;
  std::mutex mu;
  std::condition_variable cv;
  // Every set delivered: when, and whether it held the instance being changed.
  std::vector<std::pair<Clock::time_point, std::vector<std::string>>> sets;
};

bool holds(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

int propagation(int watchers_n, int changes) {
  testkit::EtcdServer etcd;
  if (!etcd.start()) {
    std::fprintf(stderr, "etcd did not start\n");
    return 1;
  }
  Runtime rt({.workers = 1});
  auto registrant = open(rt, etcd.url());
  std::vector<std::unique_ptr<Watcher>> watchers;
  for (int w = 0; w < watchers_n; ++w) {
    auto& x = *watchers.emplace_back(std::make_unique<Watcher>());
    x.registry = open(x.rt, etcd.url());
    x.watch = x.registry->watch("prop", [&x](const std::vector<discovery::Instance>& set) {
      std::vector<std::string> ids;
      for (const auto& i : set) ids.push_back(i.id);
      auto now = Clock::now();
      std::lock_guard lock(x.mu);
      x.sets.emplace_back(now, std::move(ids));
      x.cv.notify_all();
    });
  }
  for (auto& w : watchers) {  // each has its first (empty) set
    std::unique_lock lock(w->mu);
    w->cv.wait_for(lock, 10s, [&] { return !w->sets.empty(); });
  }
  std::vector<double> last_ms, first_ms, call_ms;
  for (int c = 0; c < changes; ++c) {
    discovery::Instance inst = make_instance("prop", c / 2);
    bool adding = c % 2 == 0;
    auto t0 = Clock::now();
    Status st = rt.block_on([&]() -> Task<Status> {
      Context ctx = Context().with_timeout(5s);  // named: see docs/architecture.md on GCC 12
      if (adding) co_return co_await registrant->register_instance(ctx, inst);
      co_return co_await registrant->deregister(ctx, inst);
    }());
    call_ms.push_back(ms(Clock::now() - t0));
    if (!st.ok()) {
      std::fprintf(stderr, "change %d: %s\n", c, st.to_string().c_str());
      return 1;
    }
    Clock::time_point first = Clock::time_point::max(), last = Clock::time_point::min();
    for (auto& w : watchers) {
      std::unique_lock lock(w->mu);
      auto seen = [&]() -> std::optional<Clock::time_point> {
        for (auto& [when, ids] : w->sets)
          if (when >= t0 && holds(ids, inst.id) == adding) return when;
        return std::nullopt;
      };
      if (!w->cv.wait_for(lock, 10s, [&] { return seen().has_value(); })) {
        std::fprintf(stderr, "change %d: a watcher never saw it\n", c);
        return 1;
      }
      first = std::min(first, *seen());
      last = std::max(last, *seen());
    }
    first_ms.push_back(ms(first - t0));
    last_ms.push_back(ms(last - t0));
    for (auto& w : watchers) {
      std::lock_guard lock(w->mu);
      w->sets.clear();
    }
    std::this_thread::sleep_for(20ms);
  }
  for (auto* v : {&last_ms, &first_ms, &call_ms}) std::sort(v->begin(), v->end());
  std::printf("propagation: %d changes (register/deregister in turn), %d watchers, etcd %s\n", changes, watchers_n,
              etcd.url().c_str());
  std::printf("  every watcher has it: median %.2f ms, p99 %.2f ms, max %.2f ms\n", pct(last_ms, 50), pct(last_ms, 99),
              last_ms.back());
  std::printf("  first watcher has it: median %.2f ms, p99 %.2f ms\n", pct(first_ms, 50), pct(first_ms, 99));
  std::printf("  the change call itself (lease grant + put, or delete + revoke): median %.2f ms, p99 %.2f ms\n",
              pct(call_ms, 50), pct(call_ms, 99));
  watchers.clear();
  registrant->close();
  return 0;
}

// ---- a watcher of 1,000 instances ---------------------------------------------------------------

long rss_kib(const char* field = "VmRSS:") {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + std::strlen(field));
  return -1;
}

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// The registrant: registers n instances, says "ready", then waits for commands on stdin:
// "churn RATE" changes the set at RATE a second until "stop" (or end of input).
int registrant(const std::string& url, int n) {
  Runtime rt({.workers = 1});
  auto reg = open(rt, url);
  std::vector<discovery::Instance> all;
  for (int k = 0; k < n; ++k) all.push_back(make_instance("bench", k));
  for (const auto& i : all) {
    Status st = rt.block_on([&]() -> Task<Status> {
      Context ctx = Context().with_timeout(5s);
      co_return co_await reg->register_instance(ctx, i);
    }());
    if (!st.ok()) {
      std::fprintf(stderr, "registrant: %s\n", st.to_string().c_str());
      return 1;
    }
  }
  std::printf("ready\n");
  std::fflush(stdout);
  std::string cmd;
  std::mt19937 rng(42);
  while (std::getline(std::cin, cmd)) {
    if (cmd.rfind("churn ", 0) != 0) break;
    int rate = std::atoi(cmd.c_str() + 6);
    // Churn on a thread of its own until the next line arrives.
    std::atomic<bool> stop{false};
    std::atomic<int> done{0};
    std::thread churn([&] {
      auto next = Clock::now();
      std::uniform_int_distribution<int> pick(0, n - 1);
      while (!stop) {
        const discovery::Instance& i = all[static_cast<std::size_t>(pick(rng))];
        for (int step = 0; step < 2 && !stop; ++step) {  // out, then back in: two changes
          next += std::chrono::microseconds(1'000'000 / std::max(rate, 1));
          std::this_thread::sleep_until(next);
          (void)rt.block_on([&]() -> Task<Status> {
            Context ctx = Context().with_timeout(5s);
            if (step == 0) co_return co_await reg->deregister(ctx, i);
            co_return co_await reg->register_instance(ctx, i);
          }());
          ++done;
        }
      }
    });
    std::getline(std::cin, cmd);
    stop = true;
    churn.join();
    std::printf("churned %d\n", done.load());
    std::fflush(stdout);
  }
  reg->close();
  return 0;
}

int watch(const char* self, int n, int seconds, int rate) {
  testkit::EtcdServer etcd;
  if (!etcd.start()) {
    std::fprintf(stderr, "etcd did not start\n");
    return 1;
  }
  // The registrant, with a pipe each way.
  int to_child[2], from_child[2];
  if (::pipe(to_child) != 0 || ::pipe(from_child) != 0) return 1;
  pid_t child = ::fork();
  if (child == 0) {
    ::dup2(to_child[0], 0);
    ::dup2(from_child[1], 1);
    ::close(to_child[1]);
    ::close(from_child[0]);
    std::string url = etcd.url(), count = std::to_string(n);
    ::execl("/proc/self/exe", self, "registrant", url.c_str(), count.c_str(), static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  ::close(to_child[0]);
  ::close(from_child[1]);
  FILE* cmd = ::fdopen(to_child[1], "w");
  FILE* reply = ::fdopen(from_child[0], "r");
  char line[128];
  auto t_reg = Clock::now();
  if (!std::fgets(line, sizeof line, reply) || std::strncmp(line, "ready", 5) != 0) {
    std::fprintf(stderr, "the registrant did not register its instances\n");
    return 1;
  }
  double register_s = ms(Clock::now() - t_reg) / 1000;

  long rss_before_runtime = rss_kib();
  Runtime rt({.workers = 1});
  auto registry = open(rt, etcd.url());
  long rss_base = rss_kib();
  double cpu_base = cpu_seconds();

  std::mutex mu;
  std::condition_variable cv;
  std::vector<discovery::Instance> current;  // what the HTTP client's view keeps
  std::uint64_t sets = 0;
  auto w = registry->watch("bench", [&](const std::vector<discovery::Instance>& set) {
    std::lock_guard lock(mu);
    current = set;
    ++sets;
    cv.notify_all();
  });
  auto t_list = Clock::now();
  {
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, 30s, [&] { return current.size() == static_cast<std::size_t>(n); })) {
      std::fprintf(stderr, "the watcher has %zu of %d instances\n", current.size(), n);
      return 1;
    }
  }
  double first_set_ms = ms(Clock::now() - t_list);
  double cpu_first = cpu_seconds() - cpu_base;

  auto window = [&](const char* what) {
    std::uint64_t sets0;
    {
      std::lock_guard lock(mu);
      sets0 = sets;
    }
    double c0 = cpu_seconds();
    auto t0 = Clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    double wall = ms(Clock::now() - t0) / 1000;
    double cpu = cpu_seconds() - c0;
    std::uint64_t delivered;
    std::size_t size;
    {
      std::lock_guard lock(mu);
      delivered = sets - sets0;
      size = current.size();
    }
    std::printf(
        "  %-28s RSS %6.1f MiB   CPU %6.3f s in %.1f s (%5.2f %% of a core)   sets delivered %llu (%.1f/s), "
        "set size now %zu\n",
        what, static_cast<double>(rss_kib()) / 1024, cpu, wall, 100 * cpu / wall,
        static_cast<unsigned long long>(delivered), static_cast<double>(delivered) / wall, size);
  };
  std::printf(
      "watch: one watcher of %d instances of one service (etcd %s; registered in %.1f s by another "
      "process)\n",
      n, etcd.url().c_str(), register_s);
  std::printf("  %-28s RSS %6.1f MiB (before the runtime %.1f MiB)\n", "runtime + registry, no watch",
              static_cast<double>(rss_base) / 1024, static_cast<double>(rss_before_runtime) / 1024);
  std::printf("  %-28s %.0f ms, CPU %.3f s\n", "first set (list + decode)", first_set_ms, cpu_first);
  window("idle");
  std::fprintf(cmd, "churn %d\n", rate);
  std::fflush(cmd);
  char label[64];
  std::snprintf(label, sizeof label, "churn, %d changes/s", rate);
  window(label);
  std::fprintf(cmd, "stop\n");
  std::fflush(cmd);
  if (std::fgets(line, sizeof line, reply)) std::printf("  registrant: %s", line);
  std::printf("  peak RSS %.1f MiB\n", static_cast<double>(rss_kib("VmHWM:")) / 1024);
  std::fclose(cmd);  // end of input: the registrant exits
  int status = 0;
  ::waitpid(child, &status, 0);
  std::fclose(reply);
  w.reset();
  registry->close();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "registrant" && argc == 4) return registrant(argv[2], std::atoi(argv[3]));
  if (!testkit::EtcdServer::installed()) {
    std::fprintf(stderr, "etcd is not installed (scripts/deps.sh test installs etcd-server)\n");
    return 1;
  }
  if (mode == "propagation")
    return propagation(arg_int(argc, argv, "--watchers", 5), arg_int(argc, argv, "--changes", 100));
  if (mode == "watch")
    return watch(argv[0], arg_int(argc, argv, "--instances", 1000), arg_int(argc, argv, "--seconds", 10),
                 arg_int(argc, argv, "--rate", 10));
  std::fprintf(stderr,
               "usage: %s propagation [--watchers N] [--changes N] | watch [--instances N] [--seconds S] [--rate R]\n",
               argv[0]);
  return 2;
}
