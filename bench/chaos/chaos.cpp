// The chaos experiment of docs/benchmarks.md, three processes in one binary (bench/chaos/run.sh starts them):
//   chaos dependency --set http.port=P          a service whose failures are injected at run time:
//                                                PUT /chaos?error=0.4&stall_ms=800 (failing calls stall,
//                                                then answer 503), GET /work
//   chaos caller --set chaos.upstream=URL --set chaos.fallback=true|false
//                --set resilience.upstreams.0.name=dependency --set resilience.upstreams.0.timeout=300ms ...
//                                                GET /call → the dependency's /work, with a 1 s deadline,
//                                                through the "dependency" upstream's guard from config;
//                                                fallback: a degraded 200 answer when it refuses or fails
//   chaos load URL RATE SECONDS                  an open-loop load generator: one request every 1/RATE s
//                                                whatever the answers do; prints avg, p50, p99, errors
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include "svckit/app/app.hpp"
#include "svckit/http/client.hpp"
#include "svckit/http/message.hpp"
#include "svckit/resilience_http/middleware.hpp"

using namespace std::chrono_literals;
namespace res = svckit::resilience;
using svckit::Context;
using svckit::Task;

namespace {

struct Chaos {
  std::atomic<double> error{0.0};
  std::atomic<int> stall_ms{800};
};

int dependency(int argc, char** argv) {
  svckit::app::App app({.name = "dependency"});
  if (auto exit = app.init(argc, argv)) return *exit;
  auto chaos = std::make_shared<Chaos>();
  app.router().put("/chaos", [chaos](svckit::http::Request& req, svckit::http::Response& res) {
    if (auto e = req.query_param("error"); !e.empty()) chaos->error = std::stod(std::string(e));
    if (auto s = req.query_param("stall_ms"); !s.empty()) chaos->stall_ms = std::stoi(std::string(s));
    res.text(200,
             "error=" + std::to_string(chaos->error.load()) + " stall_ms=" + std::to_string(chaos->stall_ms.load()));
  });
  app.router().get("/work", [chaos](svckit::http::Request& req, svckit::http::Response& res) -> Task<void> {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    if (std::uniform_real_distribution<double>(0, 1)(rng) < chaos->error.load()) {
      Context ctx = req.ctx;
      svckit::Status slept = co_await svckit::sleep_for(ctx, std::chrono::milliseconds(chaos->stall_ms.load()));
      (void)slept;
      res.error(svckit::Status(svckit::Code::kUnavailable, "injected failure"));
      co_return;
    }
    res.text(200, "work");
  });
  return app.run();
}

struct CallerSettings {
  std::string upstream = "http://127.0.0.1:9301/work";
  bool fallback = false;
  static void describe(svckit::config::Binder<CallerSettings>& b) {
    b.field("upstream", &CallerSettings::upstream).non_empty();
    b.field("fallback", &CallerSettings::fallback);
  }
};

int caller(int argc, char** argv) {
  svckit::app::App app({.name = "caller"});
  app.define<CallerSettings>("chaos");
  if (auto exit = app.init(argc, argv)) return *exit;
  auto s = app.settings<CallerSettings>("chaos");
  auto client = std::make_shared<svckit::http::Client>(
      app.runtime(), svckit::http::ClientOptions{.max_connections_per_host = 2048, .max_idle_per_host = 256});
  // The protection is configuration: resilience.upstreams names the "dependency" upstream's timeout,
  // breaker and retries (run.sh sets one rule per mode); chaos.fallback adds a degraded answer.
  res::CallGuard* guard = &app.upstreams().get("dependency");
  bool with_fallback = s.fallback;
  auto upstream = s.upstream;
  auto call = [client, upstream](const Context& c) -> Task<svckit::Result<svckit::http::ClientResponse>> {
    auto r = co_await client->get(c, upstream);
    if (r && r->status >= 500) co_return std::unexpected(svckit::Status::from_http(r->status, "dependency failed"));
    co_return r;
  };
  app.router()
      .get("/call",
           [=](svckit::http::Request& req, svckit::http::Response& res) -> Task<void> {
             auto fallback = [](const svckit::Status&) -> svckit::Result<svckit::http::ClientResponse> {
               svckit::http::ClientResponse degraded;
               degraded.status = 200;
               degraded.body = "degraded";
               return degraded;
             };
             svckit::Result<svckit::http::ClientResponse> r;
             if (with_fallback)
               r = co_await guard->call(req.ctx, call, fallback);
             else
               r = co_await guard->call(req.ctx, call);
             if (!r) {
               res.error(r.error());
               co_return;
             }
             res.text(200, r->body);
           })
      .timeout(1s);
  return app.run();
}

// ---- the open-loop load generator -------------------------------------------------------------

struct Sample {
  double ms;
  int status;
};

Task<void> one(svckit::http::Client* client, std::string url, std::mutex* mu, std::vector<Sample>* out,
               std::atomic<int>* pending) {
  auto t0 = std::chrono::steady_clock::now();
  Context ctx = Context().with_timeout(5s);
  auto r = co_await client->get(ctx, url);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  {
    std::lock_guard lock(*mu);
    out->push_back({ms, r ? r->status : 599});
  }
  pending->fetch_sub(1);
}

int load(int argc, char** argv) {
  if (argc < 5) return 2;
  std::string url = argv[2];
  double rate = std::atof(argv[3]);
  double seconds = std::atof(argv[4]);
  svckit::Runtime rt({.workers = 1});
  svckit::http::Client client(rt, {.max_connections_per_host = 4096, .max_idle_per_host = 4096});
  std::mutex mu;
  std::vector<Sample> samples;
  samples.reserve(static_cast<std::size_t>(rate * seconds) + 16);
  std::atomic<int> pending{0};
  auto start = std::chrono::steady_clock::now();
  auto interval = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(1.0 / rate));
  long n = static_cast<long>(rate * seconds);
  for (long i = 0; i < n; ++i) {
    std::this_thread::sleep_until(start + i * interval);  // open loop: the schedule does not wait for answers
    pending.fetch_add(1);
    rt.spawn(one(&client, url, &mu, &samples, &pending));
  }
  while (pending.load() > 0) std::this_thread::sleep_for(10ms);
  std::vector<double> ms;
  long errors = 0;
  for (auto& s : samples) {
    ms.push_back(s.ms);
    errors += s.status != 200;
  }
  std::sort(ms.begin(), ms.end());
  double sum = 0;
  for (double v : ms) sum += v;
  auto pct = [&](double p) {
    return ms.empty() ? 0 : ms[std::min(ms.size() - 1, static_cast<std::size_t>(p * ms.size()))];
  };
  std::printf("requests=%zu avg_ms=%.1f p50_ms=%.1f p99_ms=%.1f errors=%ld error_pct=%.2f\n", ms.size(),
              ms.empty() ? 0 : sum / ms.size(), pct(0.5), pct(0.99), errors,
              ms.empty() ? 0 : 100.0 * errors / ms.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string role = argc > 1 ? argv[1] : "";
  // The role is argv[1]; the rest are the app's flags.
  if (role == "dependency" || role == "caller") {
    argv[1] = argv[0];
    return role == "dependency" ? dependency(argc - 1, argv + 1) : caller(argc - 1, argv + 1);
  }
  if (role == "load") return load(argc, argv);
  std::fputs("usage: chaos dependency|caller [flags] | chaos load URL RATE SECONDS\n", stderr);
  return 2;
}
