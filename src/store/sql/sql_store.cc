// The methods of SqlStore that are about the store itself rather than one table.
#include "store/sql/sql_store.h"

#include <algorithm>
#include <string>

namespace latchkey::store::sql {
namespace {

// Connection ids name lock files (SQLite) and advisory-lock keys (PostgreSQL): both
// backends accept the same ids, so callers see one contract.
bool IsValidLockId(std::string_view id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

}  // namespace

StatusOr<std::unique_ptr<ConnectionLock>> SqlStore::LockConnection(std::string_view connection_id,
                                                                   std::chrono::milliseconds wait) {
  if (!IsValidLockId(connection_id)) {
    return InvalidArgumentError("connection id '" + std::string(connection_id) +
                                "' is not a valid connection id");
  }
  LATCHKEY_ASSIGN_OR_RETURN(std::unique_ptr<ConnectionLock> lock, TryLockConnection(connection_id, wait));
  if (lock == nullptr) {
    return DeadlineExceededError("another process held the refresh lock of connection id " +
                                 std::string(connection_id) + " for longer than " +
                                 std::to_string(wait.count()) + " ms");
  }
  return lock;
}

}  // namespace latchkey::store::sql
