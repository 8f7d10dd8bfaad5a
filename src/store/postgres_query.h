// Statements for the PostgreSQL backend, internal to store/: PgParams collects one
// statement's parameters, PgRow reads one result row, and PgTx runs statements inside
// the transaction PostgresPool opened, turning libpqxx exceptions into Status values
// (this is the library edge: no exception leaves this file's functions). None of them
// is thread-safe: a PgTx and its connection belong to one thread for one Run().
#pragma once

#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/encoding.h"
#include "common/status.h"

namespace latchkey::store::postgres {

// Parameters bound in order to $1, $2 ... and sent as text: integers in decimal, times
// as unix milliseconds, bytes in bytea hex format ("\x0a1b"), so the server parses each
// into the column's type.
class PgParams {
 public:
  PgParams& Add(int64_t value);
  PgParams& Add(std::string_view value);
  PgParams& Add(const Bytes& value);
  PgParams& Add(TimePoint value);
  PgParams& Add(const std::optional<int64_t>& value);
  PgParams& Add(const std::optional<Bytes>& value);
  PgParams& Add(const std::optional<TimePoint>& value);
  PgParams& AddBool(bool value);
  PgParams& AddNull();

  bool empty() const { return values_.empty(); }
  // The first parameter that cannot be sent (text with a NUL byte), or OK.
  const Status& error() const { return error_; }
  // One pointer per parameter, nullptr for NULL; valid while this object lives.
  std::vector<const char*> Pointers() const;

 private:
  std::vector<std::optional<std::string>> values_;
  Status error_;
};

// One result row, read by column index like SqliteStatement.
class PgRow {
 public:
  explicit PgRow(const pqxx::row& row) : row_(row) {}

  bool IsNull(int col) const;
  int64_t Int(int col) const;
  bool Bool(int col) const;
  std::string Text(int col) const;
  Bytes Blob(int col) const;
  TimePoint Time(int col) const { return FromUnixMillis(Int(col)); }
  std::optional<int64_t> OptInt(int col) const;
  std::optional<Bytes> OptBlob(int col) const;
  std::optional<TimePoint> OptTime(int col) const;

 private:
  pqxx::row row_;
};

// What a failure means for the retry loop in PostgresPool.
struct PgFault {
  bool retry = false;    // contention or a lost connection: run the transaction again
  bool discard = false;  // the connection is unusable (lost, or its state unknown)
};

// The server's first line of an error ("ERROR:  " prefix removed), without its DETAIL
// and HINT lines, which may quote the values of a row.
std::string ErrorSummary(std::string_view what);

// Converts the exception being handled (call only inside a catch block) into a Status:
// unique violations kAlreadyExists, foreign-key violations kFailedPrecondition, check
// and not-null violations kInvalidArgument, contention and lost connections
// kUnavailable. Messages keep only the server's first line, which names constraints
// and columns but never values (its DETAIL line may quote a whole row).
Status TranslateCurrentException(std::string_view doing, PgFault& fault);

// The key of a PostgreSQL advisory lock named `name`: FNV-1a 64 of the name, so every
// process and build agrees on it (std::hash promises neither).
int64_t AdvisoryLockKey(std::string_view name);

class PgTx {
 public:
  explicit PgTx(pqxx::transaction_base& tx) : tx_(tx) {}

  // Runs one statement and returns its rows. Without parameters the statement may be
  // several, separated by semicolons (migrations).
  StatusOr<std::vector<PgRow>> Query(std::string_view sql, const PgParams& params = {});
  // Runs one statement and returns how many rows it changed.
  StatusOr<int64_t> Exec(std::string_view sql, const PgParams& params = {});

  // Set by the last failed statement; PostgresPool reads it to decide on a retry.
  const PgFault& fault() const { return fault_; }

 private:
  StatusOr<pqxx::result> Run(std::string_view sql, const PgParams& params);

  pqxx::transaction_base& tx_;
  PgFault fault_;
};

}  // namespace latchkey::store::postgres
