#include "vault/provider_registry.h"

#include <cstdlib>

namespace latchkey::vault {
namespace {

constexpr std::string_view kTable = "providers";
constexpr std::string_view kClientSecret = "client_secret";

}  // namespace

ProviderRegistry::ProviderRegistry(std::shared_ptr<store::Store> store, const KeyManager& keys,
                                   const Clock& clock)
    : store_(std::move(store)), keys_(keys), clock_(clock) {}

StatusOr<provider::Catalog> ProviderRegistry::Catalog() const {
  provider::Catalog catalog;
  LATCHKEY_ASSIGN_OR_RETURN(std::vector<provider::ProviderDefinition> builtins,
                            provider::LoadBuiltinProviders());
  for (auto& definition : builtins) catalog.Add(std::move(definition));
  LATCHKEY_ASSIGN_OR_RETURN(std::vector<store::ProviderRecord> stored, store_->ListProviders());
  for (const store::ProviderRecord& record : stored) {
    StatusOr<provider::ProviderDefinition> definition =
        provider::ParseProvider(record.definition, "stored provider '" + record.name + "'");
    if (!definition.ok()) return definition.status();
    definition->source = "store";
    catalog.Add(std::move(*definition));
  }
  return catalog;
}

StatusOr<provider::ProviderDefinition> ProviderRegistry::Get(std::string_view name) const {
  StatusOr<store::ProviderRecord> record = store_->GetProvider(name);
  if (record.ok()) {
    std::lock_guard lock(cache_mu_);
    auto cached = parsed_.find(name);
    if (cached != parsed_.end() && cached->second.first == record->definition) return cached->second.second;
    StatusOr<provider::ProviderDefinition> definition =
        provider::ParseProvider(record->definition, "stored provider '" + record->name + "'");
    if (!definition.ok()) return definition.status();
    definition->source = "store";
    parsed_[record->name] = {record->definition, *definition};
    return definition;
  }
  if (record.status().code() != StatusCode::kNotFound) return record.status();
  static const StatusOr<provider::Catalog> builtins = []() -> StatusOr<provider::Catalog> {
    LATCHKEY_ASSIGN_OR_RETURN(std::vector<provider::ProviderDefinition> all,
                              provider::LoadBuiltinProviders());
    provider::Catalog catalog;
    for (auto& definition : all) catalog.Add(std::move(definition));
    return catalog;
  }();
  if (!builtins.ok()) return builtins.status();
  return builtins->Get(name);
}

StatusOr<bool> ProviderRegistry::HasStoredClientSecret(std::string_view name) const {
  StatusOr<store::ProviderRecord> record = store_->GetProvider(name);
  if (!record.ok()) {
    if (record.status().code() == StatusCode::kNotFound) return false;
    return record.status();
  }
  return record->client_secret.has_value();
}

StatusOr<provider::ProviderDefinition> ProviderRegistry::Add(std::string_view toml_text,
                                                             std::string_view source_name) {
  LATCHKEY_ASSIGN_OR_RETURN(provider::ProviderDefinition definition,
                            provider::ParseProvider(toml_text, source_name));
  LATCHKEY_RETURN_IF_ERROR(CheckEnvReferences(env_policy_, definition));
  LATCHKEY_ASSIGN_OR_RETURN(std::string stripped, provider::StripLiteralClientSecret(toml_text));

  store::ProviderRecord record{
      .name = definition.name,
      .definition = std::move(stripped),
      .client_secret = std::nullopt,
      .data_key_id = std::nullopt,
      .created_at = clock_.Now(),
      .updated_at = clock_.Now(),
  };
  if (!definition.client_secret.literal.empty()) {
    LATCHKEY_ASSIGN_OR_RETURN(record.client_secret, keys_.Seal(definition.client_secret.literal.reveal(),
                                                               {kTable, definition.name, kClientSecret}));
    LATCHKEY_ASSIGN_OR_RETURN(record.data_key_id, keys_.ActiveDataKeyId());
  }
  LATCHKEY_RETURN_IF_ERROR(store_->UpsertProvider(record));
  definition.client_secret.literal = SecretString();
  definition.source = "store";
  return definition;
}

StatusOr<std::string> ProviderRegistry::ClientId(const provider::ProviderDefinition& definition) const {
  LATCHKEY_ASSIGN_OR_RETURN(
      SecretString id, ResolveValueSource(env_policy_, definition.name, "client_id", definition.client_id));
  return std::string(id.reveal());
}

StatusOr<SecretString> ProviderRegistry::ClientSecret(const provider::ProviderDefinition& definition) const {
  if (!definition.client_secret.env_var.empty()) {
    return ResolveValueSource(env_policy_, definition.name, "client_secret", definition.client_secret);
  }
  StatusOr<store::ProviderRecord> record = store_->GetProvider(definition.name);
  if (!record.ok() || !record->client_secret) return SecretString();
  StatusOr<SecretString> secret =
      keys_.Unseal(*record->client_secret, {kTable, definition.name, kClientSecret});
  if (!secret.ok()) {
    return secret.status().WithContext("cannot read the client secret of provider '" + definition.name + "'");
  }
  return secret;
}

}  // namespace latchkey::vault
