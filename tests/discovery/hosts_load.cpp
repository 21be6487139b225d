// The client side of tests/discovery/hosts_test.sh: follows discovery:///hello through etcd with two
// clients (round robin, and the default P2C) whose callers keep busy while the script's "hosts"
// (network namespaces) serve it; cuts one host's link (a partition: the process lives on), and heals
// it. Prints the figures and exits non-zero when a call failed, the cut host was not ejected before
// its lease ran out (round robin), did not leave the view within its lease TTL + 1 s, or did not come
// back after the heal.
//
// usage: discovery_hosts_load ETCD_URL VICTIM_ID TTL_SECONDS CUT_COMMAND HEAL_COMMAND
#include <cstdio>
#include <cstdlib>
#include <string>

#include "hello_fleet.hpp"
#include "svckit/discovery_etcd/etcd_registry.hpp"
#include "svckit/testing/discovery_seen.hpp"

using namespace std::chrono_literals;
using namespace svckit;
using Ids = testkit::Seen::Ids;

namespace {

bool has(const Ids& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

int run(const std::string& etcd, const std::string& victim, std::chrono::seconds ttl, const std::string& cut,
        const std::string& heal) {
  Runtime rt({.workers = 1});
  discovery::EtcdOptions o;
  o.endpoints = {etcd};
  o.backoff_min = 50ms;
  o.backoff_max = 500ms;
  auto registry = discovery::EtcdRegistry::create(rt, o);
  testkit::Seen view;
  auto watch = registry->watch("hello", [&](const std::vector<discovery::Instance>& set) { view.add(set); });
  if (!view.wait_for([&](const Ids& s) { return s.size() == 3 && has(s, victim); }, 30s)) {
    std::printf("FAIL: the three hosts' instances did not register (seen %zu)\n", view.last().size());
    return 1;
  }
  // Two clients at once, each with three callers: one with round robin (every instance gets its share,
  // so the cut host meets calls at once) and one with the default balancer (P2C). Both keep the
  // defaults but for the try timeout: a partitioned host answers nothing, neither a refusal nor a
  // reset, so only a try timeout tells a caller (and passive health) that it is gone.
  struct Side {
    const char* name;
    std::unique_ptr<http::Client> client;
    std::unique_ptr<e2e::Load> load;
    int before_cut = 0, at_heal = 0;
    std::int64_t ejected_ms = -1, served_ms = -1;
  };
  Side sides[2] = {{"round robin"}, {"p2c"}};
  sides[0].client = std::make_unique<http::Client>(
      rt, http::ClientOptions{.discovery = registry, .balancer = discovery::Policy::kRoundRobin, .try_timeout = 250ms});
  sides[1].client =
      std::make_unique<http::Client>(rt, http::ClientOptions{.discovery = registry, .try_timeout = 250ms});
  const std::string victim_body = "{\"msg\":\"" + victim + "\"}";
  bool ok = true;
  auto check = [&](bool cond, const std::string& what) {
    if (!cond) std::printf("FAIL: %s\n", what.c_str());
    ok = ok && cond;
  };
  for (Side& side : sides)
    side.load = std::make_unique<e2e::Load>(rt, *side.client, "discovery:///hello/hello", 3, 3000ms);
  std::this_thread::sleep_for(2s);
  if (std::system(cut.c_str()) != 0) {
    std::printf("FAIL: %s\n", cut.c_str());
    return 1;
  }
  for (Side& side : sides) side.before_cut = side.load->by_body()[victim_body];
  // Ejections and the view, watched together until both happened (or the lease is well past).
  auto t0 = std::chrono::steady_clock::now();
  std::int64_t left_ms = -1;
  while (e2e::ms_since(t0) < std::chrono::duration_cast<std::chrono::milliseconds>(ttl + 5s).count()) {
    for (Side& side : sides)
      if (side.ejected_ms < 0 && side.client->stats().ejections > 0) side.ejected_ms = e2e::ms_since(t0);
    if (left_ms < 0 && !has(view.last(), victim)) left_ms = e2e::ms_since(t0);
    if (left_ms >= 0 && sides[0].ejected_ms >= 0 && sides[1].ejected_ms >= 0) break;
    std::this_thread::sleep_for(5ms);
  }
  std::this_thread::sleep_for(1s);  // partitioned for a while longer

  for (Side& side : sides) side.at_heal = side.load->by_body()[victim_body];
  if (std::system(heal.c_str()) != 0) {
    std::printf("FAIL: %s\n", heal.c_str());
    return 1;
  }
  auto t1 = std::chrono::steady_clock::now();
  std::int64_t back_ms = -1;
  if (view.wait_for([&](const Ids& s) { return has(s, victim); }, 20s)) back_ms = e2e::ms_since(t1);
  for (Side& side : sides)
    if (e2e::eventually([&] { return side.load->by_body()[victim_body] > side.at_heal; }, 10s))
      side.served_ms = e2e::ms_since(t1);
  std::this_thread::sleep_for(1s);

  std::printf(
      "cut host %s: left the view %lld ms after the cut (lease TTL %lld s); back in the view %lld ms after "
      "the heal\n",
      victim.c_str(), static_cast<long long>(left_ms), static_cast<long long>(ttl.count()),
      static_cast<long long>(back_ms));
  check(left_ms >= 0 && left_ms <= std::chrono::duration_cast<std::chrono::milliseconds>(ttl + 1s).count(),
        "the partitioned instance did not leave the view within its lease TTL + 1 s");
  check(back_ms >= 0, "the healed instance did not come back into the view");
  for (Side& side : sides) {
    side.load->stop();
    auto stats = side.client->stats();
    std::printf(
        "%s: requests=%d failures=%d instance_retries=%llu ejections=%llu victim_calls_before_cut=%d "
        "victim_answers_after_cut=%d ejected_after_cut_ms=%lld served_again_after_heal_ms=%lld\n",
        side.name, side.load->ok() + side.load->failed(), side.load->failed(),
        static_cast<unsigned long long>(stats.instance_retries), static_cast<unsigned long long>(stats.ejections),
        side.before_cut, side.at_heal - side.before_cut, static_cast<long long>(side.ejected_ms),
        static_cast<long long>(side.served_ms));
    std::string who = side.name;
    if (side.load->failed() > 0) std::printf("%s: first error: %s\n", side.name, side.load->first_error().c_str());
    check(side.before_cut > 0, who + ": the victim served nothing before the cut");
    check(side.load->failed() == 0, who + ": client-visible errors");
    check(stats.instance_retries > 0, who + ": no call met the cut host");
    check(side.served_ms >= 0, who + ": the healed instance served no call again");
  }
  // With round robin the cut host meets calls at its share: it is ejected by passive health well
  // before its lease runs out. P2C's scores keep it out of most picks on their own (a slow or failed
  // instance loses them), so its ejection comes later and is reported, not required.
  check(sides[0].ejected_ms >= 0 && (left_ms < 0 || sides[0].ejected_ms < left_ms),
        "round robin: the cut host was not ejected before its lease expired");
  watch.reset();
  registry->close();
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s ETCD_URL VICTIM_ID TTL_SECONDS CUT_COMMAND HEAL_COMMAND\n", argv[0]);
    return 2;
  }
  return run(argv[1], argv[2], std::chrono::seconds(std::atoi(argv[3])), argv[4], argv[5]);
}
