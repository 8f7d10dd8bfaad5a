#include "gateway/audit_log.h"

#include "common/log.h"

namespace latchkey::gateway {

AuditLog::AuditLog(store::Store& store, std::chrono::milliseconds interval, size_t max_queue)
    : store_(store), interval_(interval), max_queue_(max_queue), thread_([this] { Run(); }) {}

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
  for (;;) {
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
    if (!queue_.empty()) {
      std::vector<store::AuditRecord> batch;
      batch.swap(queue_);
      lock.unlock();
      Status written = store_.AppendAudit(batch);
      if (!written.ok())
        spdlog::error("audit: {} row(s) could not be written: {}", batch.size(), written.message());
      lock.lock();
      if (!written.ok()) dropped_ += batch.size();
      done_ += batch.size();
      written_.notify_all();
    }
    if (stopping_ && queue_.empty()) break;
  }
  written_.notify_all();
}

}  // namespace latchkey::gateway
