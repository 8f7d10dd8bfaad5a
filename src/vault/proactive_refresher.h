// ProactiveRefresher: keeps every active OAuth connection's access token fresh before
// it expires (SPEC §2 rule 3), for the daemon. One scheduler::RefreshRunner holds the
// due times of all connections (one heap, bounded workers: no thread or timer per
// connection); each refresh goes through the RefreshCoordinator, so it never races a
// request-path refresh or another process. The store is re-scanned periodically to
// pick up connections added or changed by other processes (the CLI).
// Start/Stop from one thread; the refresh callbacks run on the runner's workers.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/random.h"
#include "common/status.h"
#include "scheduler/refresh_runner.h"
#include "vault/refresh_coordinator.h"
#include "vault/vault.h"

namespace latchkey::vault {

struct ProactiveRefresherOptions {
  std::size_t workers = 4;                           // refreshes in flight at most
  std::chrono::milliseconds rescan_interval{30000};  // how often the store is re-read
};

class ProactiveRefresher {
 public:
  ProactiveRefresher(Vault& vault, RefreshCoordinator& coordinator, Clock& clock, Random& random,
                     ProactiveRefresherOptions options = {});
  ~ProactiveRefresher();
  ProactiveRefresher(const ProactiveRefresher&) = delete;
  ProactiveRefresher& operator=(const ProactiveRefresher&) = delete;

  Status Start();
  void Stop();

  // Schedules every active OAuth connection whose token changed since the last scan.
  Status Rescan();
  std::size_t scheduled() const { return runner_.scheduled(); }

  // When the connection should be refreshed next: its proactive point (with jitter), or
  // the end of its backoff; nullopt when it needs no refreshing (not active, not OAuth,
  // unknown expiry).
  static std::optional<TimePoint> NextRefreshAt(const store::ConnectionRecord& row, Random& random);

 private:
  void RefreshOne(const std::string& connection_id);

  Vault& vault_;
  RefreshCoordinator& coordinator_;
  Random& random_;
  ProactiveRefresherOptions options_;
  scheduler::RefreshRunner runner_;
  std::mutex mutex_;
  std::map<std::string, std::optional<TimePoint>> seen_;  // id → token_obtained_at last scheduled; guarded
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread rescanner_;
};

}  // namespace latchkey::vault
