// RAII wrappers over the raw SQLite C API, internal to store/: SqliteDb owns one sqlite3*
// and the statements prepared on it, and SqliteTx runs the SQL store's statements on it.
// Neither is thread-safe: a handle is used by one thread at a time (SqlitePool hands
// them out).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/sql/tx.h"

namespace latchkey::store::sqlite {

// True for the result codes that mean "someone else holds a lock; try again".
bool IsBusyCode(int rc);

class SqliteDb {
 public:
  // Opens `path` (which must exist) read-write, without SQLite's own mutexes.
  static StatusOr<std::unique_ptr<SqliteDb>> Open(const std::string& path);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more statements without parameters or results (DDL, BEGIN, PRAGMA).
  Status Exec(const char* sql);
  // Rolls back if a transaction is open; errors are ignored (nothing else to do).
  void RollbackIfOpen();

  // Runs one statement with `params` bound to its `?` placeholders; calls on_row for
  // each result row. The prepared statement is kept for the next call with the same
  // SQL (the store runs a few dozen distinct statements over and over).
  Status Run(std::string_view sql, const sql::Params& params, const sql::Tx::RowReader& read);
  int64_t Changes() const;

  // Converts a failed result code into a Status and remembers whether it was
  // contention (busy()), which the retry loop in SqlitePool uses.
  Status ErrorStatus(int rc, std::string_view doing);
  bool busy() const { return busy_; }
  void ClearBusy() { busy_ = false; }

  sqlite3* raw() { return db_; }

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  StatusOr<sqlite3_stmt*> Prepared(std::string_view sql);
  Status Bind(sqlite3_stmt* stmt, const sql::Params& params);

  sqlite3* db_;
  bool busy_ = false;
  std::map<std::string, sqlite3_stmt*, std::less<>> statements_;  // reset between uses
};

// The SQL store's transaction on one handle (SqlitePool::Run opened it).
class SqliteTx final : public sql::Tx {
 public:
  explicit SqliteTx(SqliteDb& db) : db_(db) {}
  Status Each(std::string_view sql, const sql::Params& params, const RowReader& read) override;
  StatusOr<int64_t> Exec(std::string_view sql, const sql::Params& params = {}) override;

 private:
  SqliteDb& db_;
};

}  // namespace latchkey::store::sqlite
