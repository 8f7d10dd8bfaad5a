// RefreshRunner: runs proactive refreshes. One dispatcher thread sleeps until the
// earliest due time in a RefreshScheduler (or a change) and hands due connections to a
// bounded pool of worker threads, so at most `workers` callbacks run at once and never
// two for the same connection. It owns its threads and the schedule. All public members
// are thread-safe, and Schedule/Cancel may be called from inside the callback; only
// Stop() (and the destructor) must not be called from the callback.
//
//   RefreshRunner runner(clock, {.workers = 4}, [&](const std::string& id) {
//     bool ok = RefreshOne(id);   // reports back by rescheduling:
//     runner.Schedule(id, ok ? ProactiveRefreshAt(obtained, expires, random) : now + Backoff(...));
//   });
//   runner.Start();
// (vault/proactive_refresher.cc is the real caller: its callback refreshes through the
// RefreshCoordinator.)
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/clock.h"
#include "scheduler/refresh_scheduler.h"

namespace latchkey::scheduler {

class RefreshRunner {
 public:
  // Called on a worker thread, without any runner lock held, once per due connection.
  // The connection is no longer scheduled when it is called: the callback decides the
  // next due time by calling Schedule (new expiry after success, backoff after a
  // transient failure) or leaves it unscheduled (terminal failure, SPEC §2 rule 4).
  // It should not throw; an exception is logged and the connection stays unscheduled.
  using Callback = std::function<void(const std::string& connection_id)>;

  struct Options {
    std::size_t workers = 4;  // at most this many callbacks in flight (at least 1)
    // Longest the dispatcher sleeps before re-reading the clock, so a wall-clock jump
    // (NTP step) delays due refreshes by at most this much.
    Duration max_wait = std::chrono::seconds(30);
  };

  // `clock` must outlive the runner; it decides "now" (a SimulatedClock in tests).
  RefreshRunner(Clock& clock, Options options, Callback callback);
  ~RefreshRunner();  // Stop()
  RefreshRunner(const RefreshRunner&) = delete;
  RefreshRunner& operator=(const RefreshRunner&) = delete;

  // Starts the dispatcher and the workers. No effect when already running. Schedules
  // made before Start are kept. May be called again after Stop.
  void Start();

  // Sets (replaces) the connection's due time and wakes the dispatcher. If the
  // connection's callback is running, a due time that arrives meanwhile waits until
  // the callback returns.
  void Schedule(std::string connection_id, TimePoint due);

  // Forgets the connection's due time. Does not interrupt a running callback (which
  // may schedule it again). False if it was not scheduled.
  bool Cancel(std::string_view connection_id);

  // Makes the dispatcher re-read the clock now: for tests that advance a
  // SimulatedClock, and for wiring code that knows the wall clock jumped.
  void Wake();

  // Asks the threads to stop without waiting: no callback starts after this returns.
  void RequestStop();

  // Graceful drain: no new callbacks start; the running ones finish; the threads are
  // joined. Connections not yet started stay scheduled (with their due times), so
  // pending work is neither run nor lost. Idempotent.
  void Stop();

  // Connections waiting for their due time (or for a worker), not counting running ones.
  std::size_t scheduled() const;
  // Callbacks handed to a worker and not yet returned.
  std::size_t in_flight() const;
  std::optional<TimePoint> DueTime(std::string_view connection_id) const;

 private:
  void DispatchLoop();
  void WorkerLoop();
  // Moves due connections to `ready_` while workers are free. Requires mu_.
  void DispatchDue();
  // Puts not-yet-started and deferred work back into the schedule. Requires mu_.
  void ReturnUnstartedWork();

  Clock& clock_;
  const Options options_;
  const Callback callback_;

  std::mutex lifecycle_mu_;  // serializes Start and Stop; taken before mu_
  std::vector<std::thread> threads_;

  mutable std::mutex mu_;
  std::condition_variable dispatcher_cv_;  // schedule changed, worker freed, stop, Wake
  std::condition_variable worker_cv_;      // work in `ready_`, or stop
  RefreshScheduler schedule_;
  std::deque<DueItem> ready_;                            // handed out, not yet started
  std::unordered_set<std::string> running_;              // in `ready_` or inside the callback
  std::unordered_map<std::string, TimePoint> deferred_;  // came due while running
  bool stopping_ = false;
  bool wake_pending_ = false;
};

}  // namespace latchkey::scheduler
