// The audit log and the alert outbox.
#include <algorithm>
#include <string>

#include "store/postgres_store_impl.h"

namespace latchkey::store::postgres {
namespace {

// Undelivered events whose next attempt is due (or never set), oldest first: what
// DueAlerts reads and ClaimDueAlerts claims.
constexpr const char* kDueAlerts =
    "WHERE delivered_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= $1) ORDER BY created_at, "
    "seq LIMIT $2";

std::string AlertName(std::string_view event_id) { return "alert event '" + std::string(event_id) + "'"; }

constexpr const char* kAlertColumns =
    "event_id, type, connection, payload, created_at, attempts, next_attempt_at, delivered_at, last_error";

// Audit rows per INSERT statement: 9 parameters each, far below PostgreSQL's 65535.
constexpr size_t kAuditRowsPerStatement = 500;

StatusOr<std::vector<AlertEvent>> SelectAlerts(PgTx& tx, const std::string& tail, const PgParams& params) {
  LATCHKEY_ASSIGN_OR_RETURN(
      auto rows, tx.Query(std::string("SELECT ") + kAlertColumns + " FROM alert_outbox " + tail, params));
  std::vector<AlertEvent> out;
  out.reserve(rows.size());
  for (const PgRow& r : rows) {
    out.push_back({r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.Time(4), static_cast<int>(r.Int(5)),
                   r.OptTime(6), r.OptTime(7), r.Text(8)});
  }
  return out;
}

// Succeeds when event_id names an outbox row (the update before changed none).
Status CheckAlertExists(PgTx& tx, std::string_view event_id) {
  LATCHKEY_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT 1 FROM alert_outbox WHERE event_id = $1", PgParams().Add(event_id)));
  return rows.empty() ? NotFoundError(AlertName(event_id) + " does not exist") : Status::Ok();
}

}  // namespace

Status PostgresStore::AppendAudit(const std::vector<AuditRecord>& records) {
  if (records.empty()) return Status::Ok();
  return Write([&](PgTx& tx) -> Status {
    // Writers take turns, so ids are handed out in commit order and a live tail that
    // asks for id > N never misses a row committed later with a smaller id. (Readers
    // are not blocked: EXCLUSIVE mode only conflicts with writers.)
    LATCHKEY_RETURN_IF_ERROR(tx.Exec("LOCK TABLE audit IN EXCLUSIVE MODE"));
    for (size_t first = 0; first < records.size(); first += kAuditRowsPerStatement) {
      size_t end = std::min(records.size(), first + kAuditRowsPerStatement);
      std::string sql =
          "INSERT INTO audit (at, agent, connection, method, path, upstream_status, code, latency_ms, "
          "refreshed) "
          "VALUES ";
      PgParams params;
      for (size_t i = first; i < end; ++i) {
        const AuditRecord& r = records[i];
        int n = static_cast<int>(i - first) * 9;
        sql += i == first ? "(" : ", (";
        for (int column = 1; column <= 9; ++column) {
          sql += (column == 1 ? "$" : ", $") + std::to_string(n + column);
        }
        sql += ")";
        params.Add(r.at)
            .Add(r.agent)
            .Add(r.connection)
            .Add(r.method)
            .Add(r.path)
            .Add(int64_t{r.upstream_status});
        params.Add(r.code).Add(r.latency_ms).AddBool(r.refreshed);
      }
      LATCHKEY_RETURN_IF_ERROR(tx.Exec(sql, params));
    }
    return Status::Ok();
  });
}

StatusOr<int64_t> PostgresStore::DeleteAuditBefore(TimePoint before) {
  int64_t deleted = 0;
  Status done = Write([&](PgTx& tx) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(deleted,
                              tx.Exec("DELETE FROM audit WHERE at < $1 AND id < (SELECT MAX(id) FROM audit)",
                                      PgParams().Add(before)));
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return deleted;
}

StatusOr<std::vector<AuditRecord>> PostgresStore::QueryAudit(const AuditFilter& filter) {
  LATCHKEY_RETURN_IF_ERROR(CheckLimit(filter.limit));
  std::string sql =
      "SELECT id, at, agent, connection, method, path, upstream_status, code, latency_ms, refreshed "
      "FROM audit WHERE 1 = 1";
  PgParams params;
  int n = 0;
  auto next = [&n] { return "$" + std::to_string(++n); };
  if (filter.agent) {
    sql += " AND agent = " + next();
    params.Add(*filter.agent);
  }
  if (filter.connection) {
    sql += " AND connection = " + next();
    params.Add(*filter.connection);
  }
  if (filter.code) {
    sql += " AND code = " + next();
    params.Add(*filter.code);
  }
  if (filter.after_id) {
    sql += " AND id > " + next();
    params.Add(*filter.after_id);
  }
  sql += " ORDER BY id DESC LIMIT " + next();
  params.Add(int64_t{filter.limit});
  std::vector<AuditRecord> out;
  Status done = Read([&](PgTx& tx) -> Status {
    out.clear();
    LATCHKEY_ASSIGN_OR_RETURN(auto rows, tx.Query(sql, params));
    for (const PgRow& r : rows) {
      out.push_back({r.Int(0), r.Time(1), r.Text(2), r.Text(3), r.Text(4), r.Text(5),
                     static_cast<int>(r.Int(6)), r.Text(7), r.Int(8), r.Bool(9)});
    }
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return out;
}

Status InsertAlert(PgTx& tx, const AlertEvent& e) {
  PgParams params;
  params.Add(e.event_id).Add(e.type).Add(e.connection).Add(e.payload).Add(e.created_at);
  params.Add(int64_t{e.attempts}).Add(e.next_attempt_at).Add(e.delivered_at).Add(e.last_error);
  Status s = tx.Exec(std::string("INSERT INTO alert_outbox (") + kAlertColumns +
                         ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                     params)
                 .status();
  if (s.code() == StatusCode::kAlreadyExists)
    return AlreadyExistsError(AlertName(e.event_id) + " is already queued");
  return s;
}

Status PostgresStore::EnqueueAlert(const AlertEvent& e) {
  return Write([&](PgTx& tx) -> Status { return InsertAlert(tx, e); });
}

StatusOr<std::vector<AlertEvent>> PostgresStore::DueAlerts(TimePoint now, int limit) {
  LATCHKEY_RETURN_IF_ERROR(CheckLimit(limit));
  std::vector<AlertEvent> out;
  Status done = Read([&](PgTx& tx) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(out, SelectAlerts(tx, kDueAlerts, PgParams().Add(now).Add(int64_t{limit})));
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return out;
}

StatusOr<std::vector<AlertEvent>> PostgresStore::ClaimDueAlerts(TimePoint now, int limit,
                                                                TimePoint lease_until) {
  LATCHKEY_RETURN_IF_ERROR(CheckLimit(limit));
  std::vector<AlertEvent> out;
  // A serializable write: two claimants racing for one event cannot both commit; the
  // loser is retried inside the store and then no longer finds it due.
  Status done = Write([&](PgTx& tx) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(out, SelectAlerts(tx, kDueAlerts, PgParams().Add(now).Add(int64_t{limit})));
    for (AlertEvent& event : out) {
      LATCHKEY_RETURN_IF_ERROR(tx.Exec("UPDATE alert_outbox SET next_attempt_at = $1 WHERE event_id = $2",
                                       PgParams().Add(lease_until).Add(event.event_id))
                                   .status());
      event.next_attempt_at = lease_until;
    }
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return out;
}

StatusOr<std::vector<AlertEvent>> PostgresStore::ListAlerts(int limit) {
  LATCHKEY_RETURN_IF_ERROR(CheckLimit(limit));
  std::vector<AlertEvent> out;
  Status done = Read([&](PgTx& tx) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(
        out, SelectAlerts(tx, "ORDER BY created_at DESC, seq DESC LIMIT $1", PgParams().Add(int64_t{limit})));
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return out;
}

StatusOr<int64_t> PostgresStore::CountUndeliveredAlerts() {
  int64_t count = 0;
  Status done = Read([&](PgTx& tx) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(auto rows,
                              tx.Query("SELECT COUNT(*) FROM alert_outbox WHERE delivered_at IS NULL"));
    count = rows.empty() ? 0 : rows.front().Int(0);
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return count;
}

Status PostgresStore::MarkAlertDelivered(std::string_view event_id, TimePoint at) {
  return Write([&](PgTx& tx) -> Status {
    // Marking twice keeps the first delivery time.
    LATCHKEY_ASSIGN_OR_RETURN(int64_t changed, tx.Exec("UPDATE alert_outbox SET attempts = attempts + 1, "
                                                       "delivered_at = $1, next_attempt_at = NULL "
                                                       "WHERE event_id = $2 AND delivered_at IS NULL",
                                                       PgParams().Add(at).Add(event_id)));
    return changed == 1 ? Status::Ok() : CheckAlertExists(tx, event_id);
  });
}

Status PostgresStore::MarkAlertFailed(std::string_view event_id, std::string_view error,
                                      TimePoint next_attempt) {
  return Write([&](PgTx& tx) -> Status {
    // A failure reported after another deliverer succeeded leaves the row delivered.
    LATCHKEY_ASSIGN_OR_RETURN(int64_t changed,
                              tx.Exec("UPDATE alert_outbox SET attempts = attempts + 1, last_error = $1, "
                                      "next_attempt_at = $2 WHERE event_id = $3 AND delivered_at IS NULL",
                                      PgParams().Add(error).Add(next_attempt).Add(event_id)));
    return changed == 1 ? Status::Ok() : CheckAlertExists(tx, event_id);
  });
}

}  // namespace latchkey::store::postgres
