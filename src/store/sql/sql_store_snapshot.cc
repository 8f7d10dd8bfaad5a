// Backup and restore: the tables of snapshot.h as generic rows, read from one snapshot and
// written back in one transaction, the same statements on both databases.
#include <string>
#include <variant>

#include "common/clock.h"
#include "store/sql/migrate.h"
#include "store/sql/sql_store.h"

namespace latchkey::store::sql {
namespace {

std::string ColumnList(const SnapshotTable& table) {
  std::string out;
  for (const SnapshotColumn& column : table.columns) {
    if (!out.empty()) out += ", ";
    out += column.name;
  }
  return out;
}

// As the schema types the column, whatever the database handed over (SQLite may hold an
// integer in a BLOB column): both backends give the same snapshot of the same rows.
SnapshotValue ReadValue(const Row& row, int col, CellType type) {
  if (row.IsNull(col)) return std::monostate{};
  switch (type) {
    case CellType::kInt: return row.Int(col);
    case CellType::kText: return row.Text(col);
    case CellType::kBytes: return row.Blob(col);
  }
  return std::monostate{};
}

Status ReadTable(Tx& tx, const SnapshotTable& table, const std::function<Status(const SnapshotRow&)>& sink) {
  const std::string sql = "SELECT " + ColumnList(table) + " FROM " + std::string(table.name) + " ORDER BY " +
                          std::string(table.order_by);
  return tx.Each(sql, {}, [&](const Row& read) {
    SnapshotRow row{.table = std::string(table.name), .cells = {}};
    row.cells.reserve(table.columns.size());
    for (size_t i = 0; i < table.columns.size(); ++i) {
      const SnapshotColumn& column = table.columns[i];
      row.cells.push_back({std::string(column.name), ReadValue(read, static_cast<int>(i), column.type)});
    }
    return sink(row);
  });
}

std::string InsertSql(const SnapshotTable& table, const Dialect& dialect) {
  std::string sql = "INSERT INTO " + std::string(table.name) + " (" + ColumnList(table) + ") ";
  if (!table.identity.empty() && !dialect.insert_given_identity.empty()) {
    sql += std::string(dialect.insert_given_identity) + " ";
  }
  sql += "VALUES (";
  for (size_t i = 0; i < table.columns.size(); ++i) sql += i == 0 ? "?" : ", ?";
  return sql + ")";
}

// The row's values in its table's column order (CheckSnapshotRow has accepted the row).
Params InsertParams(const SnapshotTable& table, const SnapshotRow& row) {
  Params params;
  for (const SnapshotColumn& column : table.columns) {
    const SnapshotValue* value = row.Find(column.name);
    if (value == nullptr || std::holds_alternative<std::monostate>(*value)) {
      params.AddNull();
    } else if (const auto* number = std::get_if<int64_t>(value)) {
      params.Add(*number);
    } else if (const auto* text = std::get_if<std::string>(value)) {
      params.Add(std::string_view(*text));
    } else {
      params.Add(std::get<Bytes>(*value));
    }
  }
  return params;
}

std::string ReplaceAll(std::string text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

}  // namespace

StatusOr<int> SqlStore::SchemaVersion() {
  return Read<int>([](Tx& tx) { return StoredSchemaVersion(tx); });
}

Status SqlStore::ExportSnapshot(const SnapshotSink& sink) {
  bool began = false;
  return Read([&](Tx& tx) -> Status {
    // The backend runs this again after contention; before the first read that is harmless,
    // after it the sink already holds rows, and a second pass would give them twice.
    if (began) return AbortedError("the store's snapshot was interrupted after it had begun; run it again");
    LATCHKEY_ASSIGN_OR_RETURN(const int version, StoredSchemaVersion(tx));
    began = true;
    if (sink.begin) {
      LATCHKEY_RETURN_IF_ERROR(
          sink.begin(SnapshotInfo{.schema_version = version, .backend = std::string(dialect_.backend)}));
    }
    for (const SnapshotTable& table : SnapshotTables()) {
      LATCHKEY_RETURN_IF_ERROR(ReadTable(tx, table, sink.row));
    }
    return Status::Ok();
  });
}

Status SqlStore::ImportSnapshot(const Snapshot& snapshot) {
  for (const SnapshotRow& row : snapshot.rows) LATCHKEY_RETURN_IF_ERROR(CheckSnapshotRow(row));
  return Write([&](Tx& tx) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(const int version, StoredSchemaVersion(tx));
    LATCHKEY_RETURN_IF_ERROR(CheckSnapshotSchema(snapshot.schema_version, version));
    for (const SnapshotTable& table : SnapshotTables()) {
      LATCHKEY_ASSIGN_OR_RETURN(std::vector<Row> any,
                                tx.Query("SELECT 1 FROM " + std::string(table.name) + " LIMIT 1"));
      if (!any.empty()) {
        return FailedPreconditionError("the store is not empty (table " + std::string(table.name) +
                                       " has rows); restore into a new store");
      }
    }
    for (const SnapshotRow& row : snapshot.rows) {
      const SnapshotTable& table = *FindSnapshotTable(row.table);
      Status inserted = tx.Exec(InsertSql(table, dialect_), InsertParams(table, row)).status();
      if (inserted.code() == StatusCode::kUnavailable) return inserted;  // contention: retried as is
      if (!inserted.ok()) return inserted.WithContext("a row of table " + row.table);
    }
    if (dialect_.advance_identity.empty()) return Status::Ok();
    for (const SnapshotTable& table : SnapshotTables()) {
      if (table.identity.empty()) continue;
      std::string sql = ReplaceAll(std::string(dialect_.advance_identity), "{table}", table.name);
      LATCHKEY_RETURN_IF_ERROR(tx.Exec(ReplaceAll(std::move(sql), "{column}", table.identity)));
    }
    return Status::Ok();
  });
}

Status SqlStore::SetHandedOver(std::optional<TimePoint> at) {
  return Write([&](Tx& tx) -> Status {
    LATCHKEY_RETURN_IF_ERROR(tx.Exec("DELETE FROM handover").status());
    if (!at) return Status::Ok();
    return tx.Exec("INSERT INTO handover (id, handed_over_at) VALUES (1, ?)", Params().Add(*at)).status();
  });
}

StatusOr<std::optional<TimePoint>> SqlStore::HandedOverAt() {
  return Read<std::optional<TimePoint>>([](Tx& tx) { return HandedOverAt(tx); });
}

StatusOr<std::optional<TimePoint>> SqlStore::HandedOverAt(Tx& tx) {
  LATCHKEY_ASSIGN_OR_RETURN(std::vector<Row> rows, tx.Query("SELECT handed_over_at FROM handover"));
  if (rows.empty()) return std::optional<TimePoint>();
  return std::optional<TimePoint>(rows.front().Time(0));
}

Status SqlStore::RefuseIfHandedOver(Tx& tx, std::string_view what) {
  LATCHKEY_ASSIGN_OR_RETURN(std::optional<TimePoint> at, HandedOverAt(tx));
  if (!at) return Status::Ok();
  return FailedPreconditionError(HandedOverReason(*at, what));
}

}  // namespace latchkey::store::sql
