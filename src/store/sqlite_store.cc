#include "store/sqlite_store.h"

#include <nlohmann/json.hpp>

#include "store/sqlite_migrations.h"
#include "store/sqlite_store_impl.h"

namespace latchkey::store {

StatusOr<std::shared_ptr<Store>> OpenSqliteStore(const SqliteOptions& options, const Clock& clock) {
  if (options.path.empty()) return InvalidArgumentError("the store path is empty");
  LATCHKEY_ASSIGN_OR_RETURN(std::unique_ptr<sqlite::SqlitePool> pool,
                            sqlite::SqlitePool::Open(options.path, options.busy_wait));
  LATCHKEY_RETURN_IF_ERROR(sqlite::Migrate(*pool, clock));
  return std::shared_ptr<Store>(
      std::make_shared<sqlite::SqliteStore>(std::move(pool), options.path + ".locks"));
}

namespace sqlite {

Status SqliteStore::Ping() {
  return Read([](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(auto stmt, SqliteStatement::Prepare(db, "SELECT 1"));
    return stmt.Run();
  });
}

std::string EncodeStringList(const std::vector<std::string>& items) { return nlohmann::json(items).dump(); }

StatusOr<std::vector<std::string>> DecodeStringList(std::string_view json, std::string_view row) {
  nlohmann::json parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  std::vector<std::string> items;
  bool valid = parsed.is_array();
  if (valid) {
    for (const auto& item : parsed) {
      if (!item.is_string()) {
        valid = false;
        break;
      }
      items.push_back(item.get<std::string>());
    }
  }
  if (!valid) return DataLossError(std::string(row) + " has a malformed list column in the store");
  return items;
}

Status NameRow(Status status, std::string_view row) {
  switch (status.code()) {
    case StatusCode::kAlreadyExists: return AlreadyExistsError(std::string(row) + " already exists");
    case StatusCode::kFailedPrecondition:
      return FailedPreconditionError(
          std::string(row) + " is sealed under a data key that no longer exists; reload keys and retry");
    case StatusCode::kInvalidArgument: return status.WithContext(row);
    default: return status;
  }
}

Status CheckLimit(int limit) {
  if (limit <= 0) return InvalidArgumentError("limit must be positive, got " + std::to_string(limit));
  return Status::Ok();
}

}  // namespace sqlite
}  // namespace latchkey::store
