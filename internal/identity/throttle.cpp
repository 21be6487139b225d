#include "throttle.hpp"

#include <algorithm>
#include <cmath>

namespace svckit::identity {

template <class V>
V* LoginThrottle::Lru<V>::find(std::string_view key) {
  auto it = map.find(std::string(key));
  return it == map.end() ? nullptr : &it->second.first;
}

template <class V>
V& LoginThrottle::Lru<V>::touch(std::string_view key, const V& init, std::size_t max) {
  std::string k(key);
  auto it = map.find(k);
  if (it != map.end()) {
    order.splice(order.begin(), order, it->second.second);
    return it->second.first;
  }
  if (map.size() >= max && !order.empty()) {
    map.erase(order.back());
    order.pop_back();
  }
  order.push_front(k);
  return map.emplace(std::move(k), std::pair{init, order.begin()}).first->second.first;
}

template <class V>
void LoginThrottle::Lru<V>::erase(std::string_view key) {
  auto it = map.find(std::string(key));
  if (it == map.end()) return;
  order.erase(it->second.second);
  map.erase(it);
}

std::chrono::milliseconds LoginThrottle::admit(std::string_view account, std::string_view client,
                                               Clock::time_point now) {
  using std::chrono::milliseconds;
  std::lock_guard lock(mu_);
  if (Failures* f = accounts_.find(account); f && f->locked_until > now)
    return std::max(milliseconds(1), std::chrono::ceil<milliseconds>(f->locked_until - now));
  Bucket& b = clients_.touch(client, Bucket{s_.ip_burst, now}, s_.max_entries);
  double elapsed = std::chrono::duration<double>(now - b.at).count();
  b.tokens = std::min(s_.ip_burst, b.tokens + elapsed * s_.ip_rate);
  b.at = now;
  if (b.tokens < 1.0) {
    double wait = (1.0 - b.tokens) / std::max(s_.ip_rate, 1e-9);
    return milliseconds(static_cast<long long>(std::ceil(wait * 1000)));
  }
  b.tokens -= 1.0;
  return milliseconds(0);
}

void LoginThrottle::failed(std::string_view account, Clock::time_point now) {
  std::lock_guard lock(mu_);
  Failures& f = accounts_.touch(account, Failures{}, s_.max_entries);
  ++f.count;
  int over = f.count - s_.free_failures;
  if (over < 0) return;
  // first_lockout, doubling with each failure past the free ones, capped.
  auto lock_for = s_.first_lockout * (1LL << std::min(over, 20));
  f.locked_until = now + std::min<std::chrono::milliseconds>(lock_for, s_.max_lockout);
}

void LoginThrottle::succeeded(std::string_view account) {
  std::lock_guard lock(mu_);
  accounts_.erase(account);
}

}  // namespace svckit::identity
