// Data keys, their wrappers, data-key rotation and the secret-cell view.
#include <string>

#include "store/postgres_store_impl.h"

namespace latchkey::store::postgres {
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

StatusOr<std::vector<WrappedDataKey>> SelectWrappers(PgTx& tx) {
  LATCHKEY_ASSIGN_OR_RETURN(auto rows,
                            tx.Query("SELECT data_key_id, master_key_id, wrapped, created_at "
                                     "FROM data_key_wrappers ORDER BY data_key_id, master_key_id"));
  std::vector<WrappedDataKey> out;
  out.reserve(rows.size());
  for (const PgRow& r : rows) out.push_back({r.Int(0), r.Text(1), r.Blob(2), r.Time(3)});
  return out;
}

Status InsertWrapper(PgTx& tx, const WrappedDataKey& key, bool replace) {
  std::string sql =
      "INSERT INTO data_key_wrappers (data_key_id, master_key_id, wrapped, created_at) VALUES ($1, $2, $3, "
      "$4)";
  if (replace) sql += " ON CONFLICT (data_key_id, master_key_id) DO UPDATE SET wrapped = excluded.wrapped";
  Status s =
      tx.Exec(sql,
              PgParams().Add(key.data_key_id).Add(key.master_key_id).Add(key.wrapped).Add(key.created_at))
          .status();
  if (s.code() == StatusCode::kFailedPrecondition) {
    return FailedPreconditionError(DataKeyName(key.data_key_id) + " does not exist");
  }
  return NameRow(
      s, "the wrapper of " + DataKeyName(key.data_key_id) + " by master key '" + key.master_key_id + "'");
}

Status InsertDataKey(PgTx& tx, const WrappedDataKey& key) {
  if (key.data_key_id <= 0) return InvalidArgumentError("data key ids must be positive");
  LATCHKEY_RETURN_IF_ERROR(NameRow(tx.Exec("INSERT INTO data_keys (id, created_at) VALUES ($1, $2)",
                                           PgParams().Add(key.data_key_id).Add(key.created_at))
                                       .status(),
                                   DataKeyName(key.data_key_id)));
  return InsertWrapper(tx, key, /*replace=*/false);
}

StatusOr<std::vector<SecretCell>> SelectSecretCells(PgTx& tx) {
  std::vector<SecretCell> out;
  for (const SecretColumn& c : kSecretColumns) {
    std::string sql = std::string("SELECT ") + c.key + ", " + c.column + " FROM " + c.table + " WHERE " +
                      c.column + " IS NOT NULL ORDER BY " + c.key;
    LATCHKEY_ASSIGN_OR_RETURN(auto rows, tx.Query(sql));
    for (const PgRow& r : rows) out.push_back({c.table, r.Text(0), c.column, r.Blob(1)});
  }
  return out;
}

Status WriteSecretCell(PgTx& tx, const SecretCell& cell, const Ciphertext& value) {
  for (const SecretColumn& c : kSecretColumns) {
    if (cell.table != c.table || cell.column != c.column) continue;
    std::string sql =
        std::string("UPDATE ") + c.table + " SET " + c.column + " = $1 WHERE " + c.key + " = $2";
    return tx.Exec(sql, PgParams().Add(value).Add(cell.row_id)).status();
  }
  return InternalError("no secret column " + cell.table + "." + cell.column);
}

}  // namespace

StatusOr<std::vector<WrappedDataKey>> PostgresStore::ListWrappedDataKeys() {
  std::vector<WrappedDataKey> out;
  Status done = Read([&](PgTx& tx) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(out, SelectWrappers(tx));
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return out;
}

StatusOr<std::vector<WrappedDataKey>> PostgresStore::InitializeDataKey(const WrappedDataKey& first) {
  std::vector<WrappedDataKey> out;
  Status done = Write([&](PgTx& tx) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(auto count, tx.Query("SELECT COUNT(*) FROM data_keys"));
    if (!count.empty() && count.front().Int(0) == 0) LATCHKEY_RETURN_IF_ERROR(InsertDataKey(tx, first));
    LATCHKEY_ASSIGN_OR_RETURN(out, SelectWrappers(tx));
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return out;
}

Status PostgresStore::AddDataKeyWrappers(const std::vector<WrappedDataKey>& wrappers) {
  // Re-adding a wrapper replaces it, so a master-key rotation that crashed can be re-run.
  return Write([&](PgTx& tx) -> Status {
    for (const WrappedDataKey& w : wrappers) LATCHKEY_RETURN_IF_ERROR(InsertWrapper(tx, w, /*replace=*/true));
    return Status::Ok();
  });
}

Status PostgresStore::DeleteDataKeyWrappersExcept(std::string_view master_key_id) {
  return Write([&](PgTx& tx) -> Status {
    // Refuse to strand a data key: one without a wrapper by the surviving master key
    // would become unreadable, and with it every secret sealed under it.
    LATCHKEY_ASSIGN_OR_RETURN(auto orphan, tx.Query("SELECT id FROM data_keys WHERE NOT EXISTS ("
                                                    "SELECT 1 FROM data_key_wrappers w WHERE "
                                                    "w.data_key_id = data_keys.id AND w.master_key_id = $1) "
                                                    "ORDER BY id LIMIT 1",
                                                    PgParams().Add(master_key_id)));
    if (!orphan.empty()) {
      return FailedPreconditionError(DataKeyName(orphan.front().Int(0)) + " has no wrapper by master key '" +
                                     std::string(master_key_id) + "'; add one before deleting the others");
    }
    return tx.Exec("DELETE FROM data_key_wrappers WHERE master_key_id <> $1", PgParams().Add(master_key_id))
        .status();
  });
}

Status PostgresStore::RotateDataKey(const WrappedDataKey& new_key,
                                    const std::function<StatusOr<Ciphertext>(const SecretCell&)>& reseal) {
  return Write([&](PgTx& tx) -> Status {
    LATCHKEY_RETURN_IF_ERROR(InsertDataKey(tx, new_key));
    LATCHKEY_ASSIGN_OR_RETURN(std::vector<SecretCell> cells, SelectSecretCells(tx));
    for (const SecretCell& cell : cells) {
      StatusOr<Ciphertext> resealed = reseal(cell);
      if (!resealed.ok()) return resealed.status();
      LATCHKEY_RETURN_IF_ERROR(WriteSecretCell(tx, cell, *resealed));
    }
    for (const char* table : kSecretTables) {
      std::string sql =
          std::string("UPDATE ") + table + " SET data_key_id = $1 WHERE data_key_id IS NOT NULL";
      LATCHKEY_RETURN_IF_ERROR(tx.Exec(sql, PgParams().Add(new_key.data_key_id)));
    }
    // Wrappers go with their keys (ON DELETE CASCADE).
    return tx.Exec("DELETE FROM data_keys WHERE id <> $1", PgParams().Add(new_key.data_key_id)).status();
  });
}

StatusOr<std::vector<SecretCell>> PostgresStore::ListSecretCells() {
  std::vector<SecretCell> out;
  Status done = Read([&](PgTx& tx) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(out, SelectSecretCells(tx));
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return out;
}

}  // namespace latchkey::store::postgres
