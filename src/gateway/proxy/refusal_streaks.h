// RefusalStreaks: per connection, how many calls in a row ended with the API refusing an
// access token obtained after its first refusal (SPEC §4: "refresh + retry still got
// 401"). One such call proves little (an API that lags behind its authorization server
// for a moment); a few in a row, with no other answer between them, mean that the API
// no longer takes this grant's tokens although the provider still issues them (app
// access revoked at the API, a disabled account). The proxy then marks the connection
// needs_reauth, so that later calls fail fast instead of costing one refresh each.
// Any other answer from the API for the connection ends its streak.
// Thread-safe. While no streak is open, Clear is one relaxed atomic load (the hot path).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace latchkey::gateway {

// ProbedTokens: access tokens that the provider's test endpoint (test_path or
// userinfo_url) took after one endpoint (a method and path) of the connection's API had
// refused them. That endpoint's 401s for that token are then its own answers (some APIs
// refuse valid tokens on some paths): for a few minutes they are passed on as they are,
// cost no refresh, count in no streak, and never mark the connection needs_reauth. Every
// other endpoint still gets the usual refresh on a 401, so one agent cannot switch off
// refreshing for a connection. Only digests are kept, at most kMaxEntries. Thread-safe.
class ProbedTokens {
 public:
  static constexpr auto kLifetime = std::chrono::minutes(5);
  static constexpr size_t kMaxEntries = 4096;

  void Remember(std::string_view connection, std::string_view endpoint, std::string_view access_token,
                std::chrono::steady_clock::time_point now);
  bool Took(std::string_view connection, std::string_view endpoint, std::string_view access_token,
            std::chrono::steady_clock::time_point now) const;

 private:
  static std::string Key(std::string_view connection, std::string_view endpoint,
                         std::string_view access_token);
  std::atomic<size_t> size_{0};  // entries_.size(), readable without the lock
  mutable std::mutex mu_;
  std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> entries_;  // digest → until
};

class RefusalStreaks {
 public:
  // One more refused call for `connection`: the streak's length now.
  int Add(std::string_view connection);
  // The API answered something else for `connection`: its streak ends.
  void Clear(std::string_view connection);

 private:
  std::atomic<size_t> open_{0};  // streaks_.size(), readable without the lock
  std::mutex mu_;
  std::map<std::string, int, std::less<>> streaks_;  // guarded by mu_
};

}  // namespace latchkey::gateway
