// PostgresStore: the Store backed by a PostgreSQL database (internal to store/; callers
// use OpenPostgresStore). Every Store method is SqlStore's; this backend adds how
// transactions run (PostgresPool: SERIALIZABLE writers, retried on contention and lost
// connections), per-connection locks (session advisory locks, postgres_connection_lock.cc)
// and its audit batching (the table is locked so ids follow commit order).
#pragma once

#include <chrono>
#include <memory>
#include <string_view>

#include "store/postgres_pool.h"
#include "store/sql/sql_store.h"

namespace latchkey::store::postgres {

class PostgresStore final : public sql::SqlStore {
 public:
  explicit PostgresStore(std::shared_ptr<PostgresPool> pool)
      : sql::SqlStore({
            .backend = "postgres",
            // Writers take turns: a batch's ids follow the newest batch's, and are handed
            // out in commit order, so a live tail that asks for id > N never misses a row
            // committed later with a smaller id. (Readers are not blocked: EXCLUSIVE mode
            // only conflicts with writers.)
            .before_audit_append = "LOCK TABLE audit_batch IN EXCLUSIVE MODE",
            // Identity columns are GENERATED ALWAYS: a given value needs saying so, and the
            // sequence behind one does not move by itself.
            .insert_given_identity = "OVERRIDING SYSTEM VALUE",
            .advance_identity =
                "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), MAX({column})) FROM {table}",
        }),
        pool_(std::move(pool)) {}

 protected:
  Status Run(sql::Access access, const std::function<Status(sql::Tx&)>& body) override {
    return pool_->Run(access == sql::Access::kRead ? TxnKind::kRead : TxnKind::kWrite,
                      [&](PgTx& tx) { return body(tx); });
  }
  // postgres_connection_lock.cc
  StatusOr<std::unique_ptr<ConnectionLock>> TryLockConnection(std::string_view connection_id,
                                                              std::chrono::milliseconds wait) override;

 private:
  // Shared with the ConnectionLocks handed out, which return their connection to it.
  std::shared_ptr<PostgresPool> pool_;
};

}  // namespace latchkey::store::postgres
