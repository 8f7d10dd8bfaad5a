#include "gateway/audit_log.h"

#include <algorithm>
#include <optional>

#include "common/log.h"
#include "common/thread_name.h"

namespace latchkey::gateway {

AuditLog::AuditLog(store::Store& store, std::chrono::milliseconds interval, size_t max_queue,
                   std::chrono::milliseconds stop_grace)
    : store_(store), interval_(interval), max_queue_(max_queue), stop_grace_(stop_grace), thread_([this] {
        NameThisThread("lk-audit");
        Run();
      }) {}

AuditLog::~AuditLog() { Stop(); }

void AuditLog::Record(store::AuditRecord record) {
  std::lock_guard lock(mu_);
  ++recorded_;
  if (queue_.size() >= max_queue_) {
    ++dropped_;
    ++done_;
    return;
  }
  queue_.push_back(std::move(record));
}

void AuditLog::Flush() {
  std::unique_lock lock(mu_);
  const uint64_t target = recorded_;
  wake_.notify_all();
  written_.wait(lock, [&] { return done_ >= target || !thread_.joinable(); });
}

void AuditLog::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

size_t AuditLog::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void AuditLog::Run() {
  std::unique_lock lock(mu_);
  bool failing = false;  // the store refused the last batch
  std::optional<std::chrono::steady_clock::time_point> give_up;
  for (;;) {
    wake_.wait_for(lock, interval_, [this, failing] { return stopping_ && !failing; });
    if (stopping_ && !give_up) give_up = std::chrono::steady_clock::now() + stop_grace_;
    if (!queue_.empty()) {
      std::vector<store::AuditRecord> batch;
      batch.swap(queue_);
      // The next batch is likely as large: room for it now, so the I/O threads' Record()
      // does not regrow (and move) the queue under the lock a dozen times per batch.
      queue_.reserve(std::min(batch.size(), max_queue_));
      lock.unlock();
      Status written = store_.AppendAudit(batch);
      lock.lock();
      if (written.ok()) {
        if (failing) spdlog::info("audit: the store takes rows again");
        failing = false;
        done_ += batch.size();
        written_.notify_all();
      } else if (give_up && std::chrono::steady_clock::now() >= *give_up) {
        spdlog::error("audit: stopping with {} row(s) the store still refuses: {}",
                      batch.size() + queue_.size(), written.message());
        dropped_ += batch.size() + queue_.size();
        done_ += batch.size() + queue_.size();
        queue_.clear();
        break;
      } else {
        // Keep the rows, in order, ahead of those queued meanwhile, and try again.
        if (!failing) spdlog::warn("audit: the store refuses rows ({}); holding them", written.message());
        failing = true;
        batch.insert(batch.end(), std::make_move_iterator(queue_.begin()),
                     std::make_move_iterator(queue_.end()));
        queue_ = std::move(batch);
      }
    }
    if (stopping_ && queue_.empty()) break;
  }
  written_.notify_all();
}

}  // namespace latchkey::gateway
