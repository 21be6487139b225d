#include "svckit/discovery/detail/dns_resolver.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <tuple>

namespace svckit::discovery::detail::dns {

namespace {

constexpr std::uint32_t kNoTtl = std::numeric_limits<std::uint32_t>::max();
// Target lookups (two queries each) sent to a server at once.
constexpr std::size_t kTargetsPerBatch = 32;

std::vector<Query> address_queries(const ResolverConfig& c, const std::string& name) {
  std::vector<Query> out;
  if (c.ipv4) out.push_back({name, type::kA});
  if (c.ipv6) out.push_back({name, type::kAaaa});
  return out;
}

// The negative TTL of an answer that found nothing (RFC 2308): its SOA's, or kNoTtl.
std::uint32_t negative_ttl(const Message& m) {
  std::uint32_t ttl = kNoTtl;
  for (const Record& r : m.authority)
    if (r.type == type::kSoa) ttl = std::min(ttl, r.negative_ttl);
  return ttl;
}

// Adds the addresses that answer `name` in `answers` (one message per query of address_queries).
void collect(const std::vector<Message>& answers, const std::string& name, std::set<std::string>& out,
             std::uint32_t& ttl) {
  for (const Message& m : answers) {
    std::uint16_t qtype = m.questions.empty() ? 0 : m.questions.front().type;
    if (qtype != type::kA && qtype != type::kAaaa) continue;
    std::uint32_t t = kNoTtl;
    auto records = chase(m, name, qtype, t);
    if (records.empty()) continue;
    ttl = std::min(ttl, t);
    for (const Record* r : records) out.insert(address_text(*r));
  }
}

}  // namespace

std::string address_text(const Record& r) {
  char text[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(r.address_size == 4 ? AF_INET : AF_INET6, r.address.data(), text, sizeof text);
  return text;
}

std::vector<const Record*> chase(const Message& m, const std::string& name, std::uint16_t qtype, std::uint32_t& ttl) {
  std::string at = canonical(name);
  for (int hop = 0; hop <= 8; ++hop) {
    std::vector<const Record*> found;
    const Record* alias = nullptr;
    for (const Record& r : m.answers) {
      if (r.name != at) continue;
      if (r.type == qtype && (qtype != type::kA || r.address_size == 4) &&
          (qtype != type::kAaaa || r.address_size == 16))
        found.push_back(&r);
      else if (r.type == type::kCname && !alias)
        alias = &r;
    }
    if (!found.empty()) {
      for (const Record* r : found) ttl = std::min(ttl, r->ttl);
      return found;
    }
    if (!alias) return {};
    ttl = std::min(ttl, alias->ttl);
    at = alias->target;
  }
  return {};  // a chain too long (or a loop)
}

Task<Result<AddressLookup>> lookup_addresses(const Context& ctx, const ResolverConfig& config, std::string name,
                                             TransportCounters& counters) {
  std::uint32_t negative = kNoTtl;
  std::vector<std::string> candidates = search_names(name, config.search, config.ndots);
  for (const std::string& candidate : candidates) {
    std::vector<Query> queries = address_queries(config, candidate);
    auto answers = co_await exchange(ctx, config.transport, queries, counters);
    if (!answers) co_return std::unexpected(answers.error());
    std::set<std::string> found;
    std::uint32_t ttl = kNoTtl;
    collect(*answers, candidate, found, ttl);
    if (!found.empty()) co_return AddressLookup{candidate, std::vector<std::string>(found.begin(), found.end()), ttl};
    for (const Message& m : *answers) negative = std::min(negative, negative_ttl(m));
  }
  co_return AddressLookup{"", {}, negative == kNoTtl ? 0 : negative};
}

Task<Result<SrvLookup>> lookup_srv(const Context& ctx, const ResolverConfig& config, std::string name,
                                   TransportCounters& counters) {
  std::uint32_t negative = kNoTtl;
  SrvLookup out;
  std::vector<std::string> candidates = search_names(name, config.search, config.ndots);
  const Message* answer = nullptr;
  std::vector<const Record*> records;
  std::vector<Message> kept;
  for (const std::string& candidate : candidates) {
    std::vector<Query> queries = {{candidate, type::kSrv}};
    auto answers = co_await exchange(ctx, config.transport, queries, counters);
    if (!answers) co_return std::unexpected(answers.error());
    kept = std::move(*answers);
    std::uint32_t ttl = kNoTtl;
    records = chase(kept.front(), candidate, type::kSrv, ttl);
    if (records.empty()) {
      negative = std::min(negative, negative_ttl(kept.front()));
      continue;
    }
    answer = &kept.front();
    out.name = candidate;
    out.ttl = ttl;
    out.found = true;
    break;
  }
  if (!out.found) {
    out.ttl = negative == kNoTtl ? 0 : negative;
    co_return out;
  }

  // RFC 2782: clients use the lowest priority that has records; weights choose within it.
  std::uint16_t lowest = std::numeric_limits<std::uint16_t>::max();
  for (const Record* r : records)
    if (!r->target.empty() && r->port != 0) lowest = std::min(lowest, r->priority);
  std::map<std::string, std::vector<std::string>> addresses;  // target → addresses
  std::map<std::string, std::uint32_t> target_ttl;
  for (const Record* r : records) {
    if (r->target.empty() || r->port == 0 || r->priority != lowest) continue;
    out.targets.push_back(SrvTarget{r->target, r->port, r->weight, {}});
    addresses.emplace(r->target, std::vector<std::string>{});
  }

  // Targets' addresses from the additional section, as servers send them with SRV answers.
  std::vector<std::string> missing;
  for (auto& [host, list] : addresses) {
    std::set<std::string> found;
    std::uint32_t ttl = kNoTtl;
    for (const Record& r : answer->additional) {
      if (r.name != host) continue;
      bool want = (r.type == type::kA && config.ipv4 && r.address_size == 4) ||
                  (r.type == type::kAaaa && config.ipv6 && r.address_size == 16);
      if (!want) continue;
      found.insert(address_text(r));
      ttl = std::min(ttl, r.ttl);
    }
    if (found.empty()) {
      missing.push_back(host);
    } else {
      list.assign(found.begin(), found.end());
      target_ttl[host] = ttl;
    }
  }
  // The others looked up, as absolute names (a target is a fully qualified name), a batch at a time.
  for (std::size_t at = 0; at < missing.size(); at += kTargetsPerBatch) {
    std::vector<Query> queries;
    std::size_t end = std::min(missing.size(), at + kTargetsPerBatch);
    for (std::size_t i = at; i < end; ++i)
      for (Query& q : address_queries(config, missing[i])) queries.push_back(std::move(q));
    auto answers = co_await exchange(ctx, config.transport, queries, counters);
    if (!answers) co_return std::unexpected(answers.error());
    const std::size_t per = address_queries(config, "x").size();
    for (std::size_t i = at; i < end; ++i) {
      std::vector<Message> mine(std::make_move_iterator(answers->begin() + long((i - at) * per)),
                                std::make_move_iterator(answers->begin() + long((i - at + 1) * per)));
      std::set<std::string> found;
      std::uint32_t ttl = kNoTtl;
      collect(mine, missing[i], found, ttl);
      addresses[missing[i]].assign(found.begin(), found.end());
      if (!found.empty()) target_ttl[missing[i]] = ttl;
    }
  }

  std::vector<SrvTarget> kept_targets;
  for (SrvTarget& t : out.targets) {
    t.addresses = addresses[t.host];
    if (t.addresses.empty()) continue;  // a target without an address cannot be called
    out.ttl = std::min(out.ttl, target_ttl[t.host]);
    kept_targets.push_back(std::move(t));
  }
  std::sort(kept_targets.begin(), kept_targets.end(),
            [](const SrvTarget& a, const SrvTarget& b) { return std::tie(a.host, a.port) < std::tie(b.host, b.port); });
  out.targets = std::move(kept_targets);
  co_return out;
}

}  // namespace svckit::discovery::detail::dns
