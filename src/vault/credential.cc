#include "vault/credential.h"

#include "oauth/token_fields.h"

namespace latchkey::vault {

Credential Credential::ForAccessToken(std::string_view token_type, const SecretString& access_token) {
  return {
      .header = "Authorization", .query = {}, .value = oauth::AuthorizationValue(token_type, access_token)};
}

Credential Credential::ForStaticSecret(const store::ConnectionRecord& connection,
                                       const provider::ProviderDefinition& provider,
                                       const ConnectionSecrets& secrets) {
  if (connection.kind == store::CredentialKind::kBasic) {
    return {.header = "Authorization",
            .query = {},
            .value = oauth::BasicAuthorizationValue(connection.username, secrets.password)};
  }
  SecretString key = SecretString::Join({provider.api_key_prefix, secrets.api_key.reveal()});
  if (!provider.api_key_query.empty())
    return {.header = {}, .query = provider.api_key_query, .value = std::move(key)};
  return {.header = provider.api_key_header, .query = {}, .value = std::move(key)};
}

}  // namespace latchkey::vault
