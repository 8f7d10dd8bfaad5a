// SqliteStore: the embedded Store backend (one file in the data dir, WAL mode).
// Safe for many threads (a small pool of connections, one per thread in use) and many
// processes on one host (WAL + busy timeout + BEGIN IMMEDIATE for every write).
#pragma once

#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "store/store.h"

namespace latchkey::store {

struct SqliteOptions {
  std::string path;                            // database file; created (0600) if absent
  std::chrono::milliseconds busy_wait{10000};  // longest a call waits for another writer
};

// Opens (creating if needed) and migrates the database to the newest schema version.
// Migrations run under an exclusive transaction, so concurrent first opens are safe.
StatusOr<std::shared_ptr<Store>> OpenSqliteStore(const SqliteOptions& options, const Clock& clock);

}  // namespace latchkey::store
