// Parameters, rows and the exception-to-Status edge of the PostgreSQL backend (see postgres_query.h).
#include "store/postgres_query.h"

#include <string>
#include <variant>

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

std::string NumberPlaceholders(std::string_view sql, size_t& count) {
  std::string out;
  out.reserve(sql.size() + 16);
  count = 0;
  char quote = 0;  // inside '...' or "..." (a doubled quote closes and reopens: same result)
  for (char c : sql) {
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '?') {
      out += '$' + std::to_string(++count);
      continue;
    }
    out += c;
  }
  return out;
}

namespace {

// Parameters go as text: integers in decimal, times as unix milliseconds, bytes in bytea
// hex format ("\x0a1b"), so the server parses each into the column's type.
StatusOr<std::vector<std::optional<std::string>>> TextValues(const sql::Params& params) {
  std::vector<std::optional<std::string>> out;
  out.reserve(params.values().size());
  for (const sql::Params::Value& value : params.values()) {
    std::string_view text;
    if (std::holds_alternative<std::monostate>(value)) {
      out.emplace_back(std::nullopt);
      continue;
    } else if (const auto* number = std::get_if<int64_t>(&value)) {
      out.emplace_back(std::to_string(*number));
      continue;
    } else if (const auto* flag = std::get_if<bool>(&value)) {
      out.emplace_back(*flag ? "true" : "false");
      continue;
    } else if (const auto* bytes = std::get_if<Bytes>(&value)) {
      out.emplace_back("\\x" + HexEncode(*bytes));
      continue;
    } else if (const auto* owned = std::get_if<std::string>(&value)) {
      text = *owned;
    } else {
      text = std::get<sql::Params::Unowned>(value).text;
    }
    // libpq sends text parameters as C strings: a NUL would silently cut the value short.
    if (text.find('\0') != std::string_view::npos) {
      return InvalidArgumentError("a text value contains a NUL byte, which PostgreSQL cannot store");
    }
    out.emplace_back(std::string(text));
  }
  return out;
}

// Type OIDs from PostgreSQL's pg_type.dat.
constexpr pqxx::oid kBoolOid = 16, kByteaOid = 17, kInt8Oid = 20, kInt2Oid = 21, kInt4Oid = 23;

sql::Row::Cell ReadCell(const pqxx::field& field) {
  if (field.is_null()) return std::monostate{};
  switch (field.type()) {
    case kBoolOid: return int64_t{field.as<bool>() ? 1 : 0};
    case kInt8Oid:
    case kInt2Oid:
    case kInt4Oid: return field.as<int64_t>();
    case kByteaOid: {
      pqxx::binarystring raw(field);
      return Bytes(raw.data(), raw.data() + raw.size());
    }
    default: return std::string(field.c_str(), field.size());
  }
}

}  // namespace

StatusOr<pqxx::result> PgTx::Run(std::string_view sql, const sql::Params& params) {
  fault_ = {};
  LATCHKEY_ASSIGN_OR_RETURN(auto values, TextValues(params));
  size_t placeholders = 0;
  const std::string query = params.empty() ? std::string(sql) : NumberPlaceholders(sql, placeholders);
  if (placeholders != values.size()) {
    return InternalError("the statement '" + std::string(sql.substr(0, 60)) + "' has " +
                         std::to_string(placeholders) + " placeholders, given " +
                         std::to_string(values.size()) + " values");
  }
  try {
    if (values.empty()) return tx_.exec(query);
    std::vector<const char*> pointers;
    pointers.reserve(values.size());
    for (const auto& value : values) pointers.push_back(value ? value->c_str() : nullptr);
    return tx_.exec_params(query, pqxx::prepare::make_dynamic_params(pointers));
  } catch (...) {
    return TranslateCurrentException(sql, fault_);
  }
}

Status PgTx::Each(std::string_view sql, const sql::Params& params, const RowReader& read) {
  LATCHKEY_ASSIGN_OR_RETURN(pqxx::result result, Run(sql, params));
  for (const pqxx::row& row : result) {
    std::vector<sql::Row::Cell> cells;
    cells.reserve(row.size());
    for (const pqxx::field& field : row) cells.push_back(ReadCell(field));
    LATCHKEY_RETURN_IF_ERROR(read(sql::Row(std::move(cells))));
  }
  return Status::Ok();
}

StatusOr<int64_t> PgTx::Exec(std::string_view sql, const sql::Params& params) {
  LATCHKEY_ASSIGN_OR_RETURN(pqxx::result result, Run(sql, params));
  return static_cast<int64_t>(result.affected_rows());
}

}  // namespace latchkey::store::postgres
