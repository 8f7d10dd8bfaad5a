#include "store/sqlite_store.h"

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

}  // namespace latchkey::store
