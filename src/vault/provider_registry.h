// ProviderRegistry: the provider catalog as the vault sees it — built-in entries
// overlaid by the operator's own, which live in the store (a literal client secret is
// sealed, never kept in the stored TOML). Thread-safe; each call reads the store, so a
// provider added by another process is seen at once. Parsed documents are cached (the
// built-ins once, stored ones by their text), so Get() on the proxy's hot path costs
// one store read.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/secret_string.h"
#include "common/status.h"
#include "provider/catalog.h"
#include "store/store.h"
#include "vault/env_references.h"
#include "vault/key_manager.h"

namespace latchkey::vault {

// Hex SHA-256 of the fields that decide where a provider's codes, tokens, secrets and calls
// go (the ones a change of which needs --change-endpoints). A consent compares it between
// its start and its callback, so an entry repointed meanwhile never receives the code.
std::string EndpointsDigest(const provider::ProviderDefinition& definition);

class ProviderRegistry {
 public:
  ProviderRegistry(std::shared_ptr<store::Store> store, const KeyManager& keys, const Clock& clock);

  StatusOr<provider::Catalog> Catalog() const;
  StatusOr<provider::ProviderDefinition> Get(std::string_view name) const;
  // True when the provider's client secret is stored sealed (added with a literal).
  StatusOr<bool> HasStoredClientSecret(std::string_view name) const;

  struct AddOptions {
    // Allows changing where the provider's tokens and calls go (token_url, api_base_url,
    // ...) while connections use it. Without it such a change is refused: the next
    // refresh or call would send those connections' tokens to the new place.
    bool change_endpoints = false;
    std::string by = "cli";  // who made the change, for the audit row ("cli", "admin-api")
  };
  // Validates and stores one provider document; replaces a user entry of the same name
  // and overrides a built-in one. `source_name` names the document in messages. A change
  // of endpoints under connections (with change_endpoints) writes an audit row and raises
  // a provider.changed alert.
  StatusOr<provider::ProviderDefinition> Add(std::string_view toml_text, std::string_view source_name,
                                             const AddOptions& options);
  StatusOr<provider::ProviderDefinition> Add(std::string_view toml_text, std::string_view source_name) {
    return Add(toml_text, source_name, AddOptions{});
  }

  // Makes the entry for one tenant of the template `template_name` (provider_template.h):
  // its text with `values` filled in, stored like an operator's entry under `name`
  // (TemplateInstanceName's when empty). Making the same instance again changes nothing;
  // a different one under the same name is an endpoint change, refused as Add refuses it.
  StatusOr<provider::ProviderDefinition> Instantiate(std::string_view template_name,
                                                     const std::map<std::string, std::string>& values,
                                                     std::string name, const AddOptions& options);

  // The client secret to send to the token endpoint: from the environment variable the
  // entry names (when env_policy() allows it), or unsealed from the store. Empty when the
  // provider has none.
  StatusOr<SecretString> ClientSecret(const provider::ProviderDefinition& definition) const;
  // The client id: the literal, or the environment variable env_policy() allows.
  StatusOr<std::string> ClientId(const provider::ProviderDefinition& definition) const;

  // Which variables entries may name with env: (latchkey.toml). Set once, before any
  // other thread uses the registry.
  void set_env_policy(EnvReferencePolicy policy) { env_policy_ = std::move(policy); }
  const EnvReferencePolicy& env_policy() const { return env_policy_; }

 private:
  // The audit row and the provider.changed alert of an endpoint change under connections.
  void RecordEndpointChange(const std::string& name, std::string_view stored_text,
                            const std::vector<std::string>& changed, const std::vector<std::string>& users,
                            const std::string& by);

  std::shared_ptr<store::Store> store_;
  const KeyManager& keys_;
  const Clock& clock_;
  EnvReferencePolicy env_policy_;
  // Parsed stored documents by provider name, reused while the stored text is unchanged.
  mutable std::mutex cache_mu_;
  mutable std::map<std::string, std::pair<std::string, provider::ProviderDefinition>, std::less<>> parsed_;
};

}  // namespace latchkey::vault
