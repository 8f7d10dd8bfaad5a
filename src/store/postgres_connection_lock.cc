// Per-connection locks for the PostgreSQL backend: a session-level advisory lock on a
// pooled server connection that the returned ConnectionLock keeps for as long as it
// lives. It excludes every other session on the database (threads, processes, nodes),
// and the server drops it when the holder's session ends, so a holder that dies
// mid-refresh never leaves a stale lock.
#include <algorithm>
#include <string>

#include "store/postgres_store_impl.h"

namespace latchkey::store::postgres {
namespace {

class AdvisoryLock final : public ConnectionLock {
 public:
  AdvisoryLock(std::shared_ptr<PostgresPool> pool, std::unique_ptr<pqxx::connection> connection, int64_t key)
      : pool_(std::move(pool)), connection_(std::move(connection)), key_(key) {}
  ~AdvisoryLock() override {
    try {
      pqxx::nontransaction unlock(*connection_);
      pqxx::result released = unlock.exec_params("SELECT pg_advisory_unlock($1)", key_);
      unlock.commit();
      if (released.size() == 1 && released[0][0].as<bool>()) pool_->Release(std::move(connection_));
    } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch)
      // Closing the connection below ends the session, which releases the lock.
    }
  }
  AdvisoryLock(const AdvisoryLock&) = delete;
  AdvisoryLock& operator=(const AdvisoryLock&) = delete;

 private:
  std::shared_ptr<PostgresPool> pool_;
  std::unique_ptr<pqxx::connection> connection_;  // closed on destruction unless released above
  int64_t key_;
};

// Takes the lock on `connection`, waiting at most `wait` inside the server (lock_timeout
// applies to advisory locks too); a session-level lock outlives the transaction.
Status TakeLock(pqxx::connection& connection, int64_t key, std::chrono::milliseconds wait, bool& taken) {
  PgFault fault;
  try {
    pqxx::work txn(connection);
    if (wait.count() <= 0) {
      taken = txn.exec_params("SELECT pg_try_advisory_lock($1)", key)[0][0].as<bool>();
    } else {
      txn.exec("SET LOCAL lock_timeout = " + std::to_string(wait.count()));
      txn.exec_params("SELECT pg_advisory_lock($1)", key);
      taken = true;
    }
    txn.commit();
    return Status::Ok();
  } catch (const pqxx::sql_error& e) {
    if (e.sqlstate() == "55P03") {
      taken = false;
      return Status::Ok();
    }
    return TranslateCurrentException("pg_advisory_lock", fault);
  } catch (...) {
    return TranslateCurrentException("pg_advisory_lock", fault);
  }
}

}  // namespace

StatusOr<std::unique_ptr<ConnectionLock>> PostgresStore::TryLockConnection(std::string_view connection_id,
                                                                           std::chrono::milliseconds wait) {
  const int64_t key = AdvisoryLockKey("latchkey:connection:" + std::string(connection_id));
  LATCHKEY_ASSIGN_OR_RETURN(std::unique_ptr<pqxx::connection> connection, pool_->Acquire());
  bool taken = false;
  Status status = TakeLock(*connection, key, wait, taken);
  if (!status.ok()) return status;  // the connection is closed: its state is unknown
  if (!taken) {
    pool_->Release(std::move(connection));
    return nullptr;
  }
  return std::unique_ptr<ConnectionLock>(new AdvisoryLock(pool_, std::move(connection), key));
}

}  // namespace latchkey::store::postgres
