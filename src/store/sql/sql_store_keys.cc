// Data keys, their wrappers, data-key rotation and the secret-cell view.
#include <string>

#include "store/sql/row_codec.h"
#include "store/sql/sql_store.h"

namespace latchkey::store::sql {
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

StatusOr<std::vector<WrappedDataKey>> SelectWrappers(Tx& tx) {
  return Select(tx,
                "SELECT data_key_id, master_key_id, wrapped, created_at "
                "FROM data_key_wrappers ORDER BY data_key_id, master_key_id",
                {}, [](const Row& r) {
                  return WrappedDataKey{r.Int(0), r.Text(1), r.Blob(2), r.Time(3)};
                });
}

Status InsertWrapper(Tx& tx, const WrappedDataKey& key, bool replace) {
  std::string sql =
      "INSERT INTO data_key_wrappers (data_key_id, master_key_id, wrapped, created_at) VALUES (?, ?, ?, "
      "?)";
  if (replace) sql += " ON CONFLICT (data_key_id, master_key_id) DO UPDATE SET wrapped = excluded.wrapped";
  Status s =
      tx.Exec(sql, Params().Add(key.data_key_id).Add(key.master_key_id).Add(key.wrapped).Add(key.created_at))
          .status();
  if (s.code() == StatusCode::kFailedPrecondition) {
    return FailedPreconditionError(DataKeyName(key.data_key_id) + " does not exist");
  }
  return NameRow(
      s, "the wrapper of " + DataKeyName(key.data_key_id) + " by master key '" + key.master_key_id + "'");
}

Status InsertDataKey(Tx& tx, const WrappedDataKey& key) {
  if (key.data_key_id <= 0) return InvalidArgumentError("data key ids must be positive");
  LATCHKEY_RETURN_IF_ERROR(NameRow(tx.Exec("INSERT INTO data_keys (id, created_at) VALUES (?, ?)",
                                           Params().Add(key.data_key_id).Add(key.created_at))
                                       .status(),
                                   DataKeyName(key.data_key_id)));
  return InsertWrapper(tx, key, /*replace=*/false);
}

StatusOr<std::vector<SecretCell>> SelectSecretCells(Tx& tx) {
  std::vector<SecretCell> out;
  for (const SecretColumn& c : kSecretColumns) {
    std::string sql = std::string("SELECT ") + c.key + ", " + c.column + " FROM " + c.table + " WHERE " +
                      c.column + " IS NOT NULL ORDER BY " + c.key;
    LATCHKEY_RETURN_IF_ERROR(tx.Each(sql, {}, [&](const Row& r) {
      out.push_back({c.table, r.Text(0), c.column, r.Blob(1)});
      return Status::Ok();
    }));
  }
  return out;
}

Status WriteSecretCell(Tx& tx, const SecretCell& cell, const Ciphertext& value) {
  for (const SecretColumn& c : kSecretColumns) {
    if (cell.table != c.table || cell.column != c.column) continue;
    std::string sql = std::string("UPDATE ") + c.table + " SET " + c.column + " = ? WHERE " + c.key + " = ?";
    return tx.Exec(sql, Params().Add(value).Add(cell.row_id)).status();
  }
  return InternalError("no secret column " + cell.table + "." + cell.column);
}

}  // namespace

StatusOr<std::vector<WrappedDataKey>> SqlStore::ListWrappedDataKeys() {
  return Read<std::vector<WrappedDataKey>>([&](Tx& tx) { return SelectWrappers(tx); });
}

StatusOr<std::vector<WrappedDataKey>> SqlStore::InitializeDataKey(const WrappedDataKey& first) {
  return Write<std::vector<WrappedDataKey>>([&](Tx& tx) -> StatusOr<std::vector<WrappedDataKey>> {
    LATCHKEY_ASSIGN_OR_RETURN(auto count, tx.Query("SELECT COUNT(*) FROM data_keys"));
    if (!count.empty() && count.front().Int(0) == 0) LATCHKEY_RETURN_IF_ERROR(InsertDataKey(tx, first));
    return SelectWrappers(tx);
  });
}

Status SqlStore::AddDataKeyWrappers(const std::vector<WrappedDataKey>& wrappers) {
  // Re-adding a wrapper replaces it, so a master-key rotation that crashed can be re-run.
  return Write([&](Tx& tx) -> Status {
    for (const WrappedDataKey& w : wrappers) LATCHKEY_RETURN_IF_ERROR(InsertWrapper(tx, w, /*replace=*/true));
    return Status::Ok();
  });
}

Status SqlStore::DeleteDataKeyWrappersExcept(std::string_view master_key_id) {
  return Write([&](Tx& tx) -> Status {
    // Refuse to strand a data key: one without a wrapper by the surviving master key
    // would become unreadable, and with it every secret sealed under it.
    LATCHKEY_ASSIGN_OR_RETURN(auto orphan, tx.Query("SELECT id FROM data_keys WHERE NOT EXISTS ("
                                                    "SELECT 1 FROM data_key_wrappers w WHERE "
                                                    "w.data_key_id = data_keys.id AND w.master_key_id = ?) "
                                                    "ORDER BY id LIMIT 1",
                                                    Params().Add(master_key_id)));
    if (!orphan.empty()) {
      return FailedPreconditionError(DataKeyName(orphan.front().Int(0)) + " has no wrapper by master key '" +
                                     std::string(master_key_id) + "'; add one before deleting the others");
    }
    return tx.Exec("DELETE FROM data_key_wrappers WHERE master_key_id <> ?", Params().Add(master_key_id))
        .status();
  });
}

Status SqlStore::RotateDataKey(const WrappedDataKey& new_key,
                               const std::function<StatusOr<Ciphertext>(const SecretCell&)>& reseal) {
  return Write([&](Tx& tx) -> Status {
    LATCHKEY_RETURN_IF_ERROR(InsertDataKey(tx, new_key));
    LATCHKEY_ASSIGN_OR_RETURN(std::vector<SecretCell> cells, SelectSecretCells(tx));
    for (const SecretCell& cell : cells) {
      StatusOr<Ciphertext> resealed = reseal(cell);
      if (!resealed.ok()) return resealed.status();
      LATCHKEY_RETURN_IF_ERROR(WriteSecretCell(tx, cell, *resealed));
    }
    for (const char* table : kSecretTables) {
      std::string sql = std::string("UPDATE ") + table + " SET data_key_id = ? WHERE data_key_id IS NOT NULL";
      LATCHKEY_RETURN_IF_ERROR(tx.Exec(sql, Params().Add(new_key.data_key_id)));
    }
    // Wrappers go with their keys (ON DELETE CASCADE).
    return tx.Exec("DELETE FROM data_keys WHERE id <> ?", Params().Add(new_key.data_key_id)).status();
  });
}

StatusOr<std::vector<SecretCell>> SqlStore::ListSecretCells() {
  return Read<std::vector<SecretCell>>([&](Tx& tx) { return SelectSecretCells(tx); });
}

}  // namespace latchkey::store::sql
