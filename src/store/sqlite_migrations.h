// The SQLite schema as a list of versioned migrations, and the step that brings a
// database up to the newest version. Called once per OpenSqliteStore, from that thread.
#pragma once

#include <span>

#include "common/clock.h"
#include "common/status.h"
#include "store/sql/migrate.h"
#include "store/sqlite_pool.h"

namespace latchkey::store::sqlite {

// Every migration, oldest first (what Migrate applies; tests read them too).
std::span<const sql::Migration> Migrations();

// The newest schema version this binary knows.
int LatestSchemaVersion();

// Applies every migration newer than the database's version, each recorded in
// schema_migrations, all inside one BEGIN EXCLUSIVE transaction that re-reads the
// version under the lock (so concurrent first opens apply each migration once).
// kFailedPrecondition when the database is newer than this binary.
Status Migrate(SqlitePool& pool, const Clock& clock);

}  // namespace latchkey::store::sqlite
