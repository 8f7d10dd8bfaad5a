#include "vault/oauth_clients.h"

#include <cstdlib>

#include "oauth/discovery.h"

namespace latchkey::vault {
namespace {

void FillIfEmpty(std::string& field, const std::string& discovered) {
  if (field.empty()) field = discovered;
}

}  // namespace

StatusOr<std::string> OAuthClients::ClientId(const provider::ProviderDefinition& definition) const {
  return providers_.ClientId(definition);
}

OAuthClients::OAuthClients(const ProviderRegistry& providers, oauth::HttpClient& http, const Clock& clock,
                           oauth::HttpLimits limits)
    : providers_(providers), http_(http), clock_(clock), limits_(std::move(limits)) {}

StatusOr<provider::ProviderDefinition> OAuthClients::Resolve(std::string_view provider_name) const {
  LATCHKEY_ASSIGN_OR_RETURN(provider::ProviderDefinition definition, providers_.Get(provider_name));
  LATCHKEY_RETURN_IF_ERROR(provider::RequireConcrete(definition));
  if (definition.auth != provider::AuthKind::kOAuth2) {
    return FailedPreconditionError("provider '" + definition.name + "' uses " +
                                   std::string(provider::AuthKindName(definition.auth)) + ", not OAuth 2.0");
  }
  const bool complete = !definition.token_url.empty() && !definition.authorization_url.empty();
  if (complete || definition.issuer.empty()) return definition;

  oauth::AuthorizationServerMetadata metadata;
  {
    std::lock_guard lock(mutex_);
    auto cached = discovered_.find(definition.issuer);
    if (cached != discovered_.end()) metadata = cached->second;
  }
  if (metadata.token_endpoint.empty()) {
    StatusOr<oauth::AuthorizationServerMetadata> found =
        oauth::MetadataDiscovery(http_, limits_).Discover(definition.issuer);
    if (!found.ok()) {
      return found.status().WithContext("discovering the endpoints of provider '" + definition.name +
                                        "' from " + definition.issuer);
    }
    metadata = *found;
    std::lock_guard lock(mutex_);
    discovered_[definition.issuer] = metadata;
  }
  FillIfEmpty(definition.authorization_url, metadata.authorization_endpoint);
  FillIfEmpty(definition.token_url, metadata.token_endpoint);
  FillIfEmpty(definition.revocation_url, metadata.revocation_endpoint);
  FillIfEmpty(definition.device_authorization_url, metadata.device_authorization_endpoint);
  FillIfEmpty(definition.userinfo_url, metadata.userinfo_endpoint);
  FillIfEmpty(definition.jwks_url, metadata.jwks_uri);
  definition.authorization_response_iss = metadata.authorization_response_iss_parameter_supported;
  return definition;
}

StatusOr<std::unique_ptr<oauth::TokenClient>> OAuthClients::For(
    const provider::ProviderDefinition& resolved) const {
  if (resolved.token_url.empty()) {
    return FailedPreconditionError("provider '" + resolved.name +
                                   "' has no token_url and no issuer to discover it from");
  }
  LATCHKEY_ASSIGN_OR_RETURN(std::string client_id, ClientId(resolved));
  if (client_id.empty()) {
    return NeedsHumanError("provider '" + resolved.name +
                           "' has no client_id: add one with `latchkey provider add`");
  }
  LATCHKEY_ASSIGN_OR_RETURN(SecretString secret, providers_.ClientSecret(resolved));
  return std::make_unique<oauth::TokenClient>(resolved, std::move(client_id), std::move(secret), http_,
                                              clock_, limits_);
}

}  // namespace latchkey::vault
