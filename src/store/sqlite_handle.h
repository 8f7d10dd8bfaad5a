// RAII wrappers over the raw SQLite C API, internal to store/: SqliteDb owns one
// sqlite3* and SqliteStatement one prepared statement. Neither is thread-safe: a
// handle is used by one thread at a time (SqlitePool hands them out).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/encoding.h"
#include "common/status.h"

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

  // Runs one or more statements without results (DDL, BEGIN, PRAGMA ... = x).
  Status Exec(const char* sql);
  // Rolls back if a transaction is open; errors are ignored (nothing else to do).
  void RollbackIfOpen();
  int64_t Changes() const;

  // Converts a failed result code into a Status and remembers whether it was
  // contention (busy()), which the retry loop in SqlitePool uses.
  Status ErrorStatus(int rc, std::string_view doing);
  bool busy() const { return busy_; }
  void ClearBusy() { busy_ = false; }

  sqlite3* raw() { return db_; }

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  bool busy_ = false;
};

// A prepared statement. Parameters are bound in order with Add(); columns are read
// by index after Step() returned true.
class SqliteStatement {
 public:
  static StatusOr<SqliteStatement> Prepare(SqliteDb& db, std::string_view sql);
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&&) = delete;
  SqliteStatement(const SqliteStatement&) = delete;
  ~SqliteStatement();

  SqliteStatement& Add(int64_t value);
  SqliteStatement& Add(std::string_view value);
  SqliteStatement& Add(const Bytes& value);
  SqliteStatement& Add(TimePoint value);
  SqliteStatement& Add(const std::optional<int64_t>& value);
  SqliteStatement& Add(const std::optional<Bytes>& value);
  SqliteStatement& Add(const std::optional<TimePoint>& value);
  SqliteStatement& AddNull();
  // Binds `value` without copying it: the caller keeps the text alive until the
  // statement has run (Reset or destruction).
  SqliteStatement& AddUnowned(std::string_view value);

  // Advances: true when a row is available, false when done.
  StatusOr<bool> Step();
  // Steps to completion (for statements without result rows).
  Status Run();
  // Makes the statement ready to bind and run again (batches of the same insert).
  void Reset();

  bool IsNull(int col) const;
  int64_t Int(int col) const;
  std::string Text(int col) const;
  Bytes Blob(int col) const;
  TimePoint Time(int col) const { return FromUnixMillis(Int(col)); }
  std::optional<int64_t> OptInt(int col) const;
  std::optional<Bytes> OptBlob(int col) const;
  std::optional<TimePoint> OptTime(int col) const;

 private:
  SqliteStatement(SqliteDb& db, sqlite3_stmt* stmt) : db_(&db), stmt_(stmt) {}
  SqliteDb* db_;
  sqlite3_stmt* stmt_;
  int next_param_ = 1;
  Status bind_error_;
};

}  // namespace latchkey::store::sqlite
