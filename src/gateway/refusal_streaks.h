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
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace latchkey::gateway {

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
