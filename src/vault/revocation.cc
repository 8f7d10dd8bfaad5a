#include "vault/revocation.h"

namespace latchkey::vault {
namespace {

// Revokes the refresh token, or the access token when there is none, at `provider`.
std::string Revoke(const OAuthClients& clients, const provider::ProviderDefinition& provider,
                   const SecretString& refresh_token, const SecretString& access_token) {
  if (provider.revocation_url.empty())
    return "not revoked: provider '" + provider.name + "' has no revocation endpoint";
  StatusOr<std::unique_ptr<oauth::TokenClient>> client = clients.For(provider);
  if (!client.ok()) return "not revoked at the provider: " + client.status().message();
  const bool use_refresh = !refresh_token.empty();
  const SecretString& token = use_refresh ? refresh_token : access_token;
  if (token.empty()) return "nothing to revoke at the provider (no token stored)";
  oauth::RevokeResult revoked = (*client)->Revoke(token, use_refresh ? "refresh_token" : "access_token");
  if (!revoked.ok()) return "revocation at the provider failed (" + revoked.error().ToString() + ")";
  return std::string("the ") + (use_refresh ? "grant" : "access token") + " was revoked at the provider";
}

}  // namespace

std::string RevokeAtProvider(Vault& vault, const OAuthClients& clients,
                             const store::ConnectionRecord& connection) {
  if (!store::IsOAuth(connection.kind)) {
    return "nothing to revoke at the provider (not an OAuth connection)";
  }
  StatusOr<provider::ProviderDefinition> provider = clients.Resolve(connection.provider);
  if (!provider.ok()) return "not revoked at the provider: " + provider.status().message();
  StatusOr<ConnectionSecrets> secrets = vault.connections().ReadSecrets(connection);
  if (!secrets.ok()) return "not revoked at the provider: " + secrets.status().message();
  return Revoke(clients, *provider, secrets->refresh_token, secrets->access_token);
}

std::string RevokeGrant(const OAuthClients& clients, const provider::ProviderDefinition& provider,
                        const oauth::TokenResponse& tokens) {
  return Revoke(clients, provider, tokens.refresh_token, tokens.access_token);
}

}  // namespace latchkey::vault
