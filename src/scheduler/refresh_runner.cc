#include "scheduler/refresh_runner.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "common/log.h"

namespace latchkey::scheduler {

RefreshRunner::RefreshRunner(Clock& clock, Options options, Callback callback)
    : clock_(clock), options_(options), callback_(std::move(callback)) {}

RefreshRunner::~RefreshRunner() { Stop(); }

void RefreshRunner::Start() {
  std::lock_guard lifecycle(lifecycle_mu_);
  if (!threads_.empty()) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
    wake_pending_ = true;
  }
  const std::size_t workers = std::max<std::size_t>(options_.workers, 1);
  threads_.reserve(workers + 1);
  threads_.emplace_back([this] { DispatchLoop(); });
  for (std::size_t i = 0; i < workers; ++i) threads_.emplace_back([this] { WorkerLoop(); });
}

void RefreshRunner::Schedule(std::string connection_id, TimePoint due) {
  {
    std::lock_guard lock(mu_);
    deferred_.erase(connection_id);
    schedule_.Schedule(std::move(connection_id), due);
    wake_pending_ = true;
  }
  dispatcher_cv_.notify_one();
}

bool RefreshRunner::Cancel(std::string_view connection_id) {
  std::lock_guard lock(mu_);
  bool found = schedule_.Cancel(connection_id);
  if (auto it = deferred_.find(std::string(connection_id)); it != deferred_.end()) {
    deferred_.erase(it);
    found = true;
  }
  return found;
}

void RefreshRunner::Wake() {
  {
    std::lock_guard lock(mu_);
    wake_pending_ = true;
  }
  dispatcher_cv_.notify_one();
}

void RefreshRunner::RequestStop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  dispatcher_cv_.notify_all();
  worker_cv_.notify_all();
}

void RefreshRunner::Stop() {
  std::lock_guard lifecycle(lifecycle_mu_);
  RequestStop();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  std::lock_guard lock(mu_);
  ReturnUnstartedWork();
}

std::size_t RefreshRunner::scheduled() const {
  std::lock_guard lock(mu_);
  return schedule_.size() + deferred_.size() + ready_.size();
}

std::size_t RefreshRunner::in_flight() const {
  std::lock_guard lock(mu_);
  return running_.size() - ready_.size();
}

std::optional<TimePoint> RefreshRunner::DueTime(std::string_view connection_id) const {
  std::lock_guard lock(mu_);
  if (auto due = schedule_.DueTime(connection_id)) return due;
  if (auto it = deferred_.find(std::string(connection_id)); it != deferred_.end()) return it->second;
  for (const DueItem& item : ready_) {
    if (item.connection_id == connection_id) return item.due;
  }
  return std::nullopt;
}

void RefreshRunner::DispatchLoop() {
  std::unique_lock lock(mu_);
  const auto woken = [this] { return stopping_ || wake_pending_; };
  while (!stopping_) {
    wake_pending_ = false;
    DispatchDue();
    const bool workers_free = running_.size() < std::max<std::size_t>(options_.workers, 1);
    const std::optional<TimePoint> next = schedule_.NextDue();
    if (!workers_free || !next) {
      // Only a change (Schedule, a worker finishing, Wake, stop) can create work.
      dispatcher_cv_.wait(lock, woken);
      continue;
    }
    // Sleep on the steady clock for as long as the injected clock says is left, capped
    // so that a jump of the wall clock (or a simulated clock without Wake) is noticed.
    const Duration left = std::min(*next - clock_.Now(), options_.max_wait);
    if (left <= Duration::zero()) continue;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::ceil<std::chrono::steady_clock::duration>(left);
    dispatcher_cv_.wait_until(lock, deadline, woken);
  }
}

void RefreshRunner::DispatchDue() {
  const std::size_t workers = std::max<std::size_t>(options_.workers, 1);
  while (running_.size() < workers) {
    std::vector<DueItem> due = schedule_.TakeDueItems(clock_.Now(), workers - running_.size());
    if (due.empty()) return;
    for (DueItem& item : due) {
      if (running_.contains(item.connection_id)) {
        // Never two callbacks for one connection: run it again once this one returns.
        deferred_.insert_or_assign(std::move(item.connection_id), item.due);
        continue;
      }
      running_.insert(item.connection_id);
      ready_.push_back(std::move(item));
      worker_cv_.notify_one();
    }
  }
}

void RefreshRunner::WorkerLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    worker_cv_.wait(lock, [this] { return stopping_ || !ready_.empty(); });
    if (stopping_) return;  // Stop puts what is left in `ready_` back into the schedule
    DueItem item = std::move(ready_.front());
    ready_.pop_front();
    lock.unlock();
    try {
      callback_(item.connection_id);
    } catch (const std::exception& e) {
      spdlog::error("refresh callback for connection '{}' threw: {}; it is no longer scheduled",
                    item.connection_id, e.what());
    } catch (...) {
      spdlog::error("refresh callback for connection '{}' threw; it is no longer scheduled",
                    item.connection_id);
    }
    lock.lock();
    running_.erase(item.connection_id);
    if (auto it = deferred_.find(item.connection_id); it != deferred_.end()) {
      schedule_.Schedule(item.connection_id, it->second);
      deferred_.erase(it);
    }
    wake_pending_ = true;
    dispatcher_cv_.notify_one();
  }
}

void RefreshRunner::ReturnUnstartedWork() {
  for (DueItem& item : ready_) {
    running_.erase(item.connection_id);
    schedule_.Schedule(std::move(item.connection_id), item.due);
  }
  ready_.clear();
  for (auto& [id, due] : deferred_) schedule_.Schedule(id, due);
  deferred_.clear();
}

}  // namespace latchkey::scheduler
