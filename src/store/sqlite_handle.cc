#include "store/sqlite_handle.h"

#include <mutex>
#include <string>
#include <utility>

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

SqliteDb::~SqliteDb() { sqlite3_close_v2(db_); }

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

StatusOr<SqliteStatement> SqliteStatement::Prepare(SqliteDb& db, std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db.raw(), sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return db.ErrorStatus(rc, sql);
  }
  return SqliteStatement(db, stmt);
}

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      next_param_(other.next_param_),
      bind_error_(std::move(other.bind_error_)) {}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

namespace {
// Keeps the first bind failure; Step() reports it.
void NoteBind(SqliteDb& db, Status& error, int rc) {
  if (rc != SQLITE_OK && error.ok()) error = db.ErrorStatus(rc, "bind");
}
}  // namespace

SqliteStatement& SqliteStatement::Add(int64_t value) {
  NoteBind(*db_, bind_error_, sqlite3_bind_int64(stmt_, next_param_++, value));
  return *this;
}

SqliteStatement& SqliteStatement::Add(std::string_view value) {
  NoteBind(
      *db_, bind_error_,
      sqlite3_bind_text64(stmt_, next_param_++, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  return *this;
}

SqliteStatement& SqliteStatement::AddUnowned(std::string_view value) {
  NoteBind(*db_, bind_error_,
           sqlite3_bind_text64(stmt_, next_param_++, value.data(), value.size(), SQLITE_STATIC, SQLITE_UTF8));
  return *this;
}

SqliteStatement& SqliteStatement::Add(const Bytes& value) {
  // A zero-length blob must stay a blob, not NULL: give SQLite a valid pointer.
  static const std::uint8_t kEmpty = 0;
  const void* data = value.empty() ? &kEmpty : value.data();
  NoteBind(*db_, bind_error_,
           sqlite3_bind_blob64(stmt_, next_param_++, data, value.size(), SQLITE_TRANSIENT));
  return *this;
}

SqliteStatement& SqliteStatement::Add(TimePoint value) { return Add(ToUnixMillis(value)); }

SqliteStatement& SqliteStatement::Add(const std::optional<int64_t>& value) {
  return value ? Add(*value) : AddNull();
}

SqliteStatement& SqliteStatement::Add(const std::optional<Bytes>& value) {
  return value ? Add(*value) : AddNull();
}

SqliteStatement& SqliteStatement::Add(const std::optional<TimePoint>& value) {
  return value ? Add(*value) : AddNull();
}

SqliteStatement& SqliteStatement::AddNull() {
  NoteBind(*db_, bind_error_, sqlite3_bind_null(stmt_, next_param_++));
  return *this;
}

void SqliteStatement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  next_param_ = 1;
  bind_error_ = Status::Ok();
}

StatusOr<bool> SqliteStatement::Step() {
  if (!bind_error_.ok()) return bind_error_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->ErrorStatus(rc, sqlite3_sql(stmt_));
}

Status SqliteStatement::Run() {
  for (;;) {
    LATCHKEY_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

bool SqliteStatement::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

int64_t SqliteStatement::Int(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string SqliteStatement::Text(int col) const {
  const unsigned char* text = sqlite3_column_text(stmt_, col);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

Bytes SqliteStatement::Blob(int col) const {
  const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, col));
  if (data == nullptr) return {};
  return Bytes(data, data + sqlite3_column_bytes(stmt_, col));
}

std::optional<int64_t> SqliteStatement::OptInt(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Int(col);
}

std::optional<Bytes> SqliteStatement::OptBlob(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Blob(col);
}

std::optional<TimePoint> SqliteStatement::OptTime(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Time(col);
}

}  // namespace latchkey::store::sqlite
