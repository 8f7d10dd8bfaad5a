#include "vault/proactive_refresher.h"

#include "common/log.h"
#include "scheduler/refresh_timing.h"

namespace latchkey::vault {

ProactiveRefresher::ProactiveRefresher(Vault& vault, RefreshCoordinator& coordinator, Clock& clock,
                                       Random& random, ProactiveRefresherOptions options)
    : vault_(vault),
      coordinator_(coordinator),
      clock_(clock),
      random_(random),
      options_(options),
      runner_(clock, {.workers = options.workers},
              [this](const std::string& connection_id) { RefreshOne(connection_id); }) {}

ProactiveRefresher::~ProactiveRefresher() { Stop(); }

std::optional<TimePoint> ProactiveRefresher::NextRefreshAt(const store::ConnectionRecord& row,
                                                           Random& random) {
  if (!store::IsOAuth(row.kind) || row.status != store::ConnectionStatus::kActive || !row.expires_at)
    return std::nullopt;
  TimePoint obtained = row.token_obtained_at.value_or(*row.expires_at - std::chrono::hours(1));
  TimePoint due = scheduler::ProactiveRefreshAt(obtained, *row.expires_at, random);
  if (row.next_refresh_attempt_at && *row.next_refresh_attempt_at > due) due = *row.next_refresh_attempt_at;
  return due;
}

Status ProactiveRefresher::Rescan() {
  const TimePoint started = clock_.Now();
  std::optional<TimePoint> since;
  {
    std::lock_guard lock(mutex_);
    const bool full_due = !last_full_scan_ || started - *last_full_scan_ >= options_.full_rescan_interval;
    if (last_scan_ && !full_due) since = *last_scan_ - options_.rescan_overlap;
  }
  LATCHKEY_ASSIGN_OR_RETURN(std::vector<store::ConnectionRecord> rows,
                            vault_.store().ListConnectionsForScheduling(since));
  std::lock_guard lock(mutex_);
  last_scan_ = started;
  if (!since) last_full_scan_ = started;
  for (const store::ConnectionRecord& row : rows) {
    std::optional<TimePoint> due = NextRefreshAt(row, random_);
    if (!due) {
      if (seen_.erase(row.id) > 0) runner_.Cancel(row.id);
      continue;
    }
    auto seen = seen_.find(row.id);
    const bool changed =
        seen == seen_.end() || seen->second != row.token_obtained_at || !runner_.DueTime(row.id);
    if (!changed) continue;
    seen_[row.id] = row.token_obtained_at;
    runner_.Schedule(row.id, *due);
  }
  return Status::Ok();
}

void ProactiveRefresher::RefreshOne(const std::string& connection_id) {
  StatusOr<store::ConnectionRecord> row = vault_.store().GetConnectionById(connection_id);
  if (!row.ok()) return;
  StatusOr<AccessGrant> grant = coordinator_.RefreshIfDue(row->name);
  if (!grant.ok())
    spdlog::warn("proactive refresh of connection '{}': {}", row->name, grant.status().message());
  // Schedule from the row as it is now: refreshed, backing off, or no longer active.
  StatusOr<store::ConnectionRecord> after = vault_.store().GetConnectionById(connection_id);
  if (!after.ok()) return;
  std::lock_guard lock(mutex_);
  std::optional<TimePoint> due = NextRefreshAt(*after, random_);
  if (!due) {
    seen_.erase(connection_id);
    return;
  }
  seen_[connection_id] = after->token_obtained_at;
  runner_.Schedule(connection_id, *due);
}

Status ProactiveRefresher::Start() {
  LATCHKEY_RETURN_IF_ERROR(Rescan());
  runner_.Start();
  rescanner_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!stop_cv_.wait_for(lock, options_.rescan_interval, [this] { return stopping_; })) {
      lock.unlock();
      if (Status s = Rescan(); !s.ok())
        spdlog::warn("proactive refresh: cannot read the store: {}", s.message());
      lock.lock();
    }
  });
  return Status::Ok();
}

void ProactiveRefresher::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (rescanner_.joinable()) rescanner_.join();
  runner_.Stop();
}

}  // namespace latchkey::vault
