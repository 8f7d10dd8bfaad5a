// The PostgreSQL connection pool and its retry loop (see postgres_pool.h).
#include "store/postgres_pool.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <string>
#include <thread>

#include "store/sql/backoff.h"

namespace latchkey::store::postgres {
namespace {

using Steady = std::chrono::steady_clock;

// Connections kept open when idle; more may exist while many threads are inside Run().
// A burst on the gateway's blocking pool (32 threads by default) finds them open: with 8,
// each burst closed and reopened the rest, one server process fork each, and under load
// (three nodes, 4-second tokens that are never cached) calls queued for tens of seconds.
// Three nodes keeping 32 each stay below PostgreSQL's default max_connections (100).
constexpr size_t kMaxIdleConnections = 32;

// How this process shows in pg_stat_activity and pg_locks (unless the URL names it):
// which node of several holds a connection's refresh lock, or a long transaction.
std::string ApplicationName() {
  std::array<char, 256> host{};
  if (gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  return "latchkey@" + std::string(host.data()) + "/" + std::to_string(getpid());
}

// One attempt: BEGIN, body, COMMIT. Txn is a pqxx::transaction of the wanted isolation;
// its destructor rolls back whatever was not committed.
template <typename Txn>
Status RunOnce(pqxx::connection& connection, const std::function<Status(PgTx&)>& body, PgFault& fault) {
  try {
    Txn txn(connection);
    PgTx tx(txn);
    Status result = body(tx);
    if (result.ok()) {
      txn.commit();
      return result;
    }
    fault = tx.fault();
    // Only contention the body passed on unchanged is worth another attempt.
    if (result.code() != StatusCode::kUnavailable) fault.retry = false;
    return result;
  } catch (...) {
    return TranslateCurrentException("BEGIN or COMMIT", fault);
  }
}

Status RunOnce(pqxx::connection& connection, TxnKind kind, const std::function<Status(PgTx&)>& body,
               PgFault& fault) {
  switch (kind) {
    case TxnKind::kRead:
      return RunOnce<pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>>(connection, body, fault);
    case TxnKind::kWrite: return RunOnce<pqxx::transaction<pqxx::serializable>>(connection, body, fault);
    case TxnKind::kSchema: return RunOnce<pqxx::work>(connection, body, fault);
  }
  return InternalError("unknown transaction kind");
}

}  // namespace

StatusOr<std::shared_ptr<PostgresPool>> PostgresPool::Open(std::string url,
                                                           std::chrono::milliseconds busy_wait) {
  std::shared_ptr<PostgresPool> pool(new PostgresPool(std::move(url), busy_wait));
  LATCHKEY_ASSIGN_OR_RETURN(std::unique_ptr<pqxx::connection> first, pool->Connect());
  pool->Release(std::move(first));
  return pool;
}

StatusOr<std::unique_ptr<pqxx::connection>> PostgresPool::Connect() {
  try {
    auto connection = std::make_unique<pqxx::connection>(url_);
    // Quiet notices ("relation ... already exists, skipping"), which libpqxx would print
    // to stderr; bound every wait for a row or table lock by busy_wait (0 would mean no
    // limit, hence at least 1 ms). set_variable, unlike a plain SET, is replayed when
    // libpqxx silently reconnects a connection whose session ended while it was idle.
    connection->set_variable("client_min_messages", "warning");
    connection->set_variable("lock_timeout", std::to_string(std::max<int64_t>(1, busy_wait_.count())));
    if (url_.find("application_name=") == std::string::npos) {
      connection->set_variable("application_name", connection->quote(ApplicationName()));
    }
    return connection;
  } catch (const pqxx::broken_connection& e) {
    return UnavailableError("cannot connect to the PostgreSQL store: " + ErrorSummary(e.what()));
  } catch (...) {
    PgFault ignored;
    return TranslateCurrentException("connecting", ignored);
  }
}

StatusOr<std::unique_ptr<pqxx::connection>> PostgresPool::Acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      std::unique_ptr<pqxx::connection> connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }
  }
  return Connect();
}

void PostgresPool::Release(std::unique_ptr<pqxx::connection> connection) {
  std::lock_guard lock(mu_);
  if (idle_.size() < kMaxIdleConnections) idle_.push_back(std::move(connection));
}

Status PostgresPool::Run(TxnKind kind, const std::function<Status(PgTx&)>& body) {
  const auto deadline = Steady::now() + busy_wait_;
  for (int attempt = 0;; ++attempt) {
    PgFault fault;
    Status result;
    StatusOr<std::unique_ptr<pqxx::connection>> connection = Acquire();
    if (connection.ok()) {
      result = RunOnce(**connection, kind, body, fault);
      if (!fault.discard) Release(std::move(*connection));
    } else {
      result = connection.status();
      fault = {.retry = result.code() == StatusCode::kUnavailable, .discard = true};
    }
    if (!fault.retry) return result;
    if (Steady::now() >= deadline) {
      std::string waited = std::to_string(busy_wait_.count()) + " ms";
      if (fault.discard) {
        return UnavailableError("the store was unreachable for more than " + waited + " (" +
                                result.message() + "); retry later");
      }
      return UnavailableError("the store is busy (other writers held it for more than " + waited +
                              "); retry later");
    }
    sql::BackoffBeforeRetry(attempt);
  }
}

}  // namespace latchkey::store::postgres
