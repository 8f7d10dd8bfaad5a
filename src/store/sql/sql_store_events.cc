// The audit log and the alert outbox.
#include <algorithm>
#include <bit>
#include <optional>
#include <string>
#include <thread>

#include "store/sql/row_codec.h"
#include "store/sql/sql_store.h"

namespace latchkey::store::sql {
namespace {

// Undelivered events whose next attempt is due (or never set), oldest first: what
// DueAlerts reads and ClaimDueAlerts claims.
constexpr const char* kDueAlerts =
    "WHERE delivered_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY created_at, "
    "seq LIMIT ?";

std::string AlertName(std::string_view event_id) { return "alert event '" + std::string(event_id) + "'"; }

constexpr const char* kAlertColumns =
    "event_id, type, connection, payload, created_at, attempts, next_attempt_at, delivered_at, last_error";

constexpr size_t kAuditColumns = 10;

// `rows` rows: `verb` is the dialect's audit_insert.
std::string AuditInsert(std::string_view verb, size_t rows) {
  std::string sql(verb);
  sql +=
      " audit (at, agent, client, connection, method, path, upstream_status, code, latency_ms, "
      "refreshed) VALUES ";
  for (size_t i = 0; i < rows; ++i)
    sql += i == 0 ? "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" : ", (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
  return sql;
}

StatusOr<std::vector<AlertEvent>> SelectAlerts(Tx& tx, const std::string& tail, const Params& params) {
  return Select(tx, std::string("SELECT ") + kAlertColumns + " FROM alert_outbox " + tail, params,
                [](const Row& r) {
                  return AlertEvent{r.Text(0),    r.Text(1),    r.Text(2),
                                    r.Text(3),    r.Time(4),    static_cast<int>(r.Int(5)),
                                    r.OptTime(6), r.OptTime(7), r.Text(8)};
                });
}

// Succeeds when event_id names an outbox row (the update before changed none).
Status CheckAlertExists(Tx& tx, std::string_view event_id) {
  LATCHKEY_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT 1 FROM alert_outbox WHERE event_id = ?", Params().Add(event_id)));
  return rows.empty() ? NotFoundError(AlertName(event_id) + " does not exist") : Status::Ok();
}

}  // namespace

std::vector<size_t> AuditInsertGroups(size_t rows, size_t most) {
  most = std::max<size_t>(1, most);
  std::vector<size_t> groups(rows / most, most);
  for (size_t rest = rows % most; rest > 0; rest -= std::bit_floor(rest))
    groups.push_back(std::bit_floor(rest));
  return groups;
}

// Audit rows go in as multi-row INSERTs of at most dialect_.audit_rows_per_insert rows
// (AuditInsertGroups; one statement per group instead of per row), their text bound
// without copies where the backend can: the gateway appends one row per proxied call. Between statements the
// writer yields its core: a batch is background work, and written in one go it held a
// core for 3 to 10 ms every 50 ms at 35,000 calls a second, which the proxy's I/O threads
// (and their clients) waited out: latchkey's p99 at 8 connections was 2.3 to 2.7 ms
// instead of 0.7 to 1.0 (bench/gateway/RESULTS.md, stop 40).
Status SqlStore::AppendAudit(const std::vector<AuditRecord>& records) {
  if (records.empty()) return Status::Ok();
  const std::vector<size_t> groups = AuditInsertGroups(records.size(), dialect_.audit_rows_per_insert);
  return Write([&](Tx& tx) -> Status {
    if (!dialect_.before_audit_append.empty()) {
      LATCHKEY_RETURN_IF_ERROR(tx.Exec(dialect_.before_audit_append));
    }
    std::string sql;  // the INSERT of sql_rows rows
    size_t sql_rows = 0;
    size_t first = 0;
    for (const size_t rows : groups) {
      if (rows != sql_rows) sql = AuditInsert(dialect_.audit_insert, sql_rows = rows);
      Params params;
      params.Reserve(rows * kAuditColumns);
      for (size_t i = first; i < first + rows; ++i) {
        const AuditRecord& r = records[i];
        params.Add(r.at).AddUnowned(r.agent).AddUnowned(r.client).AddUnowned(r.connection);
        params.AddUnowned(r.method).AddUnowned(r.path);
        params.Add(int64_t{r.upstream_status}).AddUnowned(r.code).Add(r.latency_ms).AddBool(r.refreshed);
      }
      LATCHKEY_RETURN_IF_ERROR(tx.Exec(sql, params));
      first += rows;
      if (first < records.size()) std::this_thread::yield();
    }
    return Status::Ok();
  });
}

// Without an index on `at` (an insert more for every row appended): the rows are read in
// id order from the oldest, up to the first one that is not old, so a pass reads about as
// many rows as it deletes, and the delete itself walks the primary key.
StatusOr<int64_t> SqlStore::DeleteAuditBefore(TimePoint before, TimePoint now) {
  return Write<int64_t>([&](Tx& tx) -> StatusOr<int64_t> {
    LATCHKEY_ASSIGN_OR_RETURN(std::vector<Row> first_not_old,
                              tx.Query("SELECT id FROM audit WHERE at >= ? AND at <= ? ORDER BY id LIMIT 1",
                                       Params().Add(before).Add(now)));
    std::optional<int64_t> bound;
    if (!first_not_old.empty()) {
      bound = first_not_old.front().Int(0);
    } else {  // all old (or dated ahead): up to the newest row, which stays
      LATCHKEY_ASSIGN_OR_RETURN(std::vector<Row> newest, tx.Query("SELECT MAX(id) FROM audit"));
      bound = newest.front().OptInt(0);
    }
    if (!bound) return int64_t{0};  // no rows
    return tx.Exec("DELETE FROM audit WHERE id < ? AND at < ?", Params().Add(*bound).Add(before));
  });
}

StatusOr<std::vector<AuditRecord>> SqlStore::QueryAudit(const AuditFilter& filter) {
  LATCHKEY_RETURN_IF_ERROR(CheckLimit(filter.limit));
  std::string sql =
      "SELECT id, at, agent, client, connection, method, path, upstream_status, code, latency_ms, refreshed "
      "FROM audit WHERE 1 = 1";
  Params params;
  if (filter.agent) {
    sql += " AND agent = ?";
    params.Add(*filter.agent);
  }
  if (filter.connection) {
    sql += " AND connection = ?";
    params.Add(*filter.connection);
  }
  if (filter.code) {
    sql += " AND code = ?";
    params.Add(*filter.code);
  }
  if (filter.client) {
    sql += " AND client = ?";
    params.Add(*filter.client);
  }
  if (filter.after_id) {
    sql += " AND id > ?";
    params.Add(*filter.after_id);
  }
  sql += " ORDER BY id DESC LIMIT ?";
  params.Add(int64_t{filter.limit});
  return Read<std::vector<AuditRecord>>([&](Tx& tx) {
    return Select(tx, sql, params, [](const Row& r) {
      return AuditRecord{r.Int(0),  r.Time(1), r.Text(2), r.Text(3),
                         r.Text(4), r.Text(5), r.Text(6), static_cast<int>(r.Int(7)),
                         r.Text(8), r.Int(9),  r.Bool(10)};
    });
  });
}

Status InsertAlert(Tx& tx, const AlertEvent& e) {
  Params params;
  params.Add(e.event_id).Add(e.type).Add(e.connection).Add(e.payload).Add(e.created_at);
  params.Add(int64_t{e.attempts}).Add(e.next_attempt_at).Add(e.delivered_at).Add(e.last_error);
  Status s = tx.Exec(std::string("INSERT INTO alert_outbox (") + kAlertColumns +
                         ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     params)
                 .status();
  if (s.code() == StatusCode::kAlreadyExists)
    return AlreadyExistsError(AlertName(e.event_id) + " is already queued");
  return s;
}

Status SqlStore::EnqueueAlert(const AlertEvent& e) {
  return Write([&](Tx& tx) -> Status { return InsertAlert(tx, e); });
}

StatusOr<std::vector<AlertEvent>> SqlStore::DueAlerts(TimePoint now, int limit) {
  LATCHKEY_RETURN_IF_ERROR(CheckLimit(limit));
  return Read<std::vector<AlertEvent>>(
      [&](Tx& tx) { return SelectAlerts(tx, kDueAlerts, Params().Add(now).Add(int64_t{limit})); });
}

StatusOr<std::vector<AlertEvent>> SqlStore::ClaimDueAlerts(TimePoint now, int limit, TimePoint lease_until) {
  LATCHKEY_RETURN_IF_ERROR(CheckLimit(limit));
  // Writers behave as if they ran one at a time (SQLite: one writer at a time;
  // PostgreSQL: SERIALIZABLE, the loser retried inside the store), so two claimants
  // racing for one event cannot both claim it: the second no longer finds it due.
  return Write<std::vector<AlertEvent>>([&](Tx& tx) -> StatusOr<std::vector<AlertEvent>> {
    LATCHKEY_ASSIGN_OR_RETURN(auto due, SelectAlerts(tx, kDueAlerts, Params().Add(now).Add(int64_t{limit})));
    for (AlertEvent& event : due) {
      LATCHKEY_RETURN_IF_ERROR(tx.Exec("UPDATE alert_outbox SET next_attempt_at = ? WHERE event_id = ?",
                                       Params().Add(lease_until).Add(event.event_id)));
      event.next_attempt_at = lease_until;
    }
    return due;
  });
}

StatusOr<std::vector<AlertEvent>> SqlStore::ListAlerts(int limit) {
  LATCHKEY_RETURN_IF_ERROR(CheckLimit(limit));
  return Read<std::vector<AlertEvent>>([&](Tx& tx) {
    return SelectAlerts(tx, "ORDER BY created_at DESC, seq DESC LIMIT ?", Params().Add(int64_t{limit}));
  });
}

StatusOr<int64_t> SqlStore::CountUndeliveredAlerts() {
  return Read<int64_t>([](Tx& tx) -> StatusOr<int64_t> {
    LATCHKEY_ASSIGN_OR_RETURN(auto rows,
                              tx.Query("SELECT COUNT(*) FROM alert_outbox WHERE delivered_at IS NULL"));
    return rows.empty() ? 0 : rows.front().Int(0);
  });
}

Status SqlStore::MarkAlertDelivered(std::string_view event_id, TimePoint at) {
  return Write([&](Tx& tx) -> Status {
    // Marking twice keeps the first delivery time.
    LATCHKEY_ASSIGN_OR_RETURN(int64_t changed, tx.Exec("UPDATE alert_outbox SET attempts = attempts + 1, "
                                                       "delivered_at = ?, next_attempt_at = NULL "
                                                       "WHERE event_id = ? AND delivered_at IS NULL",
                                                       Params().Add(at).Add(event_id)));
    return changed == 1 ? Status::Ok() : CheckAlertExists(tx, event_id);
  });
}

Status SqlStore::MarkAlertFailed(std::string_view event_id, std::string_view error, TimePoint next_attempt) {
  return Write([&](Tx& tx) -> Status {
    // A failure reported after another deliverer succeeded leaves the row delivered.
    LATCHKEY_ASSIGN_OR_RETURN(int64_t changed,
                              tx.Exec("UPDATE alert_outbox SET attempts = attempts + 1, last_error = ?, "
                                      "next_attempt_at = ? WHERE event_id = ? AND delivered_at IS NULL",
                                      Params().Add(error).Add(next_attempt).Add(event_id)));
    return changed == 1 ? Status::Ok() : CheckAlertExists(tx, event_id);
  });
}

}  // namespace latchkey::store::sql
