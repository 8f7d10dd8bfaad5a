#include "store/snapshot.h"

#include <algorithm>

namespace latchkey::store {
namespace {

constexpr CellType kInt = CellType::kInt;
constexpr CellType kText = CellType::kText;
constexpr CellType kBytes = CellType::kBytes;

// Every column of schema version 10 (sqlite_migrations.cc, postgres_migrations.cc). A
// migration that adds a column or a table holding state adds it here too;
// SnapshotTablesCoverTheSchema (sqlite_store_test.cc, postgres_store_test.cc) compares this
// list with each database.
constexpr SnapshotColumn kDataKeys[] = {{"id", kInt, false}, {"created_at", kInt, false}};
constexpr SnapshotColumn kDataKeyWrappers[] = {
    {"data_key_id", kInt, false},
    {"master_key_id", kText, false},
    // Sealed too, but by the master key and bound to (data key, master key): KeyManager opens it.
    {"wrapped", kBytes, false},
    {"created_at", kInt, false},
};
constexpr SnapshotColumn kProviders[] = {
    {"name", kText, false},       {"definition", kText, false}, {"client_secret", kBytes, true},
    {"data_key_id", kInt, false}, {"created_at", kInt, false},  {"updated_at", kInt, false},
};
constexpr SnapshotColumn kConnections[] = {
    {"id", kText, false},
    {"name", kText, false},
    {"provider", kText, false},
    {"kind", kText, false},
    {"status", kText, false},
    {"account", kText, false},
    {"scopes", kText, false},
    {"api_base_url", kText, false},
    {"token_type", kText, false},
    {"expires_at", kInt, false},
    {"access_token", kBytes, true},
    {"refresh_token", kBytes, true},
    {"api_key", kBytes, true},
    {"password", kBytes, true},
    {"username", kText, false},
    {"data_key_id", kInt, false},
    {"token_version", kInt, false},
    {"last_refresh_at", kInt, false},
    {"needs_reauth_since", kInt, false},
    {"last_error", kText, false},
    {"created_at", kInt, false},
    {"updated_at", kInt, false},
    {"token_obtained_at", kInt, false},
    {"refresh_failures", kInt, false},
    {"next_refresh_attempt_at", kInt, false},
    {"refresh_started_at", kInt, false},
    {"account_id", kText, false},
    {"consented_at", kInt, false},
    {"refresh_server_expires_at", kInt, false},
    {"refresh_lifetime_override", kInt, false},
    {"refresh_idle_lifetime_override", kInt, false},
    {"expiring_alerted_for", kInt, false},
};
constexpr SnapshotColumn kAgents[] = {
    {"id", kText, false},    {"name", kText, false},      {"key_hash", kBytes, false},
    {"rules", kText, false}, {"created_at", kInt, false}, {"revoked_at", kInt, false},
};
constexpr SnapshotColumn kAdminTokens[] = {
    {"id", kText, false},
    {"key_hash", kBytes, false},
    {"created_at", kInt, false},
    {"revoked_at", kInt, false},
};
constexpr SnapshotColumn kMcpClients[] = {
    {"client_id", kText, false},
    {"kind", kText, false},
    {"name", kText, false},
    {"logo_uri", kText, false},
    {"redirect_uris", kText, false},
    {"token_endpoint_auth_method", kText, false},
    {"client_secret_hash", kBytes, false},
    {"document_expires_at", kInt, false},
    {"created_at", kInt, false},
    {"updated_at", kInt, false},
};
constexpr SnapshotColumn kMcpConsents[] = {
    {"client_id", kText, false}, {"agent", kText, false},     {"scopes", kText, false},
    {"created_at", kInt, false}, {"revoked_at", kInt, false},
};
constexpr SnapshotColumn kMcpTokens[] = {
    {"token_hash", kBytes, false}, {"kind", kText, false},         {"family_id", kText, false},
    {"client_id", kText, false},   {"agent", kText, false},        {"resource", kText, false},
    {"scopes", kText, false},      {"redirect_uri", kText, false}, {"code_challenge", kText, false},
    {"created_at", kInt, false},   {"expires_at", kInt, false},    {"used_at", kInt, false},
    {"revoked_at", kInt, false},
};
constexpr SnapshotColumn kEndedSessions[] = {{"id", kText, false}, {"expires_at", kInt, false}};
constexpr SnapshotColumn kAlertOutbox[] = {
    {"seq", kInt, false},         {"event_id", kText, false},       {"type", kText, false},
    {"connection", kText, false}, {"payload", kText, false},        {"created_at", kInt, false},
    {"attempts", kInt, false},    {"next_attempt_at", kInt, false}, {"delivered_at", kInt, false},
    {"last_error", kText, false},
};

constexpr SnapshotTable kTables[] = {
    {"data_keys", "id", "", "", kDataKeys},
    {"data_key_wrappers", "data_key_id, master_key_id", "", "", kDataKeyWrappers},
    {"providers", "name", "name", "", kProviders},
    {"connections", "id", "id", "", kConnections},
    {"agents", "id", "", "", kAgents},
    {"admin_tokens", "id", "", "", kAdminTokens},
    {"mcp_clients", "client_id", "", "", kMcpClients},
    {"mcp_consents", "client_id, agent", "", "", kMcpConsents},
    {"mcp_tokens", "token_hash", "", "", kMcpTokens},
    {"ended_sessions", "id", "", "", kEndedSessions},
    {"alert_outbox", "seq", "", "seq", kAlertOutbox},
};

bool HasType(const SnapshotValue& value, CellType type) {
  switch (type) {
    case CellType::kInt: return std::holds_alternative<int64_t>(value);
    case CellType::kText: return std::holds_alternative<std::string>(value);
    case CellType::kBytes: return std::holds_alternative<Bytes>(value);
  }
  return false;
}

std::string_view TypeName(CellType type) {
  switch (type) {
    case CellType::kInt: return "an integer";
    case CellType::kText: return "text";
    case CellType::kBytes: return "bytes";
  }
  return "?";
}

// Names from a file may be anything: quote at most a short, printable prefix.
std::string Quoted(std::string_view name) { return "'" + ToDisplayText(name, 64) + "'"; }

int64_t IntOr0(const SnapshotValue* value) {
  const auto* number = value != nullptr ? std::get_if<int64_t>(value) : nullptr;
  return number != nullptr ? *number : 0;
}

std::string TextOrEmpty(const SnapshotValue* value) {
  const auto* text = value != nullptr ? std::get_if<std::string>(value) : nullptr;
  return text != nullptr ? *text : std::string();
}

}  // namespace

std::span<const SnapshotTable> SnapshotTables() { return kTables; }

const SnapshotTable* FindSnapshotTable(std::string_view name) {
  auto found = std::find_if(std::begin(kTables), std::end(kTables),
                            [&](const SnapshotTable& table) { return table.name == name; });
  return found == std::end(kTables) ? nullptr : &*found;
}

const SnapshotValue* SnapshotRow::Find(std::string_view column) const {
  auto found =
      std::find_if(cells.begin(), cells.end(), [&](const SnapshotCell& c) { return c.column == column; });
  return found == cells.end() ? nullptr : &found->value;
}

Status CheckSnapshotSchema(int snapshot_schema, int store_schema) {
  if (snapshot_schema > store_schema) {
    return FailedPreconditionError("the backup has store schema version " + std::to_string(snapshot_schema) +
                                   ", newer than this latchkey's (" + std::to_string(store_schema) +
                                   "): restore it with a latchkey at least as new as the one that made it");
  }
  if (snapshot_schema < kOldestSnapshotSchema) {
    return FailedPreconditionError(
        "the backup has store schema version " + std::to_string(snapshot_schema) +
        "; this latchkey restores versions " + std::to_string(kOldestSnapshotSchema) + " to " +
        std::to_string(store_schema) + ": restore it with the latchkey version that made it, then upgrade");
  }
  return Status::Ok();
}

Status CheckSnapshotRow(const SnapshotRow& row) {
  const SnapshotTable* table = FindSnapshotTable(row.table);
  if (table == nullptr) return InvalidArgumentError("unknown table " + Quoted(row.table));
  std::vector<bool> seen(table->columns.size(), false);
  for (const SnapshotCell& cell : row.cells) {
    auto column = std::find_if(table->columns.begin(), table->columns.end(),
                               [&](const SnapshotColumn& c) { return c.name == cell.column; });
    const std::string where = "table " + std::string(table->name) + " column " + Quoted(cell.column);
    if (column == table->columns.end()) return InvalidArgumentError("unknown " + where);
    const auto index = static_cast<size_t>(column - table->columns.begin());
    if (seen[index]) return InvalidArgumentError(where + " appears twice in one row");
    seen[index] = true;
    if (!std::holds_alternative<std::monostate>(cell.value) && !HasType(cell.value, column->type)) {
      return InvalidArgumentError(where + " must hold " + std::string(TypeName(column->type)) + " or null");
    }
  }
  for (size_t i = 0; i < seen.size(); ++i) {
    if (!seen[i]) {
      return InvalidArgumentError("a row of table " + std::string(table->name) + " has no column " +
                                  std::string(table->columns[i].name));
    }
  }
  return Status::Ok();
}

StatusOr<WrappedDataKey> ReadWrappedDataKey(const SnapshotRow& row) {
  if (row.table != "data_key_wrappers") {
    return InvalidArgumentError("a row of table " + Quoted(row.table) + " is no data key wrapper");
  }
  LATCHKEY_RETURN_IF_ERROR(CheckSnapshotRow(row));
  const auto* wrapped = std::get_if<Bytes>(row.Find("wrapped"));
  return WrappedDataKey{
      .data_key_id = IntOr0(row.Find("data_key_id")),
      .master_key_id = TextOrEmpty(row.Find("master_key_id")),
      .wrapped = wrapped != nullptr ? *wrapped : Bytes(),
      .created_at = FromUnixMillis(IntOr0(row.Find("created_at"))),
  };
}

std::vector<SecretCell> SealedCells(const SnapshotRow& row) {
  std::vector<SecretCell> out;
  const SnapshotTable* table = FindSnapshotTable(row.table);
  if (table == nullptr || table->row_key.empty()) return out;
  const std::string row_id = TextOrEmpty(row.Find(table->row_key));
  for (const SnapshotColumn& column : table->columns) {
    if (!column.sealed) continue;
    const auto* value = std::get_if<Bytes>(row.Find(column.name));
    if (value != nullptr) out.push_back({row.table, row_id, std::string(column.name), *value});
  }
  return out;
}

}  // namespace latchkey::store
