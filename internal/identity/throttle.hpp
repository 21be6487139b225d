#pragma once
// Login throttling. Per client address: a token bucket (a burst, then a steady rate). Per account:
// after `free_failures` wrong passwords in a row the account name is locked for a time that doubles
// with each further failure, up to max_lockout; a success clears it. Accounts are keyed by the
// login name as typed (lower-cased), whether or not such an account exists, so a lockout says
// nothing about existence. State is per process and bounded (the least recently touched entries go
// first); several instances each apply their own limits.
#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace svckit::identity {

struct ThrottleSettings {
  double ip_rate = 1.0;  // logins per second per client address, steady
  double ip_burst = 20;  // and in a burst
  int free_failures = 5;
  std::chrono::milliseconds first_lockout{1000};
  std::chrono::milliseconds max_lockout{std::chrono::minutes(15)};
  std::size_t max_entries = 100000;  // per map
};

class LoginThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LoginThrottle(ThrottleSettings s) : s_(s) {}

  // Zero: go ahead. Otherwise how long the caller must wait (answer 429 with Retry-After).
  std::chrono::milliseconds admit(std::string_view account, std::string_view client,
                                  Clock::time_point now = Clock::now());
  void failed(std::string_view account, Clock::time_point now = Clock::now());
  void succeeded(std::string_view account);

 private:
  struct Bucket {
    double tokens;
    Clock::time_point at;
  };
  struct Failures {
    int count = 0;
    Clock::time_point locked_until{};
  };
  template <class V>
  struct Lru {
    std::unordered_map<std::string, std::pair<V, std::list<std::string>::iterator>> map;
    std::list<std::string> order;  // most recent first
    V* find(std::string_view key);
    V& touch(std::string_view key, const V& init, std::size_t max);
    void erase(std::string_view key);
  };

  ThrottleSettings s_;
  std::mutex mu_;
  Lru<Bucket> clients_;
  Lru<Failures> accounts_;
};

}  // namespace svckit::identity
