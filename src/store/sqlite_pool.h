// SqlitePool: the connections of one SqliteStore and the one place that runs a
// transaction and retries it on contention (SQLITE_BUSY/LOCKED) until busy_wait has
// passed. Thread-safe: each Run() borrows a handle no other thread uses meanwhile.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/sqlite_handle.h"

namespace latchkey::store::sqlite {

enum class TxnKind {
  kRead,       // BEGIN (deferred): a consistent snapshot, no write lock
  kWrite,      // BEGIN IMMEDIATE: takes the write lock up front, so it never upgrades
  kExclusive,  // BEGIN EXCLUSIVE: migrations
};

class SqlitePool {
 public:
  // Creates the file (0600) if absent, opens the first handle and switches the
  // database to WAL. Does not migrate.
  static StatusOr<std::unique_ptr<SqlitePool>> Open(const std::string& path,
                                                    std::chrono::milliseconds busy_wait);

  // Runs body inside one transaction of `kind` and commits. On contention anywhere
  // (BEGIN, body, COMMIT) rolls back and runs body again after a short randomized
  // backoff, so body must have no effects outside the database except idempotent
  // ones. Gives kUnavailable once busy_wait has passed. Any other error of body is
  // returned as is, after rollback.
  Status Run(TxnKind kind, const std::function<Status(SqliteDb&)>& body);

 private:
  SqlitePool(std::string path, std::chrono::milliseconds busy_wait)
      : path_(std::move(path)), busy_wait_(busy_wait) {}
  StatusOr<std::unique_ptr<SqliteDb>> OpenHandle();
  StatusOr<std::unique_ptr<SqliteDb>> Acquire();
  void Release(std::unique_ptr<SqliteDb> db);

  const std::string path_;
  const std::chrono::milliseconds busy_wait_;
  std::mutex mu_;
  std::vector<std::unique_ptr<SqliteDb>> idle_;  // guarded by mu_
};

}  // namespace latchkey::store::sqlite
