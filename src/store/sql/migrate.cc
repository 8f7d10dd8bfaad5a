#include "store/sql/migrate.h"

#include <string>

namespace latchkey::store::sql {

StatusOr<int> StoredSchemaVersion(Tx& tx) {
  LATCHKEY_ASSIGN_OR_RETURN(std::vector<Row> rows,
                            tx.Query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  return rows.empty() ? 0 : static_cast<int>(rows.front().Int(0));
}

Status ApplyMigrations(Tx& tx, std::span<const Migration> migrations, const Clock& clock,
                       const std::function<Status(const char* script)>& run_script) {
  LATCHKEY_ASSIGN_OR_RETURN(const int current, StoredSchemaVersion(tx));
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  if (current > latest) {
    return FailedPreconditionError("the store has schema version " + std::to_string(current) +
                                   ", newer than this latchkey understands (" + std::to_string(latest) +
                                   "); upgrade latchkey");
  }
  for (const Migration& migration : migrations) {
    if (migration.version <= current) continue;
    if (Status applied = run_script(migration.sql); !applied.ok()) {
      return applied.WithContext("schema migration " + std::to_string(migration.version));
    }
    LATCHKEY_RETURN_IF_ERROR(tx.Exec("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                                     Params().Add(int64_t{migration.version}).Add(clock.Now()))
                                 .status());
  }
  return Status::Ok();
}

}  // namespace latchkey::store::sql
