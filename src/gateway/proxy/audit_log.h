// AuditLog: one row per proxied call (SPEC §6), written off the request path. Calls
// enqueue rows; one background thread appends them in batches (one store transaction
// per batch), so a busy gateway does one fsync per batch rather than one per call.
// While the store refuses writes (down, restarting), rows wait in memory and the batch
// is tried again every interval; only rows past max_queue are dropped (and counted).
// Rows not yet written when the process is killed are lost (at most one batch interval,
// or the outage so far); Stop() writes everything queued, trying for at most
// `stop_grace`. Every text field is made valid UTF-8 without NUL when recorded (what
// PostgreSQL takes as text); a row the store still refuses as a value never holds up
// the others: it is written with its path replaced (counted in replaced()), or, if even
// that is refused, dropped (counted in dropped()). Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "store/records.h"
#include "store/store.h"

namespace latchkey::gateway {

class AuditLog {
 public:
  explicit AuditLog(store::Store& store, std::chrono::milliseconds interval = std::chrono::milliseconds(50),
                    size_t max_queue = 100000,
                    std::chrono::milliseconds stop_grace = std::chrono::seconds(5));
  ~AuditLog();  // Stop()
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  void Record(store::AuditRecord&& record);
  void Flush();  // returns once everything recorded so far is written (or failed)
  void Stop();

  size_t dropped()
      const;  // rows dropped: the queue was full, the store refused them, or still refused at Stop()
  size_t replaced() const;  // rows written with their path replaced, as the store refused it
  // Batches the store refused (down, locked): rising while an outage lasts.
  uint64_t refused_attempts() const;
  // Waits until the store has refused `count` batches in all, for at most `limit`; false
  // if it has not by then.
  bool AwaitRefusedAttempts(uint64_t count, std::chrono::milliseconds limit) const;

 private:
  void Run();
  // After the store refused a batch for one of its values: writes the rows one by one,
  // replacing (or dropping) those refused alone. Returns the rows it could not try, as the
  // store became unavailable meanwhile.
  std::vector<store::AuditRecord> WriteEachAlone(std::vector<store::AuditRecord> batch);

  store::Store& store_;
  const std::chrono::milliseconds interval_;
  const size_t max_queue_;
  const std::chrono::milliseconds stop_grace_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  mutable std::condition_variable written_;  // a batch was written or refused
  std::vector<store::AuditRecord> queue_;    // guarded by mu_
  uint64_t recorded_ = 0;                    // guarded by mu_
  uint64_t done_ = 0;                        // guarded by mu_
  size_t dropped_ = 0;                       // guarded by mu_
  size_t replaced_ = 0;                      // guarded by mu_
  uint64_t refused_ = 0;                     // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::thread thread_;
};

}  // namespace latchkey::gateway
