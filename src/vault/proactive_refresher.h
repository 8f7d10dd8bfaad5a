// ProactiveRefresher: keeps every active OAuth connection's access token fresh before
// it expires (SPEC §2 rule 3), for the daemon. One scheduler::RefreshRunner holds the
// due times of all connections (one heap, bounded workers: no thread or timer per
// connection); each refresh goes through the RefreshCoordinator, so it never races a
// request-path refresh or another process. The store is re-scanned periodically to
// pick up connections added or changed by other processes (the CLI, other nodes): the
// first scan and one an hour read every row, the others only rows updated since shortly
// before the previous scan, and no scan reads a sealed column.
// It also watches each grant's forecast end (vault/refresh_forecast.h): a connection whose
// refresh token would die of idleness is refreshed halfway through its idle lifetime
// (keep-alive), and one whose end comes within `expiring_within` raises one
// connection.expiring alert per forecast.
// Start/Stop from one thread; the refresh callbacks run on the runner's workers.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
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
#include "vault/refresh_forecast.h"
#include "vault/vault.h"

namespace latchkey::vault {

struct ProactiveRefresherOptions {
  std::size_t workers = 4;                           // refreshes in flight at most
  std::chrono::milliseconds rescan_interval{30000};  // how often the store is re-read
  // How far before the previous scan a partial scan starts: covers writers whose clocks
  // run behind this one's, and commits still in flight when the previous scan ran.
  std::chrono::milliseconds rescan_overlap{300000};
  std::chrono::milliseconds full_rescan_interval{3600000};  // a scan of every row, at least this often
  // How long before a refresh token's forecast end connection.expiring is raised.
  std::chrono::seconds expiring_within = std::chrono::hours(24 * 7);
  // The link a human opens to reconnect (carried by the alert); none when empty.
  std::function<std::string(const store::ConnectionRecord&)> reconnect_link = {};
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

  // Schedules every active OAuth connection whose token changed since the last scan,
  // and raises connection.expiring for those whose forecast end is near.
  Status Rescan();
  std::size_t scheduled() const { return runner_.scheduled(); }

  // When the connection should be refreshed next: its proactive point (with jitter) or
  // its keep-alive, whichever is first, or the end of its backoff; nullopt when it needs
  // no refreshing (not active, not OAuth, unknown expiry and no keep-alive).
  static std::optional<TimePoint> NextRefreshAt(const store::ConnectionRecord& row,
                                                const RefreshForecast& forecast, Random& random);

 private:
  // What the scans remember of a connection whose refresh token has a forecast end.
  struct Watched {
    TimePoint expires_at;
    std::optional<TimePoint> alerted_for;
  };

  void RefreshOne(const std::string& connection_id);
  // Raises connection.expiring for the connection if its forecast (read again under its
  // lock) is near and news; returns the forecast alerted for now or before, if any.
  StatusOr<std::optional<TimePoint>> RaiseExpiring(const std::string& connection_id);
  // When connection.expiring for `forecast` is due, if it is still to come and news.
  std::optional<TimePoint> WarnAt(const RefreshForecast& forecast, std::optional<TimePoint> alerted_for,
                                  TimePoint now) const;
  // For every watched connection (or `only` that one) whose forecast end is near.
  void RaiseDueAlerts(const std::string* only = nullptr);
  // Under mutex_: remembers the connection's forecast end / schedules its next refresh
  // after an attempt (`keeping_alive`: the attempt was a keep-alive).
  void Watch(const store::ConnectionRecord& row, const RefreshForecast& forecast);
  void Reschedule(const store::ConnectionRecord& row, const RefreshForecast& forecast, bool keeping_alive);

  Vault& vault_;
  RefreshCoordinator& coordinator_;
  Clock& clock_;
  Random& random_;
  ProactiveRefresherOptions options_;
  scheduler::RefreshRunner runner_;
  std::mutex mutex_;
  // What a connection was last scheduled from: a change of any reschedules it.
  struct Mark {
    std::optional<TimePoint> token_obtained_at;
    std::optional<TimePoint> keep_alive;
    std::optional<TimePoint> warn;  // when connection.expiring is due (still to come)
    friend bool operator==(const Mark&, const Mark&) = default;
  };
  std::map<std::string, Mark> seen_;         // by connection id; guarded by mutex_
  std::map<std::string, Watched> watched_;   // id → forecast end; guarded by mutex_
  std::optional<TimePoint> last_scan_;       // when the previous scan started; guarded by mutex_
  std::optional<TimePoint> last_full_scan_;  // guarded by mutex_
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread rescanner_;
};

}  // namespace latchkey::vault
