#include "vault/proactive_refresher.h"

#include <utility>

#include "common/log.h"
#include "scheduler/refresh_timing.h"
#include "vault/alert_events.h"

namespace latchkey::vault {

namespace {

constexpr std::chrono::seconds kRetryAfterNoProgress{30};

std::optional<TimePoint> Earliest(std::optional<TimePoint> a, std::optional<TimePoint> b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

}  // namespace

std::optional<TimePoint> ProactiveRefresher::WarnAt(const RefreshForecast& forecast,
                                                    std::optional<TimePoint> alerted_for,
                                                    TimePoint now) const {
  const std::optional<TimePoint> at = ExpiringAlertAt(forecast, options_.expiring_within);
  if (!at || *at <= now || !IsNewForecast(*forecast.expires_at, alerted_for, options_.expiring_within)) {
    return std::nullopt;
  }
  return at;
}

ProactiveRefresher::ProactiveRefresher(Vault& vault, RefreshCoordinator& coordinator, Clock& clock,
                                       Random& random, ProactiveRefresherOptions options)
    : vault_(vault),
      coordinator_(coordinator),
      clock_(clock),
      random_(random),
      options_(std::move(options)),
      runner_(clock, {.workers = options_.workers},
              [this](const std::string& connection_id) { RefreshOne(connection_id); }) {}

ProactiveRefresher::~ProactiveRefresher() { Stop(); }

std::optional<TimePoint> ProactiveRefresher::NextRefreshAt(const store::ConnectionRecord& row,
                                                           const RefreshForecast& forecast, Random& random) {
  if (!store::IsOAuth(row.kind) || row.status != store::ConnectionStatus::kActive) return std::nullopt;
  std::optional<TimePoint> due = KeepAliveAt(row, forecast);
  if (row.expires_at) {
    TimePoint obtained = row.token_obtained_at.value_or(*row.expires_at - std::chrono::hours(1));
    TimePoint proactive = scheduler::ProactiveRefreshAt(obtained, *row.expires_at, random);
    if (!due || proactive < *due) due = proactive;
  }
  if (due && row.next_refresh_attempt_at && *row.next_refresh_attempt_at > *due)
    due = *row.next_refresh_attempt_at;
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
  {
    std::lock_guard lock(mutex_);
    last_scan_ = started;
    if (!since) {
      last_full_scan_ = started;
      watched_.clear();  // rows deleted since are forgotten
    }
    for (const store::ConnectionRecord& row : rows) {
      const RefreshForecast forecast = vault_.connections().Forecast(row);
      Watch(row, forecast);
      const std::optional<TimePoint> warn = WarnAt(forecast, row.expiring_alerted_for, started);
      const std::optional<TimePoint> due = Earliest(NextRefreshAt(row, forecast, random_), warn);
      if (!due) {
        if (seen_.erase(row.id) > 0) runner_.Cancel(row.id);
        continue;
      }
      const Mark mark{row.token_obtained_at, KeepAliveAt(row, forecast), warn};
      auto seen = seen_.find(row.id);
      const bool changed = seen == seen_.end() || seen->second != mark || !runner_.DueTime(row.id);
      if (!changed) continue;
      seen_[row.id] = mark;
      runner_.Schedule(row.id, *due);
    }
  }
  RaiseDueAlerts();
  return Status::Ok();
}

void ProactiveRefresher::RaiseDueAlerts(const std::string* only) {
  const TimePoint now = clock_.Now();
  std::vector<std::string> due;
  {
    std::lock_guard lock(mutex_);
    auto consider = [&](const std::string& id, const Watched& watched) {
      if (IsExpiringAlertDue(watched.expires_at, watched.alerted_for, options_.expiring_within, now)) {
        due.push_back(id);
      }
    };
    if (only != nullptr) {
      if (auto watched = watched_.find(*only); watched != watched_.end()) consider(*only, watched->second);
    } else {
      for (const auto& [id, watched] : watched_) consider(id, watched);
    }
  }
  for (const std::string& id : due) {
    StatusOr<std::optional<TimePoint>> alerted = RaiseExpiring(id);
    if (!alerted.ok()) {
      spdlog::warn("cannot raise connection.expiring for connection id {}: {}", id,
                   alerted.status().message());
      continue;
    }
    std::lock_guard lock(mutex_);
    if (auto watched = watched_.find(id); watched != watched_.end()) watched->second.alerted_for = *alerted;
  }
}

StatusOr<std::optional<TimePoint>> ProactiveRefresher::RaiseExpiring(const std::string& connection_id) {
  store::Store& store = vault_.store();
  // Under the connection's lock: the write must not race a refresh's write of a rotated
  // token, and two nodes must not both alert.
  LATCHKEY_ASSIGN_OR_RETURN(std::unique_ptr<store::ConnectionLock> lock,
                            store.LockConnection(connection_id, std::chrono::seconds(10)));
  LATCHKEY_ASSIGN_OR_RETURN(store::ConnectionRecord row, store.GetConnectionById(connection_id));
  const RefreshForecast forecast = vault_.connections().Forecast(row);
  const TimePoint now = clock_.Now();
  if (!forecast.expires_at ||
      !IsExpiringAlertDue(*forecast.expires_at, row.expiring_alerted_for, options_.expiring_within, now)) {
    return row.expiring_alerted_for;  // not news (another node may have raised it)
  }
  const int64_t version = row.token_version;
  row.expiring_alerted_for = forecast.expires_at;
  row.updated_at = now;
  std::map<std::string, std::string> details = {
      {"refresh_expires_at", FormatRfc3339(*forecast.expires_at)},
      {"refresh_expiry_source", std::string(RefreshExpirySourceName(forecast.source))},
      {"hint", "run `latchkey connect " + row.provider + " --name " + row.name + "` before then"},
  };
  if (options_.reconnect_link) {
    if (std::string link = options_.reconnect_link(row); !link.empty()) details["reconnect_url"] = link;
  }
  const store::AlertEvent alert = MakeAlert("connection.expiring", row, version + 1, now, details);
  LATCHKEY_RETURN_IF_ERROR(store.UpdateConnection(row, version, alert));
  return forecast.expires_at;
}

void ProactiveRefresher::RefreshOne(const std::string& connection_id) {
  StatusOr<store::ConnectionRecord> row = vault_.store().GetConnectionById(connection_id);
  if (!row.ok()) return;
  const RefreshForecast forecast = vault_.connections().Forecast(*row);
  const std::optional<TimePoint> keep_alive = KeepAliveAt(*row, forecast);
  const bool keeping_alive = keep_alive && *keep_alive <= clock_.Now();
  StatusOr<AccessGrant> grant = keeping_alive ? coordinator_.KeepAlive(row->name, *forecast.idle_lifetime / 2)
                                              : coordinator_.RefreshIfDue(row->name);
  if (!grant.ok())
    spdlog::warn("proactive refresh of connection '{}': {}", row->name, grant.status().message());
  // Schedule from the row as it is now: refreshed, backing off, or no longer active.
  StatusOr<store::ConnectionRecord> after = vault_.store().GetConnectionById(connection_id);
  if (!after.ok()) return;
  const RefreshForecast now_forecast = vault_.connections().Forecast(*after);
  {
    std::lock_guard lock(mutex_);
    Watch(*after, now_forecast);
    Reschedule(*after, now_forecast, keeping_alive);
  }
  RaiseDueAlerts(&connection_id);  // a refresh moves the forecast: check it now, not at the next scan
}

void ProactiveRefresher::Watch(const store::ConnectionRecord& row, const RefreshForecast& forecast) {
  if (forecast.expires_at) {
    watched_[row.id] = {.expires_at = *forecast.expires_at, .alerted_for = row.expiring_alerted_for};
  } else {
    watched_.erase(row.id);
  }
}

void ProactiveRefresher::Reschedule(const store::ConnectionRecord& row, const RefreshForecast& forecast,
                                    bool keeping_alive) {
  const std::string& connection_id = row.id;
  const TimePoint now = clock_.Now();
  std::optional<TimePoint> due = NextRefreshAt(row, forecast, random_);
  // A keep-alive still due did not happen (the store was busy, say): not again at once.
  // (A proactive refresh still due is retried at once: its jittered point comes a little
  // before the coordinator's, which is then reached.)
  if (due && keeping_alive && *due <= now) due = now + kRetryAfterNoProgress;
  // A warning already due is given by RefreshOne right after this; a later one wakes it.
  const std::optional<TimePoint> warn = WarnAt(forecast, row.expiring_alerted_for, now);
  due = Earliest(due, warn);
  if (!due) {
    seen_.erase(connection_id);
    return;
  }
  seen_[connection_id] = Mark{row.token_obtained_at, KeepAliveAt(row, forecast), warn};
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
