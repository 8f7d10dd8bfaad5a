#include "store/sqlite_pool.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>

#include "store/sql/backoff.h"

namespace latchkey::store::sqlite {
namespace {

using Steady = std::chrono::steady_clock;

// Handles kept open when idle; more may exist while many threads are inside Run().
constexpr size_t kMaxIdleHandles = 8;
// SQLite's own busy handler waits this long per lock attempt; the loop in Run() keeps
// retrying (with jitter) until busy_wait, which also covers the cases in which SQLite
// returns SQLITE_BUSY without calling the handler (WAL recovery, snapshot upgrades).
constexpr std::chrono::milliseconds kHandlerWait{100};

const char* BeginSql(TxnKind kind) {
  switch (kind) {
    case TxnKind::kRead: return "BEGIN";
    case TxnKind::kWrite: return "BEGIN IMMEDIATE";
    case TxnKind::kExclusive: return "BEGIN EXCLUSIVE";
  }
  return "BEGIN IMMEDIATE";
}

Status BusyError(std::chrono::milliseconds busy_wait) {
  return UnavailableError("the store is busy (another writer held it for more than " +
                          std::to_string(busy_wait.count()) + " ms); retry later");
}

// Runs `step` until it gets past SQLITE_BUSY, for the statements that run outside a
// transaction of Run(): opening a handle may have to read the schema, and switching to
// WAL needs a moment of exclusive access; either is refused while another process holds
// the file (creating or migrating it, say) for longer than SQLite's own busy handler waits.
Status RetryWhileBusy(SqliteDb& db, std::chrono::milliseconds busy_wait,
                      const std::function<Status()>& step) {
  auto deadline = Steady::now() + busy_wait;
  for (int attempt = 0;; ++attempt) {
    db.ClearBusy();
    Status result = step();
    if (result.ok() || !db.busy()) return result;
    if (Steady::now() >= deadline) return BusyError(busy_wait);
    sql::BackoffBeforeRetry(attempt);
  }
}

Status EnableWal(SqliteDb& db, std::chrono::milliseconds busy_wait) {
  return RetryWhileBusy(db, busy_wait, [&db]() -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(std::vector<sql::Row> rows, SqliteTx(db).Query("PRAGMA journal_mode=WAL"));
    if (rows.empty()) return InternalError("PRAGMA journal_mode returned no row");
    std::string mode = rows.front().Text(0);
    if (mode == "wal") return Status::Ok();
    return FailedPreconditionError("the store cannot use write-ahead logging (journal mode stays '" + mode +
                                   "'); is the data dir on a network file system?");
  });
}

}  // namespace

StatusOr<std::unique_ptr<SqlitePool>> SqlitePool::Open(const std::string& path,
                                                       std::chrono::milliseconds busy_wait) {
  // Create the file ourselves so it is 0600 from the first byte; SQLite gives the
  // -wal and -shm files the mode of the database file.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return UnavailableError("cannot open the store at " + path + ": " +
                            std::error_code(errno, std::generic_category()).message());
  }
  ::close(fd);

  std::unique_ptr<SqlitePool> pool(new SqlitePool(path, busy_wait));
  LATCHKEY_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> first, pool->OpenHandle());
  LATCHKEY_RETURN_IF_ERROR(EnableWal(*first, busy_wait));
  pool->Release(std::move(first));
  return pool;
}

StatusOr<std::unique_ptr<SqliteDb>> SqlitePool::OpenHandle() {
  LATCHKEY_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path_));
  sqlite3_busy_timeout(db->raw(), static_cast<int>(std::min(busy_wait_, kHandlerWait).count()));
  // synchronous=FULL: a committed token set survives power loss, not only a crash.
  LATCHKEY_RETURN_IF_ERROR(RetryWhileBusy(
      *db, busy_wait_, [&db] { return db->Exec("PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;"); }));
  return db;
}

StatusOr<std::unique_ptr<SqliteDb>> SqlitePool::Acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      std::unique_ptr<SqliteDb> db = std::move(idle_.back());
      idle_.pop_back();
      return db;
    }
  }
  return OpenHandle();
}

void SqlitePool::Release(std::unique_ptr<SqliteDb> db) {
  std::lock_guard lock(mu_);
  if (idle_.size() < kMaxIdleHandles) idle_.push_back(std::move(db));
}

Status SqlitePool::Run(TxnKind kind, const std::function<Status(SqliteDb&)>& body) {
  auto deadline = Steady::now() + busy_wait_;
  LATCHKEY_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, Acquire());
  Status result;
  for (int attempt = 0;; ++attempt) {
    db->ClearBusy();
    result = db->Exec(BeginSql(kind));
    if (result.ok()) result = body(*db);
    if (result.ok()) result = db->Exec("COMMIT");
    if (!result.ok()) db->RollbackIfOpen();
    bool retry = !result.ok() && db->busy() && result.code() == StatusCode::kUnavailable;
    if (!retry) break;
    if (Steady::now() >= deadline) {
      result = BusyError(busy_wait_);
      break;
    }
    sql::BackoffBeforeRetry(attempt);
  }
  Release(std::move(db));
  return result;
}

}  // namespace latchkey::store::sqlite
