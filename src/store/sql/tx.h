// The row and transaction interface the SQL store is written against, so each Store
// method is written once for both databases (sql_store_*.cc) and each backend keeps only
// what differs (sqlite_*.cc, postgres_*.cc). Statements use `?` placeholders; the
// PostgreSQL backend numbers them. Params and Row are plain values (any thread); a Tx
// belongs to one thread for one transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "common/clock.h"
#include "common/encoding.h"
#include "common/status.h"

namespace latchkey::store::sql {

// A statement's parameters, bound to its `?` placeholders in order. Times are unix
// milliseconds (both schemas store them as integers).
class Params {
 public:
  // Text the caller keeps alive until the statement has run (AddUnowned).
  struct Unowned {
    std::string_view text;
  };
  using Value = std::variant<std::monostate, int64_t, std::string, Unowned, Bytes, bool>;

  Params& Add(int64_t value);
  Params& Add(std::string_view value);
  Params& Add(const Bytes& value);
  Params& Add(TimePoint value);
  Params& Add(const std::optional<int64_t>& value);
  Params& Add(const std::optional<Bytes>& value);
  Params& Add(const std::optional<TimePoint>& value);
  // Not an Add overload: a string literal would convert to bool before string_view.
  Params& AddBool(bool value);
  Params& AddNull();
  // Binds `value` without copying it where the backend can (SQLite): the audit log's
  // batches, whose rows outlive the statement.
  Params& AddUnowned(std::string_view value);

  // Room for `count` values, so a long list (an audit batch's) is not moved as it grows.
  void Reserve(size_t count) { values_.reserve(count); }

  bool empty() const { return values_.empty(); }
  const std::vector<Value>& values() const { return values_; }

 private:
  std::vector<Value> values_;
};

// One result row, read by column index. Read as the type the schema gives the column;
// a NULL reads as 0, "" or no bytes (the Opt readers tell NULL apart).
class Row {
 public:
  using Cell = std::variant<std::monostate, int64_t, std::string, Bytes>;
  explicit Row(std::vector<Cell> cells) : cells_(std::move(cells)) {}

  bool IsNull(int col) const;
  int64_t Int(int col) const;
  bool Bool(int col) const { return Int(col) != 0; }  // booleans arrive as 0 or 1
  std::string Text(int col) const;
  Bytes Blob(int col) const;
  TimePoint Time(int col) const { return FromUnixMillis(Int(col)); }
  std::optional<int64_t> OptInt(int col) const;
  std::optional<Bytes> OptBlob(int col) const;
  std::optional<TimePoint> OptTime(int col) const;

 private:
  const Cell& At(int col) const { return cells_.at(static_cast<size_t>(col)); }
  std::vector<Cell> cells_;
};

// One transaction, opened by the backend's Run() and committed when the body returns OK.
// Errors come back as Status values with the same codes on both backends: a unique
// violation kAlreadyExists, a foreign-key violation kFailedPrecondition, a check or
// not-null violation or a refused value kInvalidArgument, contention kUnavailable.
class Tx {
 public:
  // Reads one row; an error stops the statement and is what Each returns.
  using RowReader = std::function<Status(const Row&)>;

  virtual ~Tx() = default;
  // Runs one statement and hands its rows to `read` one at a time, so a large result is
  // never held twice (as rows and as the records read from them).
  virtual Status Each(std::string_view sql, const Params& params, const RowReader& read) = 0;
  // Runs one statement and returns how many rows it changed.
  virtual StatusOr<int64_t> Exec(std::string_view sql, const Params& params = {}) = 0;

  // Runs one statement and returns its rows (for small results: counts, existence checks).
  StatusOr<std::vector<Row>> Query(std::string_view sql, const Params& params = {});
};

// Runs `sql` and reads every row with read(row), which gives a T or a StatusOr<T>
// (a row the reader refuses ends the query with its error).
namespace internal {
template <typename T>
struct Unwrapped {
  using type = T;
};
template <typename T>
struct Unwrapped<StatusOr<T>> {
  using type = T;
};
template <typename Read>
using ReadValue = typename Unwrapped<std::invoke_result_t<Read, const Row&>>::type;
}  // namespace internal

template <typename Read>
StatusOr<std::vector<internal::ReadValue<Read>>> Select(Tx& tx, std::string_view sql, const Params& params,
                                                        Read read) {
  using Value = internal::ReadValue<Read>;
  std::vector<Value> out;
  LATCHKEY_RETURN_IF_ERROR(tx.Each(sql, params, [&](const Row& row) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(Value value, StatusOr<Value>(read(row)));
    out.push_back(std::move(value));
    return Status::Ok();
  }));
  return out;
}

enum class Access {
  kRead,   // one consistent snapshot
  kWrite,  // behaves as if writers ran one at a time
};

}  // namespace latchkey::store::sql
