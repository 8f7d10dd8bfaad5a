#include "store/postgres_store.h"

#include "store/postgres_migrations.h"
#include "store/postgres_store_impl.h"

namespace latchkey::store {

StatusOr<std::shared_ptr<Store>> OpenPostgresStore(const PostgresStoreOptions& options, const Clock& clock) {
  if (options.url.empty()) return InvalidArgumentError("the PostgreSQL store URL is empty");
  LATCHKEY_ASSIGN_OR_RETURN(std::shared_ptr<postgres::PostgresPool> pool,
                            postgres::PostgresPool::Open(options.url, options.busy_wait));
  LATCHKEY_RETURN_IF_ERROR(postgres::Migrate(*pool, clock));
  return std::shared_ptr<Store>(std::make_shared<postgres::PostgresStore>(std::move(pool)));
}

}  // namespace latchkey::store
