// The audit log and the alert outbox.
#include <algorithm>
#include <deque>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "common/encoding.h"
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

// How many batches a query or a retention pass reads at a time.
constexpr int kBatchesAtATime = 16;
constexpr int kRetentionBatchesAtATime = 256;
// Names (a batch's agents and connections) per INSERT: three parameters each.
constexpr size_t kNamesPerInsert = 256;

std::string BatchName(int64_t id) { return "audit batch " + std::to_string(id); }

// `text` as the batch's JSON holds it (EncodeAuditRows repairs what is not UTF-8), kept in
// `repaired` when it had to change.
std::string_view AsStored(std::string_view text, std::deque<std::string>& repaired) {
  if (IsValidUtf8(text)) return text;
  return repaired.emplace_back(ToValidUtf8(text));
}

// Records which agents and connections batch `batch` holds (audit_batch_name), each once:
// what a query that names one reads instead of every batch.
Status InsertBatchNames(Tx& tx, int64_t batch, const std::vector<AuditRecord>& rows) {
  std::deque<std::string> repaired;
  std::set<std::pair<std::string_view, std::string_view>> names;  // (kind, name)
  const AuditRecord* previous = nullptr;
  for (const AuditRecord& r : rows) {
    // (Most rows name the agent and connection of the row before.)
    if (previous == nullptr || r.agent != previous->agent)
      names.emplace("agent", AsStored(r.agent, repaired));
    if (previous == nullptr || r.connection != previous->connection) {
      names.emplace("connection", AsStored(r.connection, repaired));
    }
    previous = &r;
  }
  auto next = names.begin();
  while (next != names.end()) {
    std::string sql = "INSERT INTO audit_batch_name (batch, kind, name) VALUES ";
    Params params;
    for (size_t n = 0; n < kNamesPerInsert && next != names.end(); ++n, ++next) {
      sql += n == 0 ? "(?, ?, ?)" : ", (?, ?, ?)";
      params.Add(batch).AddUnowned(next->first).AddUnowned(next->second);
    }
    LATCHKEY_RETURN_IF_ERROR(tx.Exec(sql, params));
  }
  return Status::Ok();
}

TimePoint NewestAt(const std::vector<AuditRecord>& rows) {
  return std::ranges::max_element(rows, {}, &AuditRecord::at)->at;
}

// Whether `r` passes the filter (its agent, connection, code, client and cursor).
bool Matches(const AuditFilter& filter, const AuditRecord& r) {
  return (!filter.agent || r.agent == *filter.agent) &&
         (!filter.connection || r.connection == *filter.connection) &&
         (!filter.code || r.code == *filter.code) && (!filter.client || r.client == *filter.client) &&
         (!filter.after_id || r.id > *filter.after_id);
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

// A batch is one row of audit_batch (its rows as JSON, row_codec.h) and a row of
// audit_batch_name for each agent and connection in it: per call, the database stores
// some 60 bytes of JSON instead of a row and two index entries (bench/gateway/RESULTS.md,
// stop 46). Its ids follow the newest batch's (the newest row is never deleted, so no id is
// handed out twice); on PostgreSQL writers take turns (Dialect::before_audit_append), so
// ids also follow commit order and a live tail that asks for id > N misses nothing.
Status SqlStore::AppendAudit(const std::vector<AuditRecord>& records) {
  if (records.empty()) return Status::Ok();
  return Write([&](Tx& tx) -> Status {
    if (!dialect_.before_audit_append.empty()) {
      LATCHKEY_RETURN_IF_ERROR(tx.Exec(dialect_.before_audit_append));
    }
    // The newest batch holds the newest row (by the primary key: MAX(last_id) would read
    // every batch).
    LATCHKEY_ASSIGN_OR_RETURN(std::vector<Row> newest,
                              tx.Query("SELECT last_id FROM audit_batch ORDER BY id DESC LIMIT 1"));
    const int64_t first = (newest.empty() ? 0 : newest.front().Int(0)) + 1;
    const auto count = static_cast<int64_t>(records.size());
    const std::string rows = EncodeAuditRows(first, records);
    LATCHKEY_RETURN_IF_ERROR(tx.Exec(
        "INSERT INTO audit_batch (id, last_id, newest_at, row_count, row_json) VALUES (?, ?, ?, ?, ?)",
        Params().Add(first).Add(first + count - 1).Add(NewestAt(records)).Add(count).AddUnowned(rows)));
    return InsertBatchNames(tx, first, records);
  });
}

// Rows go as stop 45 set (store.h): every row dated before `before` that precedes, in id
// order, the first row dated from `before` to `now` (or the newest row, if none is). Batches
// are walked from the oldest: one whose rows are all old goes whole (in one DELETE at the
// end, its names with it), without being read; the batch that holds that first young row,
// or the newest row, or a row dated in the future, is read and written again without the
// rows that go. A pass reads about as many batches as it deletes.
StatusOr<int64_t> SqlStore::DeleteAuditBefore(TimePoint before, TimePoint now) {
  return Write<int64_t>([&](Tx& tx) -> StatusOr<int64_t> {
    LATCHKEY_ASSIGN_OR_RETURN(std::vector<Row> newest, tx.Query("SELECT MAX(id) FROM audit_batch"));
    const std::optional<int64_t> newest_batch = newest.front().OptInt(0);
    if (!newest_batch) return int64_t{0};  // no rows
    int64_t deleted = 0;
    std::optional<int64_t> whole_up_to;  // batches up to this id whose rows are all old go whole
    struct Batch {
      int64_t id;
      TimePoint newest_at;
      int64_t count;
    };
    int64_t after = std::numeric_limits<int64_t>::min();
    for (bool bound_found = false; !bound_found;) {
      LATCHKEY_ASSIGN_OR_RETURN(
          std::vector<Batch> page,
          Select(tx,
                 "SELECT id, newest_at, row_count FROM audit_batch WHERE id > ? ORDER BY id LIMIT " +
                     std::to_string(kRetentionBatchesAtATime),
                 Params().Add(after), [](const Row& r) {
                   return Batch{r.Int(0), r.Time(1), r.Int(2)};
                 }));
      if (page.empty()) break;
      for (const Batch& batch : page) {
        after = batch.id;
        const bool last = batch.id == *newest_batch;
        if (batch.newest_at < before && !last) {
          whole_up_to = batch.id;
          deleted += batch.count;
          continue;
        }
        LATCHKEY_ASSIGN_OR_RETURN(
            std::vector<Row> stored,
            tx.Query("SELECT row_json FROM audit_batch WHERE id = ?", Params().Add(batch.id)));
        if (stored.empty()) return UnavailableError(BatchName(batch.id) + " went meanwhile");
        LATCHKEY_ASSIGN_OR_RETURN(std::vector<AuditRecord> rows,
                                  DecodeAuditRows(stored.front().Text(0), BatchName(batch.id)));
        if (rows.empty()) return DataLossError(BatchName(batch.id) + " holds no rows in the store");
        auto young =
            std::ranges::find_if(rows, [&](const AuditRecord& r) { return r.at >= before && r.at <= now; });
        if (young == rows.end() && last) young = rows.end() - 1;  // the newest row stays
        bound_found = young != rows.end();
        std::vector<AuditRecord> kept;
        for (auto it = rows.begin(); it != rows.end(); ++it) {
          if (it >= young || it->at >= before) kept.push_back(std::move(*it));
        }
        const auto gone = static_cast<int64_t>(rows.size() - kept.size());
        if (gone > 0) {
          deleted += gone;
          LATCHKEY_RETURN_IF_ERROR(
              tx.Exec("DELETE FROM audit_batch_name WHERE batch = ?", Params().Add(batch.id)));
          if (kept.empty()) {
            LATCHKEY_RETURN_IF_ERROR(tx.Exec("DELETE FROM audit_batch WHERE id = ?", Params().Add(batch.id)));
          } else {
            const std::string json = EncodeStoredAuditRows(kept);
            LATCHKEY_RETURN_IF_ERROR(tx.Exec(
                "UPDATE audit_batch SET last_id = ?, newest_at = ?, row_count = ?, row_json = ? WHERE id = ?",
                Params()
                    .Add(kept.back().id)
                    .Add(NewestAt(kept))
                    .Add(static_cast<int64_t>(kept.size()))
                    .AddUnowned(json)
                    .Add(batch.id)));
            LATCHKEY_RETURN_IF_ERROR(InsertBatchNames(tx, batch.id, kept));
          }
        }
        if (bound_found) break;
      }
    }
    if (whole_up_to) {
      LATCHKEY_RETURN_IF_ERROR(tx.Exec("DELETE FROM audit_batch WHERE id <= ? AND newest_at < ?",
                                       Params().Add(*whole_up_to).Add(before)));
    }
    return deleted;
  });
}

// Batches newest first (only those that name the filter's agent, or else its connection,
// when it names one), each read from its last row back, until `limit` rows match.
StatusOr<std::vector<AuditRecord>> SqlStore::QueryAudit(const AuditFilter& filter) {
  LATCHKEY_RETURN_IF_ERROR(CheckLimit(filter.limit));
  const auto limit = static_cast<size_t>(filter.limit);
  const bool by_name = filter.agent || filter.connection;
  const std::string column = by_name ? "n.batch" : "b.id";
  std::string sql =
      by_name ? "SELECT b.id, b.row_json FROM audit_batch_name n JOIN audit_batch b ON b.id = n.batch "
                "WHERE n.kind = ? AND n.name = ?"
              : "SELECT b.id, b.row_json FROM audit_batch b WHERE 1 = 1";
  Params first;
  if (filter.agent) {
    first.Add(std::string_view("agent")).Add(*filter.agent);
  } else if (filter.connection) {
    first.Add(std::string_view("connection")).Add(*filter.connection);
  }
  if (filter.after_id) {
    sql += " AND b.last_id > ?";
    first.Add(*filter.after_id);
  }
  const std::string order = " ORDER BY " + column + " DESC LIMIT " + std::to_string(kBatchesAtATime);
  return Read<std::vector<AuditRecord>>([&](Tx& tx) -> StatusOr<std::vector<AuditRecord>> {
    std::vector<AuditRecord> out;
    std::optional<int64_t> below;  // the oldest batch read so far
    for (;;) {
      Params params = first;
      if (below) params.Add(*below);
      int read = 0;
      LATCHKEY_RETURN_IF_ERROR(tx.Each(
          sql + (below ? " AND " + column + " < ?" : "") + order, params, [&](const Row& row) -> Status {
            ++read;
            below = row.Int(0);
            if (out.size() >= limit) return Status::Ok();
            LATCHKEY_ASSIGN_OR_RETURN(std::vector<AuditRecord> rows,
                                      DecodeAuditRows(row.Text(1), BatchName(*below)));
            for (auto it = rows.rbegin(); it != rows.rend() && out.size() < limit; ++it) {
              if (Matches(filter, *it)) out.push_back(std::move(*it));
            }
            return Status::Ok();
          }));
      if (read < kBatchesAtATime || out.size() >= limit) return out;
    }
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
