// The audit log and the alert outbox.
#include <algorithm>
#include <optional>
#include <string>

#include "store/sqlite_store_impl.h"

namespace latchkey::store::sqlite {
namespace {

// Undelivered events whose next attempt is due (or never set), oldest first: what
// DueAlerts reads and ClaimDueAlerts claims.
constexpr const char* kDueAlerts =
    "WHERE delivered_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY created_at, "
    "seq LIMIT ?";

std::string AlertName(std::string_view event_id) { return "alert event '" + std::string(event_id) + "'"; }

constexpr const char* kAlertColumns =
    "event_id, type, connection, payload, created_at, attempts, next_attempt_at, delivered_at, last_error";

StatusOr<std::vector<AlertEvent>> SelectAlerts(SqliteDb& db, const std::string& tail,
                                               std::optional<TimePoint> now, int limit) {
  LATCHKEY_ASSIGN_OR_RETURN(auto stmt, SqliteStatement::Prepare(db, std::string("SELECT ") + kAlertColumns +
                                                                        " FROM alert_outbox " + tail));
  if (now) stmt.Add(*now);
  stmt.Add(int64_t{limit});
  std::vector<AlertEvent> out;
  for (;;) {
    LATCHKEY_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    out.push_back({stmt.Text(0), stmt.Text(1), stmt.Text(2), stmt.Text(3), stmt.Time(4),
                   static_cast<int>(stmt.Int(5)), stmt.OptTime(6), stmt.OptTime(7), stmt.Text(8)});
  }
}

}  // namespace

namespace {

// Audit rows go in as multi-row INSERTs of up to kAuditRowsPerInsert rows (one statement
// step per group instead of per row), their text bound without copies: the gateway
// appends one row per proxied call.
constexpr size_t kAuditRowsPerInsert = 32;

std::string AuditInsert(size_t rows) {
  std::string sql =
      "INSERT INTO audit (at, agent, connection, method, path, upstream_status, code, latency_ms, refreshed) "
      "VALUES ";
  for (size_t i = 0; i < rows; ++i)
    sql += i == 0 ? "(?, ?, ?, ?, ?, ?, ?, ?, ?)" : ", (?, ?, ?, ?, ?, ?, ?, ?, ?)";
  return sql;
}

}  // namespace

Status SqliteStore::AppendAudit(const std::vector<AuditRecord>& records) {
  if (records.empty()) return Status::Ok();
  return Write([&](SqliteDb& db) -> Status {
    std::optional<SqliteStatement> full;  // kAuditRowsPerInsert rows, reused
    for (size_t first = 0; first < records.size(); first += kAuditRowsPerInsert) {
      const size_t rows = std::min(kAuditRowsPerInsert, records.size() - first);
      std::optional<SqliteStatement> last;  // the shorter group at the end
      if (rows == kAuditRowsPerInsert && !full) {
        LATCHKEY_ASSIGN_OR_RETURN(auto prepared, SqliteStatement::Prepare(db, AuditInsert(rows)));
        full.emplace(std::move(prepared));
      } else if (rows < kAuditRowsPerInsert) {
        LATCHKEY_ASSIGN_OR_RETURN(auto prepared, SqliteStatement::Prepare(db, AuditInsert(rows)));
        last.emplace(std::move(prepared));
      }
      SqliteStatement& stmt = last ? *last : *full;
      stmt.Reset();
      for (size_t i = first; i < first + rows; ++i) {
        const AuditRecord& r = records[i];
        stmt.Add(r.at).AddUnowned(r.agent).AddUnowned(r.connection).AddUnowned(r.method).AddUnowned(r.path);
        stmt.Add(int64_t{r.upstream_status}).AddUnowned(r.code).Add(r.latency_ms);
        stmt.Add(int64_t{r.refreshed ? 1 : 0});
      }
      LATCHKEY_RETURN_IF_ERROR(stmt.Run());
    }
    return Status::Ok();
  });
}

StatusOr<int64_t> SqliteStore::DeleteAuditBefore(TimePoint before) {
  int64_t deleted = 0;
  Status done = Write([&](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(
        auto stmt,
        SqliteStatement::Prepare(db, "DELETE FROM audit WHERE at < ? AND id < (SELECT MAX(id) FROM audit)"));
    LATCHKEY_RETURN_IF_ERROR(stmt.Add(before).Run());
    deleted = db.Changes();
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return deleted;
}

StatusOr<std::vector<AuditRecord>> SqliteStore::QueryAudit(const AuditFilter& filter) {
  LATCHKEY_RETURN_IF_ERROR(CheckLimit(filter.limit));
  std::string sql =
      "SELECT id, at, agent, connection, method, path, upstream_status, code, latency_ms, refreshed "
      "FROM audit WHERE 1 = 1";
  if (filter.agent) sql += " AND agent = ?";
  if (filter.connection) sql += " AND connection = ?";
  if (filter.code) sql += " AND code = ?";
  if (filter.after_id) sql += " AND id > ?";
  sql += " ORDER BY id DESC LIMIT ?";
  std::vector<AuditRecord> out;
  Status done = Read([&](SqliteDb& db) -> Status {
    out.clear();
    LATCHKEY_ASSIGN_OR_RETURN(auto stmt, SqliteStatement::Prepare(db, sql));
    if (filter.agent) stmt.Add(*filter.agent);
    if (filter.connection) stmt.Add(*filter.connection);
    if (filter.code) stmt.Add(*filter.code);
    if (filter.after_id) stmt.Add(*filter.after_id);
    stmt.Add(int64_t{filter.limit});
    for (;;) {
      LATCHKEY_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return Status::Ok();
      out.push_back({stmt.Int(0), stmt.Time(1), stmt.Text(2), stmt.Text(3), stmt.Text(4), stmt.Text(5),
                     static_cast<int>(stmt.Int(6)), stmt.Text(7), stmt.Int(8), stmt.Int(9) != 0});
    }
  });
  if (!done.ok()) return done;
  return out;
}

Status InsertAlert(SqliteDb& db, const AlertEvent& e) {
  LATCHKEY_ASSIGN_OR_RETURN(
      auto stmt, SqliteStatement::Prepare(db, std::string("INSERT INTO alert_outbox (") + kAlertColumns +
                                                  ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  stmt.Add(e.event_id).Add(e.type).Add(e.connection).Add(e.payload).Add(e.created_at);
  stmt.Add(int64_t{e.attempts}).Add(e.next_attempt_at).Add(e.delivered_at).Add(e.last_error);
  Status s = stmt.Run();
  if (s.code() == StatusCode::kAlreadyExists)
    return AlreadyExistsError(AlertName(e.event_id) + " is already queued");
  return s;
}

Status SqliteStore::EnqueueAlert(const AlertEvent& e) {
  return Write([&](SqliteDb& db) -> Status { return InsertAlert(db, e); });
}

StatusOr<std::vector<AlertEvent>> SqliteStore::DueAlerts(TimePoint now, int limit) {
  LATCHKEY_RETURN_IF_ERROR(CheckLimit(limit));
  std::vector<AlertEvent> out;
  Status done = Read([&](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(out, SelectAlerts(db, kDueAlerts, now, limit));
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return out;
}

StatusOr<std::vector<AlertEvent>> SqliteStore::ClaimDueAlerts(TimePoint now, int limit,
                                                              TimePoint lease_until) {
  LATCHKEY_RETURN_IF_ERROR(CheckLimit(limit));
  std::vector<AlertEvent> out;
  Status done = Write([&](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(out, SelectAlerts(db, kDueAlerts, now, limit));
    LATCHKEY_ASSIGN_OR_RETURN(
        auto stmt,
        SqliteStatement::Prepare(db, "UPDATE alert_outbox SET next_attempt_at = ? WHERE event_id = ?"));
    for (AlertEvent& event : out) {
      stmt.Reset();
      stmt.Add(lease_until).Add(event.event_id);
      LATCHKEY_RETURN_IF_ERROR(stmt.Run());
      event.next_attempt_at = lease_until;
    }
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return out;
}

StatusOr<std::vector<AlertEvent>> SqliteStore::ListAlerts(int limit) {
  LATCHKEY_RETURN_IF_ERROR(CheckLimit(limit));
  std::vector<AlertEvent> out;
  Status done = Read([&](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(
        out, SelectAlerts(db, "ORDER BY created_at DESC, seq DESC LIMIT ?", std::nullopt, limit));
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return out;
}

StatusOr<int64_t> SqliteStore::CountUndeliveredAlerts() {
  int64_t count = 0;
  Status done = Read([&](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(
        auto stmt,
        SqliteStatement::Prepare(db, "SELECT COUNT(*) FROM alert_outbox WHERE delivered_at IS NULL"));
    LATCHKEY_ASSIGN_OR_RETURN(bool row, stmt.Step());
    count = row ? stmt.Int(0) : 0;
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return count;
}

Status SqliteStore::MarkAlertDelivered(std::string_view event_id, TimePoint at) {
  return Write([&](SqliteDb& db) -> Status {
    // Marking twice keeps the first delivery time.
    LATCHKEY_ASSIGN_OR_RETURN(auto stmt,
                              SqliteStatement::Prepare(db,
                                                       "UPDATE alert_outbox SET attempts = attempts + 1, "
                                                       "delivered_at = ?, next_attempt_at = NULL "
                                                       "WHERE event_id = ? AND delivered_at IS NULL"));
    LATCHKEY_RETURN_IF_ERROR(stmt.Add(at).Add(event_id).Run());
    if (db.Changes() == 1) return Status::Ok();
    LATCHKEY_ASSIGN_OR_RETURN(auto exists,
                              SqliteStatement::Prepare(db, "SELECT 1 FROM alert_outbox WHERE event_id = ?"));
    LATCHKEY_ASSIGN_OR_RETURN(bool found, exists.Add(event_id).Step());
    return found ? Status::Ok() : NotFoundError(AlertName(event_id) + " does not exist");
  });
}

Status SqliteStore::MarkAlertFailed(std::string_view event_id, std::string_view error,
                                    TimePoint next_attempt) {
  return Write([&](SqliteDb& db) -> Status {
    // A failure reported after another deliverer succeeded leaves the row delivered.
    LATCHKEY_ASSIGN_OR_RETURN(
        auto stmt,
        SqliteStatement::Prepare(db,
                                 "UPDATE alert_outbox SET attempts = attempts + 1, last_error = ?, "
                                 "next_attempt_at = ? WHERE event_id = ? AND delivered_at IS NULL"));
    LATCHKEY_RETURN_IF_ERROR(stmt.Add(error).Add(next_attempt).Add(event_id).Run());
    if (db.Changes() == 1) return Status::Ok();
    LATCHKEY_ASSIGN_OR_RETURN(auto exists,
                              SqliteStatement::Prepare(db, "SELECT 1 FROM alert_outbox WHERE event_id = ?"));
    LATCHKEY_ASSIGN_OR_RETURN(bool found, exists.Add(event_id).Step());
    return found ? Status::Ok() : NotFoundError(AlertName(event_id) + " does not exist");
  });
}

}  // namespace latchkey::store::sqlite
