// SqliteStore: the Store backed by one SQLite file (internal to store/; callers use
// OpenSqliteStore). Every Store method is SqlStore's; this backend adds how transactions
// run (SqlitePool: BEGIN IMMEDIATE for writers, retried on SQLITE_BUSY) and per-connection
// locks (flock on one file per connection, sqlite_connection_lock.cc).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "store/sql/sql_store.h"
#include "store/sqlite_pool.h"

namespace latchkey::store::sqlite {

class SqliteStore final : public sql::SqlStore {
 public:
  SqliteStore(std::unique_ptr<SqlitePool> pool, std::string lock_dir)
      : sql::SqlStore({.backend = "sqlite",
                       .before_audit_append = {},
                       .insert_given_identity = {},
                       .advance_identity = {}}),
        pool_(std::move(pool)),
        lock_dir_(std::move(lock_dir)) {}

 protected:
  Status Run(sql::Access access, const std::function<Status(sql::Tx&)>& body) override {
    return pool_->Run(access == sql::Access::kRead ? TxnKind::kRead : TxnKind::kWrite, [&](SqliteDb& db) {
      SqliteTx tx(db);
      return body(tx);
    });
  }
  // sqlite_connection_lock.cc
  StatusOr<std::unique_ptr<ConnectionLock>> TryLockConnection(std::string_view connection_id,
                                                              std::chrono::milliseconds wait) override;

 private:
  std::unique_ptr<SqlitePool> pool_;
  std::string lock_dir_;  // "<database>.locks": one lock file per connection
};

}  // namespace latchkey::store::sqlite
