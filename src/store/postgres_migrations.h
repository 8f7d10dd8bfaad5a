// The PostgreSQL schema as a list of versioned migrations (the same versions as the
// SQLite backend's), and the step that brings a database up to the newest version.
// Called once per OpenPostgresStore, from that thread.
#pragma once

#include <span>

#include "common/clock.h"
#include "common/status.h"
#include "store/postgres_pool.h"
#include "store/sql/migrate.h"

namespace latchkey::store::postgres {

// Every migration, oldest first (what Migrate applies; tests read them too).
std::span<const sql::Migration> Migrations();

// The newest schema version this binary knows.
int LatestSchemaVersion();

// Applies every migration newer than the database's version, each recorded in
// schema_migrations, all in one transaction that first takes a transaction-scoped
// advisory lock and only then reads the version, so processes starting at once
// apply each migration exactly once. kFailedPrecondition when the database is newer
// than this binary.
Status Migrate(PostgresPool& pool, const Clock& clock);

}  // namespace latchkey::store::postgres
