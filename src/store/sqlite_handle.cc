#include "store/sqlite_handle.h"

#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace latchkey::store::sqlite {

bool IsBusyCode(int rc) {
  int primary = rc & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

namespace {
// SQLite's memory statistics take a process-wide mutex around every allocation, which
// every thread writing the store would contend on; latchkey reads none of them. The
// setting only takes before SQLite initializes (later it reports SQLITE_MISUSE, harmless).
void TurnOffMemoryStatistics() {
  static std::once_flag once;
  std::call_once(once, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}
}  // namespace

StatusOr<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path) {
  TurnOffMemoryStatistics();
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close_v2(raw);
    return UnavailableError("cannot open the store at " + path + ": " + message);
  }
  sqlite3_extended_result_codes(raw, 1);
  return std::unique_ptr<SqliteDb>(new SqliteDb(raw));
}

SqliteDb::~SqliteDb() {
  for (auto& [text, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Status SqliteDb::Exec(const char* sql) {
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return ErrorStatus(rc, sql);
  return Status::Ok();
}

void SqliteDb::RollbackIfOpen() {
  if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

int64_t SqliteDb::Changes() const { return sqlite3_changes64(db_); }

Status SqliteDb::ErrorStatus(int rc, std::string_view doing) {
  if (IsBusyCode(rc)) {
    busy_ = true;
    return UnavailableError("the store is busy");
  }
  // SQLite's messages name tables and columns, never bound values, so they hold no secret.
  std::string detail = sqlite3_errmsg(db_);
  switch (rc) {
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return FailedPreconditionError("the row is sealed under a data key that no longer exists");
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY: return AlreadyExistsError(detail);
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_TRIGGER:  // a trigger refusing a value
    case SQLITE_CONSTRAINT_NOTNULL: return InvalidArgumentError(detail);
    default: break;
  }
  return InternalError("sqlite error (" + std::string(sqlite3_errstr(rc)) + ") in '" +
                       std::string(doing.substr(0, 60)) + "': " + detail);
}

namespace {

// Statements kept per handle; past this many (dynamic SQL) the cache starts over.
constexpr size_t kCachedStatements = 128;

// Makes a cached statement ready for its next use, whatever happened in this one.
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~ResetOnExit() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

sql::Row::Cell ReadCell(sqlite3_stmt* stmt, int col) {
  switch (sqlite3_column_type(stmt, col)) {
    case SQLITE_NULL: return std::monostate{};
    case SQLITE_INTEGER: return static_cast<int64_t>(sqlite3_column_int64(stmt, col));
    case SQLITE_BLOB: {
      const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt, col));
      if (data == nullptr) return Bytes{};
      return Bytes(data, data + sqlite3_column_bytes(stmt, col));
    }
    default: {  // TEXT (and FLOAT, which no column holds, as its text)
      const unsigned char* text = sqlite3_column_text(stmt, col);
      if (text == nullptr) return std::string();
      return std::string(reinterpret_cast<const char*>(text),
                         static_cast<size_t>(sqlite3_column_bytes(stmt, col)));
    }
  }
}

}  // namespace

StatusOr<sqlite3_stmt*> SqliteDb::Prepared(std::string_view sql) {
  if (auto found = statements_.find(sql); found != statements_.end()) return found->second;
  if (statements_.size() >= kCachedStatements) {
    // Nothing is running: Run() resets its statement before it returns.
    for (auto& [text, stmt] : statements_) sqlite3_finalize(stmt);
    statements_.clear();
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return ErrorStatus(rc, sql);
  }
  statements_.emplace(std::string(sql), stmt);
  return stmt;
}

Status SqliteDb::Bind(sqlite3_stmt* stmt, const sql::Params& params) {
  const auto& values = params.values();
  if (sqlite3_bind_parameter_count(stmt) != static_cast<int>(values.size())) {
    return InternalError("the statement '" + std::string(std::string_view(sqlite3_sql(stmt)).substr(0, 60)) +
                         "' has " + std::to_string(sqlite3_bind_parameter_count(stmt)) +
                         " placeholders, given " + std::to_string(values.size()) + " values");
  }
  // A zero-length blob must stay a blob, not NULL: give SQLite a valid pointer.
  static const std::uint8_t kEmpty = 0;
  for (int i = 0; i < static_cast<int>(values.size()); ++i) {
    const int index = i + 1;
    int rc = std::visit(
        [&](const auto& value) -> int {
          using T = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
            return sqlite3_bind_null(stmt, index);
          } else if constexpr (std::is_same_v<T, int64_t>) {
            return sqlite3_bind_int64(stmt, index, value);
          } else if constexpr (std::is_same_v<T, bool>) {
            return sqlite3_bind_int64(stmt, index, value ? 1 : 0);
          } else if constexpr (std::is_same_v<T, std::string>) {
            return sqlite3_bind_text64(stmt, index, value.data(), value.size(), SQLITE_TRANSIENT,
                                       SQLITE_UTF8);
          } else if constexpr (std::is_same_v<T, sql::Params::Unowned>) {
            return sqlite3_bind_text64(stmt, index, value.text.data(), value.text.size(), SQLITE_STATIC,
                                       SQLITE_UTF8);
          } else {
            static_assert(std::is_same_v<T, Bytes>);
            return sqlite3_bind_blob64(stmt, index, value.empty() ? &kEmpty : value.data(), value.size(),
                                       SQLITE_TRANSIENT);
          }
        },
        values[static_cast<size_t>(i)]);
    if (rc != SQLITE_OK) return ErrorStatus(rc, "bind");
  }
  return Status::Ok();
}

Status SqliteDb::Run(std::string_view sql, const sql::Params& params, const sql::Tx::RowReader& read) {
  LATCHKEY_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepared(sql));
  ResetOnExit reset(stmt);
  LATCHKEY_RETURN_IF_ERROR(Bind(stmt, params));
  for (;;) {
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) return Status::Ok();
    if (rc != SQLITE_ROW) return ErrorStatus(rc, sql);
    const int columns = sqlite3_column_count(stmt);
    std::vector<sql::Row::Cell> cells;
    cells.reserve(static_cast<size_t>(columns));
    for (int col = 0; col < columns; ++col) cells.push_back(ReadCell(stmt, col));
    LATCHKEY_RETURN_IF_ERROR(read(sql::Row(std::move(cells))));
  }
}

Status SqliteTx::Each(std::string_view sql, const sql::Params& params, const RowReader& read) {
  return db_.Run(sql, params, read);
}

StatusOr<int64_t> SqliteTx::Exec(std::string_view sql, const sql::Params& params) {
  LATCHKEY_RETURN_IF_ERROR(db_.Run(sql, params, [](const sql::Row&) { return Status::Ok(); }));
  return db_.Changes();
}

}  // namespace latchkey::store::sqlite
