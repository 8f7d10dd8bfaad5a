// What a backup carries of a store (vault/backup.h writes and checks the file): the tables,
// their columns and types, written down once for both backends, and the rows that move
// between Store::ExportSnapshot and Store::ImportSnapshot as plain values, exactly as
// stored (sealed secrets stay sealed bytes, times stay unix milliseconds). Pure data and
// pure functions; any thread.
//
//   Snapshot copy;
//   store.ExportSnapshot({.begin = [&](const SnapshotInfo& info) { ...; return Status::Ok(); },
//                         .row = [&](const SnapshotRow& row) { ...; return Status::Ok(); }});
//   other.ImportSnapshot(copy);  // other: a freshly migrated, empty store
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/encoding.h"
#include "common/status.h"
#include "store/records.h"

namespace latchkey::store {

enum class CellType { kInt, kText, kBytes };

struct SnapshotColumn {
  std::string_view name;
  CellType type;
  // Holds a secret the vault sealed with associated data (table, row key, column).
  bool sealed;
};

struct SnapshotTable {
  std::string_view name;
  std::string_view order_by;  // its primary key: rows go out in this order on both backends
  // The column whose value names a row in its sealed cells' associated data; "" when the
  // table has no sealed column.
  std::string_view row_key;
  // A column whose values the database hands out itself (alert_outbox.seq); "" when none.
  std::string_view identity;
  std::span<const SnapshotColumn> columns;
};

// The tables a backup carries, in foreign-key order (a row's references come earlier).
// Left out: handover (the source's fence: a copy starts unfenced), audit (its size; it is history, not
// state), pending_authorizations (consents in flight, which expire in minutes) and schema_migrations
// (SnapshotInfo carries the version).
std::span<const SnapshotTable> SnapshotTables();
const SnapshotTable* FindSnapshotTable(std::string_view name);  // nullptr when not carried

using SnapshotValue = std::variant<std::monostate, int64_t, std::string, Bytes>;  // null | int | text | bytes

struct SnapshotCell {
  std::string column;
  SnapshotValue value;

  friend bool operator==(const SnapshotCell&, const SnapshotCell&) = default;
};

// One row: its table and its cells, in the table's column order when exported.
struct SnapshotRow {
  std::string table;
  std::vector<SnapshotCell> cells;

  // The cell of `column`, or nullptr.
  const SnapshotValue* Find(std::string_view column) const;

  friend bool operator==(const SnapshotRow&, const SnapshotRow&) = default;
};

struct SnapshotInfo {
  int schema_version = 0;  // of the store the rows come from
  std::string backend;     // "sqlite" | "postgres"
};

// Where ExportSnapshot sends what it reads: `begin` once, then `row` for every row. An
// error from either ends the export with that error.
struct SnapshotSink {
  std::function<Status(const SnapshotInfo&)> begin;
  std::function<Status(const SnapshotRow&)> row;
};

// The oldest store schema whose snapshots this build imports: the carried tables are the
// same from that version to the newest, so its rows go into a store of the newest as they
// are. A migration that changes a carried table (its columns, or what their values mean)
// moves this to its own version, unless it also gives older snapshots a way in.
// (SqliteStoreTest and PostgresStoreTest.NoMigrationSinceTheOldestSnapshotSchemaTouchesACarriedTable
// hold the migrations to that.)
inline constexpr int kOldestSnapshotSchema = 11;

// kFailedPrecondition unless a snapshot of `snapshot_schema` goes into a store of
// `store_schema` (from kOldestSnapshotSchema up to the store's own).
Status CheckSnapshotSchema(int snapshot_schema, int store_schema);

struct Snapshot {
  int schema_version = 0;
  std::vector<SnapshotRow> rows;  // tables in SnapshotTables() order
};

// kInvalidArgument naming the table and column unless `row` is one of a carried table with
// each of its columns once and no other, every value null or of the column's type.
Status CheckSnapshotRow(const SnapshotRow& row);

// A data_key_wrappers row as the record it holds (kInvalidArgument for another row).
StatusOr<WrappedDataKey> ReadWrappedDataKey(const SnapshotRow& row);

// The sealed secrets of `row` that are not null, each with the address it was sealed at.
std::vector<SecretCell> SealedCells(const SnapshotRow& row);

}  // namespace latchkey::store
