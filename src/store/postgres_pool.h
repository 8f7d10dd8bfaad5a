// PostgresPool: the server connections of one PostgresStore and the one place that runs
// a transaction and retries it on contention (serialization failures, deadlocks, lock
// timeouts) or a lost connection until busy_wait has passed. Thread-safe: each Run()
// borrows a connection no other thread uses meanwhile; idle ones wait in a bounded list.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/postgres_query.h"

namespace latchkey::store::postgres {

enum class TxnKind {
  kRead,    // REPEATABLE READ, READ ONLY: one consistent snapshot, never a serialization failure
  kWrite,   // SERIALIZABLE: behaves as if writers ran one at a time, as SQLite's do
  kSchema,  // READ COMMITTED: migrations, which serialize themselves with an advisory lock
};

class PostgresPool {
 public:
  // Connects once to check `url` (a libpq URI or key=value string). Does not migrate.
  static StatusOr<std::shared_ptr<PostgresPool>> Open(std::string url, std::chrono::milliseconds busy_wait);

  // Runs body inside one transaction of `kind` and commits. On contention or a lost
  // connection anywhere (BEGIN, body, before COMMIT) rolls back and runs body again
  // after a short randomized backoff, so body must have no effects outside the
  // database except idempotent ones. Gives kUnavailable once busy_wait has passed, and
  // at once when the connection drops during COMMIT (the outcome is then unknown).
  // Any other error of body is returned as is, after rollback.
  Status Run(TxnKind kind, const std::function<Status(PgTx&)>& body);

  // A connection for a caller that needs one session for a while (ConnectionLock).
  StatusOr<std::unique_ptr<pqxx::connection>> Acquire();
  // Returns a healthy connection to the idle list (closed when the list is full).
  void Release(std::unique_ptr<pqxx::connection> connection);

 private:
  PostgresPool(std::string url, std::chrono::milliseconds busy_wait)
      : url_(std::move(url)), busy_wait_(busy_wait) {}
  StatusOr<std::unique_ptr<pqxx::connection>> Connect();

  const std::string url_;  // may hold a password: never put it in a message
  const std::chrono::milliseconds busy_wait_;
  std::mutex mu_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;  // guarded by mu_
};

}  // namespace latchkey::store::postgres
