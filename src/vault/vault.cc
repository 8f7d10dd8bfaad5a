#include "vault/vault.h"

namespace latchkey::vault {

Vault::Vault(const std::shared_ptr<store::Store>& store, std::unique_ptr<KeyManager> keys, const Clock& clock,
             Random& random)
    : store_(store),
      keys_(std::move(keys)),
      providers_(store, *keys_, clock),
      connections_(store, *keys_, providers_, clock, random),
      agents_(store, clock, random),
      admin_tokens_(store, clock, random) {}

StatusOr<std::unique_ptr<Vault>> Vault::Open(const std::shared_ptr<store::Store>& store,
                                             MasterKeySource master_key, const Clock& clock, Random& random) {
  LATCHKEY_ASSIGN_OR_RETURN(std::unique_ptr<KeyManager> keys,
                            KeyManager::Open(store, std::move(master_key), clock));
  return std::unique_ptr<Vault>(new Vault(store, std::move(keys), clock, random));
}

}  // namespace latchkey::vault
