#include "vault/provider_registry.h"

#include <sodium.h>

#include <array>
#include <cstdlib>
#include <functional>
#include <utility>

#include "common/encoding.h"
#include "common/log.h"
#include "oauth/token_fields.h"
#include "vault/alert_events.h"

namespace latchkey::vault {
namespace {

constexpr std::string_view kTable = "providers";
constexpr std::string_view kClientSecret = "client_secret";

std::string Joined(const std::vector<std::string>& items) { return oauth::JoinScopes(items, ", "); }

// The fields that decide where a provider's tokens, credentials and calls go.
std::vector<std::pair<const char*, std::string>> EndpointFields(const provider::ProviderDefinition& d) {
  return {{"issuer", d.issuer},
          {"authorization_url", d.authorization_url},
          {"token_url", d.token_url},
          {"refresh_url", d.refresh_url},
          {"revocation_url", d.revocation_url},
          {"device_authorization_url", d.device_authorization_url},
          {"userinfo_url", d.userinfo_url},
          {"jwks_url", d.jwks_url},
          {"identity_url", d.identity_url},
          {"identity_id_pointer", d.identity_id_pointer},
          {"identity_label_pointer", d.identity_label_pointer},
          {"api_base_url", d.api_base_url},
          {"extra_api_base_urls", oauth::JoinScopes(d.extra_api_base_urls, " ")}};
}

std::vector<std::string> ChangedEndpoints(const provider::ProviderDefinition& before,
                                          const provider::ProviderDefinition& after) {
  const auto a = EndpointFields(before);
  const auto b = EndpointFields(after);
  std::vector<std::string> changed;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].second != b[i].second) changed.emplace_back(a[i].first);
  }
  return changed;
}

// The built-in entry `name` (kNotFound when there is none).
StatusOr<provider::ProviderDefinition> Builtin(std::string_view name) {
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

}  // namespace

std::string EndpointsDigest(const provider::ProviderDefinition& definition) {
  std::string text;
  for (const auto& [field, value] : EndpointFields(definition))
    text += std::string(field) + "=" + value + "\n";
  std::array<std::uint8_t, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(text.data()), text.size());
  return HexEncode(digest);
}

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
  return Builtin(name);
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
                                                             std::string_view source_name,
                                                             const AddOptions& options) {
  LATCHKEY_ASSIGN_OR_RETURN(provider::ProviderDefinition definition,
                            provider::ParseProvider(toml_text, source_name));
  LATCHKEY_RETURN_IF_ERROR(CheckEnvReferences(env_policy_, definition));
  if (definition.is_template() && !definition.client_secret.literal.empty()) {
    return InvalidArgumentError(
        "provider '" + definition.name +
        "' is a template: name its client secret with env:NAME, as each tenant's entry "
        "made from it is an entry of its own");
  }
  // The operator set a built-in's own secret variable (LATCHKEY_GITHUB_CLIENT_SECRET) for
  // that provider's real endpoints: an entry that overrides the built-in and moves them
  // would post the secret to its own host, so it must name another variable.
  if (!definition.client_secret.env_var.empty()) {
    StatusOr<provider::ProviderDefinition> builtin = Builtin(definition.name);
    if (builtin.ok() && builtin->client_secret.env_var == definition.client_secret.env_var) {
      if (std::vector<std::string> moved = ChangedEndpoints(*builtin, definition); !moved.empty()) {
        return InvalidArgumentError(
            "provider '" + definition.name + "' changes the built-in entry's " + Joined(moved) +
            ", so it may not read the built-in's secret from env:" + definition.client_secret.env_var +
            " (set for the real provider): name another variable (env:LATCHKEY_SECRET_...) "
            "or give the secret itself");
      }
    }
  }
  std::vector<std::string> changed;
  std::vector<std::string> users;
  if (StatusOr<provider::ProviderDefinition> before = Get(definition.name); before.ok()) {
    changed = ChangedEndpoints(*before, definition);
  } else if (before.status().code() != StatusCode::kNotFound) {
    // Without the entry it replaces, no one can tell which endpoints move: refuse.
    return before.status().WithContext("cannot read the current entry of provider '" + definition.name + "'");
  }
  if (!changed.empty() || definition.is_template()) {
    LATCHKEY_ASSIGN_OR_RETURN(std::vector<store::ConnectionRecord> all, store_->ListConnections());
    for (const store::ConnectionRecord& connection : all) {
      if (connection.provider == definition.name &&
          connection.status != store::ConnectionStatus::kDisconnected) {
        users.push_back(connection.name);
      }
    }
  }
  if (!users.empty() && definition.is_template()) {
    return FailedPreconditionError("provider '" + definition.name + "' is used by " +
                                   std::to_string(users.size()) + " connection(s) (" + Joined(users) +
                                   "), and a template cannot serve a connection: add it under another name");
  }
  if (!users.empty() && !options.change_endpoints) {
    return FailedPreconditionError(
        "provider '" + definition.name + "' is used by " + std::to_string(users.size()) + " connection(s) (" +
        Joined(users) + "), and this entry changes " + Joined(changed) +
        ": their tokens and calls would go to the new place. If that is what you want, add it again with "
        "--change-endpoints (admin API: POST /v1/providers?change_endpoints=true)");
  }
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
  if (!users.empty()) RecordEndpointChange(definition.name, record.definition, changed, users, options.by);
  return definition;
}

StatusOr<provider::ProviderDefinition> ProviderRegistry::Instantiate(
    std::string_view template_name, const std::map<std::string, std::string>& values, std::string name,
    const AddOptions& options) {
  LATCHKEY_ASSIGN_OR_RETURN(provider::ProviderDefinition definition, Get(template_name));
  if (!definition.is_template()) {
    return InvalidArgumentError("provider '" + definition.name + "' is not a template: it takes no --param");
  }
  std::string text;
  if (StatusOr<store::ProviderRecord> record = store_->GetProvider(template_name); record.ok()) {
    text = record->definition;
  } else if (record.status().code() != StatusCode::kNotFound) {
    return record.status();
  } else if (std::optional<std::string_view> builtin = provider::BuiltinProviderText(template_name)) {
    text = *builtin;
  } else {
    return NotFoundError("no text for the template '" + std::string(template_name) + "'");
  }
  if (name.empty())
    name = provider::TemplateInstanceName(template_name, definition.template_variables, values);
  if (name.empty()) {
    return InvalidArgumentError(
        "these values make too long a provider name: choose one with --provider-name");
  }
  if (provider::BuiltinProviderText(name)) {
    return InvalidArgumentError("'" + name +
                                "' is the name of a built-in entry: choose another with --provider-name");
  }
  LATCHKEY_ASSIGN_OR_RETURN(
      std::string instance,
      provider::InstantiateTemplate(text, "template '" + definition.name + "'", values, name));
  // The same instance again is a no-op; anything else under that name (another tenant
  // whose values make the same default name, an operator's own entry) is never replaced
  // from here: its connections and secret variables would follow the new values.
  if (StatusOr<store::ProviderRecord> existing = store_->GetProvider(name); existing.ok()) {
    LATCHKEY_ASSIGN_OR_RETURN(std::string stored, provider::StripLiteralClientSecret(instance));
    if (existing->definition != stored) {
      return AlreadyExistsError(
          "provider '" + name +
          "' exists already with other values: choose another name with --provider-name");
    }
  } else if (existing.status().code() != StatusCode::kNotFound) {
    return existing.status();
  }
  return Add(instance, "template '" + definition.name + "'", options);
}

void ProviderRegistry::RecordEndpointChange(const std::string& name, std::string_view stored_text,
                                            const std::vector<std::string>& changed,
                                            const std::vector<std::string>& users, const std::string& by) {
  const TimePoint now = clock_.Now();
  spdlog::warn("provider '{}': {} changed by {} while {} connection(s) use it ({})", name, Joined(changed),
               by, users.size(), Joined(users));
  store::AuditRecord audit;
  audit.at = now;
  audit.agent = by;
  audit.method = "PROVIDER";
  audit.path = "/providers/" + name + " changed: " + Joined(changed);
  audit.code = "provider_changed";
  if (Status written = store_->AppendAudit(audit); !written.ok()) {
    spdlog::error("provider '{}': cannot audit the change: {}", name, written.message());
  }
  const std::string revision = std::to_string(std::hash<std::string_view>{}(stored_text));
  Status queued = store_->EnqueueAlert(
      MakeProviderAlert("provider.changed", name, revision, now,
                        {{"fields", Joined(changed)}, {"connections", Joined(users)}, {"by", by}}));
  if (!queued.ok() && queued.code() != StatusCode::kAlreadyExists) {
    spdlog::error("provider '{}': cannot queue the provider.changed alert: {}", name, queued.message());
  }
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
