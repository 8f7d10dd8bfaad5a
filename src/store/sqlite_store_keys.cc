// Data keys, their wrappers, data-key rotation and the secret-cell view.
#include <string>

#include "store/sqlite_store_impl.h"

namespace latchkey::store::sqlite {
namespace {

// Where sealed secrets live: table, primary key column, secret column.
struct SecretColumn {
  const char* table;
  const char* key;
  const char* column;
};
constexpr SecretColumn kSecretColumns[] = {
    {"connections", "id", "access_token"},
    {"connections", "id", "refresh_token"},
    {"connections", "id", "api_key"},
    {"connections", "id", "password"},
    {"pending_authorizations", "id", "pkce_verifier"},
    {"providers", "name", "client_secret"},
};
constexpr const char* kSecretTables[] = {"connections", "pending_authorizations", "providers"};

std::string DataKeyName(int64_t id) { return "data key " + std::to_string(id); }

StatusOr<std::vector<WrappedDataKey>> SelectWrappers(SqliteDb& db) {
  LATCHKEY_ASSIGN_OR_RETURN(
      auto stmt, SqliteStatement::Prepare(db,
                                          "SELECT data_key_id, master_key_id, wrapped, created_at "
                                          "FROM data_key_wrappers ORDER BY data_key_id, master_key_id"));
  std::vector<WrappedDataKey> out;
  for (;;) {
    LATCHKEY_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    out.push_back({stmt.Int(0), stmt.Text(1), stmt.Blob(2), stmt.Time(3)});
  }
}

Status InsertWrapper(SqliteDb& db, const WrappedDataKey& key, bool replace) {
  std::string sql =
      "INSERT INTO data_key_wrappers (data_key_id, master_key_id, wrapped, created_at) VALUES (?, ?, ?, ?)";
  if (replace) sql += " ON CONFLICT (data_key_id, master_key_id) DO UPDATE SET wrapped = excluded.wrapped";
  LATCHKEY_ASSIGN_OR_RETURN(auto stmt, SqliteStatement::Prepare(db, sql));
  Status s = stmt.Add(key.data_key_id).Add(key.master_key_id).Add(key.wrapped).Add(key.created_at).Run();
  if (s.code() == StatusCode::kFailedPrecondition) {
    return FailedPreconditionError(DataKeyName(key.data_key_id) + " does not exist");
  }
  return NameRow(
      s, "the wrapper of " + DataKeyName(key.data_key_id) + " by master key '" + key.master_key_id + "'");
}

Status InsertDataKey(SqliteDb& db, const WrappedDataKey& key) {
  if (key.data_key_id <= 0) return InvalidArgumentError("data key ids must be positive");
  LATCHKEY_ASSIGN_OR_RETURN(
      auto stmt, SqliteStatement::Prepare(db, "INSERT INTO data_keys (id, created_at) VALUES (?, ?)"));
  LATCHKEY_RETURN_IF_ERROR(
      NameRow(stmt.Add(key.data_key_id).Add(key.created_at).Run(), DataKeyName(key.data_key_id)));
  return InsertWrapper(db, key, /*replace=*/false);
}

StatusOr<std::vector<SecretCell>> SelectSecretCells(SqliteDb& db) {
  std::vector<SecretCell> out;
  for (const SecretColumn& c : kSecretColumns) {
    std::string sql = std::string("SELECT ") + c.key + ", " + c.column + " FROM " + c.table + " WHERE " +
                      c.column + " IS NOT NULL ORDER BY " + c.key;
    LATCHKEY_ASSIGN_OR_RETURN(auto stmt, SqliteStatement::Prepare(db, sql));
    for (;;) {
      LATCHKEY_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      out.push_back({c.table, stmt.Text(0), c.column, stmt.Blob(1)});
    }
  }
  return out;
}

Status WriteSecretCell(SqliteDb& db, const SecretCell& cell, const Ciphertext& value) {
  for (const SecretColumn& c : kSecretColumns) {
    if (cell.table != c.table || cell.column != c.column) continue;
    std::string sql = std::string("UPDATE ") + c.table + " SET " + c.column + " = ? WHERE " + c.key + " = ?";
    LATCHKEY_ASSIGN_OR_RETURN(auto stmt, SqliteStatement::Prepare(db, sql));
    return stmt.Add(value).Add(cell.row_id).Run();
  }
  return InternalError("no secret column " + cell.table + "." + cell.column);
}

}  // namespace

StatusOr<std::vector<WrappedDataKey>> SqliteStore::ListWrappedDataKeys() {
  std::vector<WrappedDataKey> out;
  Status done = Read([&](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(out, SelectWrappers(db));
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return out;
}

StatusOr<std::vector<WrappedDataKey>> SqliteStore::InitializeDataKey(const WrappedDataKey& first) {
  std::vector<WrappedDataKey> out;
  Status done = Write([&](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(auto count, SqliteStatement::Prepare(db, "SELECT COUNT(*) FROM data_keys"));
    LATCHKEY_ASSIGN_OR_RETURN(bool row, count.Step());
    if (row && count.Int(0) == 0) LATCHKEY_RETURN_IF_ERROR(InsertDataKey(db, first));
    LATCHKEY_ASSIGN_OR_RETURN(out, SelectWrappers(db));
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return out;
}

Status SqliteStore::AddDataKeyWrappers(const std::vector<WrappedDataKey>& wrappers) {
  // Re-adding a wrapper replaces it, so a master-key rotation that crashed can be re-run.
  return Write([&](SqliteDb& db) -> Status {
    for (const WrappedDataKey& w : wrappers) LATCHKEY_RETURN_IF_ERROR(InsertWrapper(db, w, /*replace=*/true));
    return Status::Ok();
  });
}

Status SqliteStore::DeleteDataKeyWrappersExcept(std::string_view master_key_id) {
  return Write([&](SqliteDb& db) -> Status {
    // Refuse to strand a data key: one without a wrapper by the surviving master key
    // would become unreadable, and with it every secret sealed under it.
    LATCHKEY_ASSIGN_OR_RETURN(
        auto orphan, SqliteStatement::Prepare(db,
                                              "SELECT id FROM data_keys WHERE NOT EXISTS ("
                                              "SELECT 1 FROM data_key_wrappers w WHERE "
                                              "w.data_key_id = data_keys.id AND w.master_key_id = ?) "
                                              "ORDER BY id LIMIT 1"));
    LATCHKEY_ASSIGN_OR_RETURN(bool stranded, orphan.Add(master_key_id).Step());
    if (stranded) {
      return FailedPreconditionError(DataKeyName(orphan.Int(0)) + " has no wrapper by master key '" +
                                     std::string(master_key_id) + "'; add one before deleting the others");
    }
    LATCHKEY_ASSIGN_OR_RETURN(
        auto del, SqliteStatement::Prepare(db, "DELETE FROM data_key_wrappers WHERE master_key_id <> ?"));
    return del.Add(master_key_id).Run();
  });
}

Status SqliteStore::RotateDataKey(const WrappedDataKey& new_key,
                                  const std::function<StatusOr<Ciphertext>(const SecretCell&)>& reseal) {
  return Write([&](SqliteDb& db) -> Status {
    LATCHKEY_RETURN_IF_ERROR(InsertDataKey(db, new_key));
    LATCHKEY_ASSIGN_OR_RETURN(std::vector<SecretCell> cells, SelectSecretCells(db));
    for (const SecretCell& cell : cells) {
      StatusOr<Ciphertext> resealed = reseal(cell);
      if (!resealed.ok()) return resealed.status();
      LATCHKEY_RETURN_IF_ERROR(WriteSecretCell(db, cell, *resealed));
    }
    for (const char* table : kSecretTables) {
      std::string sql = std::string("UPDATE ") + table + " SET data_key_id = ? WHERE data_key_id IS NOT NULL";
      LATCHKEY_ASSIGN_OR_RETURN(auto repoint, SqliteStatement::Prepare(db, sql));
      LATCHKEY_RETURN_IF_ERROR(repoint.Add(new_key.data_key_id).Run());
    }
    // Wrappers go with their keys (ON DELETE CASCADE).
    LATCHKEY_ASSIGN_OR_RETURN(auto retire,
                              SqliteStatement::Prepare(db, "DELETE FROM data_keys WHERE id <> ?"));
    return retire.Add(new_key.data_key_id).Run();
  });
}

StatusOr<std::vector<SecretCell>> SqliteStore::ListSecretCells() {
  std::vector<SecretCell> out;
  Status done = Read([&](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(out, SelectSecretCells(db));
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return out;
}

}  // namespace latchkey::store::sqlite
