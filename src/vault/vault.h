// Vault: the product's rules about credentials, in one object the edges (CLI, gateway,
// MCP) hold: keys, providers, connections, agents. It owns its parts; the wiring code
// (cli/context.cc) chooses the store backend and where the master key comes from.
// Thread-safe: every part is.
#pragma once

#include <memory>

#include "common/clock.h"
#include "common/random.h"
#include "common/status.h"
#include "store/store.h"
#include "vault/admin_tokens.h"
#include "vault/agent_registry.h"
#include "vault/connection_vault.h"
#include "vault/key_manager.h"
#include "vault/provider_registry.h"

namespace latchkey::vault {

class Vault {
 public:
  static StatusOr<std::unique_ptr<Vault>> Open(const std::shared_ptr<store::Store>& store,
                                               MasterKeySource master_key, const Clock& clock,
                                               Random& random);

  store::Store& store() { return *store_; }
  KeyManager& keys() { return *keys_; }
  ProviderRegistry& providers() { return providers_; }
  ConnectionVault& connections() { return connections_; }
  AgentRegistry& agents() { return agents_; }
  AdminTokens& admin_tokens() { return admin_tokens_; }

 private:
  Vault(const std::shared_ptr<store::Store>& store, std::unique_ptr<KeyManager> keys, const Clock& clock,
        Random& random);

  std::shared_ptr<store::Store> store_;
  std::unique_ptr<KeyManager> keys_;
  ProviderRegistry providers_;
  ConnectionVault connections_;
  AgentRegistry agents_;
  AdminTokens admin_tokens_;
};

}  // namespace latchkey::vault
