// Statements for the PostgreSQL backend, internal to store/: PgTx runs the SQL store's
// statements inside the transaction PostgresPool opened, numbering their `?`
// placeholders, sending parameters as text and turning libpqxx exceptions into Status
// values (this is the library edge: no exception leaves this file's functions). A PgTx
// and its connection belong to one thread for one Run().
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
#include "store/sql/tx.h"

namespace latchkey::store::postgres {

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

// `sql` with each `?` outside quotes replaced by $1, $2 ... in order; `count` is set to
// how many there were.
std::string NumberPlaceholders(std::string_view sql, size_t& count);

class PgTx final : public sql::Tx {
 public:
  explicit PgTx(pqxx::transaction_base& tx) : tx_(tx) {}

  // Without parameters the statement may be several, separated by semicolons (migrations).
  Status Each(std::string_view sql, const sql::Params& params, const RowReader& read) override;
  StatusOr<int64_t> Exec(std::string_view sql, const sql::Params& params = {}) override;

  // Set by the last failed statement; PostgresPool reads it to decide on a retry.
  const PgFault& fault() const { return fault_; }

 private:
  StatusOr<pqxx::result> Run(std::string_view sql, const sql::Params& params);

  pqxx::transaction_base& tx_;
  PgFault fault_;
};

}  // namespace latchkey::store::postgres
