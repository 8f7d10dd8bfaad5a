#include "store/postgres_store.h"

#include <libpq-fe.h>

#include <memory>

#include "store/postgres_migrations.h"
#include "store/postgres_store_impl.h"

namespace latchkey::store {

StatusOr<bool> PostgresUrlHasPassword(const std::string& url) {
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(PQconninfoParse(url.c_str(), &error),
                                                                       &PQconninfoFree);
  // libpq's message may quote a value of the URL, the password included: it is dropped.
  PQfreemem(error);
  if (options == nullptr) return InvalidArgumentError("the store URL is not a connection URI libpq can read");
  for (const PQconninfoOption* option = options.get(); option->keyword != nullptr; ++option) {
    if (std::string_view(option->keyword) == "password" && option->val != nullptr && option->val[0] != '\0') {
      return true;
    }
  }
  return false;
}

StatusOr<std::shared_ptr<Store>> OpenPostgresStore(const PostgresStoreOptions& options, const Clock& clock) {
  if (options.url.empty()) return InvalidArgumentError("the PostgreSQL store URL is empty");
  LATCHKEY_ASSIGN_OR_RETURN(std::shared_ptr<postgres::PostgresPool> pool,
                            postgres::PostgresPool::Open(options.url, options.busy_wait));
  LATCHKEY_RETURN_IF_ERROR(postgres::Migrate(*pool, clock));
  return std::shared_ptr<Store>(std::make_shared<postgres::PostgresStore>(std::move(pool)));
}

}  // namespace latchkey::store
