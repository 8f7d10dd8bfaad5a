// PostgresStore: the Store backend for a PostgreSQL server, for several latchkey
// nodes sharing one database. Same behaviour as the SQLite backend (the same contract
// tests run on both). Safe for many threads (a small pool of server connections),
// many processes and many hosts (serializable write transactions, advisory locks).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "store/store.h"

namespace latchkey::store {

struct PostgresStoreOptions {
  // libpq connection URI, e.g. "postgres://latchkey@db.internal:5432/latchkey"
  // (or "postgresql://..."). May hold a password; it is never put in a message.
  std::string url;
  // Longest a call keeps retrying contention or a lost connection before kUnavailable.
  std::chrono::milliseconds busy_wait{10000};
};

// Whether `url` (a libpq connection URI) carries a password, in its user info
// ("user:pw@") or as a `password` parameter, as libpq itself reads it (PQconninfoParse).
// kInvalidArgument when libpq cannot read it; the message never quotes the URL.
StatusOr<bool> PostgresUrlHasPassword(const std::string& url);

// Connects and migrates the database to the newest schema version. Migrations run
// under an advisory lock, so nodes starting at once are safe.
StatusOr<std::shared_ptr<Store>> OpenPostgresStore(const PostgresStoreOptions& options, const Clock& clock);

}  // namespace latchkey::store
