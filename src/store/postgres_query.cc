// Parameters, rows and the exception-to-Status edge of the PostgreSQL backend (see postgres_query.h).
#include "store/postgres_query.h"

#include <string>

namespace latchkey::store::postgres {
namespace {

Status FromSqlState(const std::string& state, const std::string& message, std::string_view doing,
                    PgFault& fault) {
  if (state == "40001" || state == "40P01" || state == "55P03") {
    // Serialization failure, deadlock, lock_timeout: another transaction was in the way.
    fault.retry = true;
    return UnavailableError("the store is busy");
  }
  if (state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03") {
    fault.retry = true;
    fault.discard = true;
    return UnavailableError("lost the connection to the store: " + message);
  }
  if (state == "23505") return AlreadyExistsError(message);
  if (state == "23503")
    return FailedPreconditionError("the row is sealed under a data key that no longer exists");
  if (state == "23514" || state == "23502") return InvalidArgumentError(message);
  if (state.starts_with("22")) {
    // Data exceptions quote the offending value, which may be sealed bytes: leave it out.
    return InvalidArgumentError("the store refused a value (SQLSTATE " + state + ")");
  }
  return InternalError("postgres error " + state + " in '" + std::string(doing.substr(0, 60)) +
                       "': " + message);
}

}  // namespace

std::string ErrorSummary(std::string_view what) {
  what = what.substr(0, what.find('\n'));
  for (std::string_view prefix : {"ERROR:  ", "FATAL:  "}) {
    if (what.starts_with(prefix)) what.remove_prefix(prefix.size());
  }
  return std::string(what);
}

Status TranslateCurrentException(std::string_view doing, PgFault& fault) {
  fault = {};
  try {
    throw;
  } catch (const pqxx::serialization_failure&) {
    fault.retry = true;
    return UnavailableError("the store is busy");
  } catch (const pqxx::deadlock_detected&) {
    fault.retry = true;
    return UnavailableError("the store is busy");
  } catch (const pqxx::statement_completion_unknown&) {
    fault.discard = true;
    return UnavailableError(
        "lost the connection to the store while it ran a statement; the change may or may not be stored");
  } catch (const pqxx::in_doubt_error&) {
    fault.discard = true;
    return UnavailableError(
        "lost the connection to the store while committing; the change may or may not be stored");
  } catch (const pqxx::broken_connection& e) {
    fault.retry = true;
    fault.discard = true;
    return UnavailableError("lost the connection to the store: " + ErrorSummary(e.what()));
  } catch (const pqxx::sql_error& e) {
    return FromSqlState(e.sqlstate(), ErrorSummary(e.what()), doing, fault);
  } catch (const std::exception& e) {
    fault.discard = true;
    return InternalError("postgres client error in '" + std::string(doing.substr(0, 60)) +
                         "': " + ErrorSummary(e.what()));
  }
}

int64_t AdvisoryLockKey(std::string_view name) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (char c : name) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return static_cast<int64_t>(hash);
}

PgParams& PgParams::Add(int64_t value) {
  values_.emplace_back(std::to_string(value));
  return *this;
}

PgParams& PgParams::Add(std::string_view value) {
  // libpq sends text parameters as C strings: a NUL would silently cut the value short.
  if (value.find('\0') != std::string_view::npos && error_.ok()) {
    error_ = InvalidArgumentError("a text value contains a NUL byte, which PostgreSQL cannot store");
  }
  values_.emplace_back(std::string(value));
  return *this;
}

PgParams& PgParams::Add(const Bytes& value) {
  values_.emplace_back("\\x" + HexEncode(value));
  return *this;
}

PgParams& PgParams::Add(TimePoint value) { return Add(ToUnixMillis(value)); }

PgParams& PgParams::Add(const std::optional<int64_t>& value) { return value ? Add(*value) : AddNull(); }

PgParams& PgParams::Add(const std::optional<Bytes>& value) { return value ? Add(*value) : AddNull(); }

PgParams& PgParams::Add(const std::optional<TimePoint>& value) { return value ? Add(*value) : AddNull(); }

PgParams& PgParams::AddBool(bool value) {
  values_.emplace_back(value ? "true" : "false");
  return *this;
}

PgParams& PgParams::AddNull() {
  values_.emplace_back(std::nullopt);
  return *this;
}

std::vector<const char*> PgParams::Pointers() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (const auto& value : values_) out.push_back(value ? value->c_str() : nullptr);
  return out;
}

bool PgRow::IsNull(int col) const { return row_[col].is_null(); }

int64_t PgRow::Int(int col) const { return IsNull(col) ? 0 : row_[col].as<int64_t>(); }

bool PgRow::Bool(int col) const { return !IsNull(col) && row_[col].as<bool>(); }

std::string PgRow::Text(int col) const { return std::string(row_[col].c_str(), row_[col].size()); }

Bytes PgRow::Blob(int col) const {
  if (IsNull(col)) return {};
  pqxx::binarystring raw(row_[col]);
  return Bytes(raw.data(), raw.data() + raw.size());
}

std::optional<int64_t> PgRow::OptInt(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Int(col);
}

std::optional<Bytes> PgRow::OptBlob(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Blob(col);
}

std::optional<TimePoint> PgRow::OptTime(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Time(col);
}

StatusOr<pqxx::result> PgTx::Run(std::string_view sql, const PgParams& params) {
  fault_ = {};
  if (!params.error().ok()) return params.error();
  try {
    const std::string query(sql);
    if (params.empty()) return tx_.exec(query);
    const std::vector<const char*> values = params.Pointers();
    return tx_.exec_params(query, pqxx::prepare::make_dynamic_params(values));
  } catch (...) {
    return TranslateCurrentException(sql, fault_);
  }
}

StatusOr<std::vector<PgRow>> PgTx::Query(std::string_view sql, const PgParams& params) {
  LATCHKEY_ASSIGN_OR_RETURN(pqxx::result result, Run(sql, params));
  std::vector<PgRow> rows;
  rows.reserve(result.size());
  for (const pqxx::row& row : result) rows.emplace_back(row);
  return rows;
}

StatusOr<int64_t> PgTx::Exec(std::string_view sql, const PgParams& params) {
  LATCHKEY_ASSIGN_OR_RETURN(pqxx::result result, Run(sql, params));
  return static_cast<int64_t>(result.affected_rows());
}

}  // namespace latchkey::store::postgres
