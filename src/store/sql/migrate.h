// Versioned schema migrations, run the same way on both backends: inside the caller's
// schema transaction (which the backend holds exclusively), every migration newer than the
// version the store records is applied in order and recorded in schema_migrations; a store
// newer than this build is refused before anything changes.
#pragma once

#include <functional>
#include <span>

#include "common/clock.h"
#include "common/status.h"
#include "store/sql/tx.h"

namespace latchkey::store::sql {

struct Migration {
  int version;
  const char* sql;  // may hold several statements
};

// The newest version recorded in schema_migrations (0 before the first migration).
StatusOr<int> StoredSchemaVersion(Tx& tx);

// `run_script` runs one migration's text (the backends differ in how several statements
// go in one call). schema_migrations must exist.
Status ApplyMigrations(Tx& tx, std::span<const Migration> migrations, const Clock& clock,
                       const std::function<Status(const char* script)>& run_script);

}  // namespace latchkey::store::sql
