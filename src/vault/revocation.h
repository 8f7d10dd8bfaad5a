// Revokes a connection's tokens at its provider (RFC 7009) before `disconnect` wipes
// them, so a disconnected grant is dead at the source too. Revoking the refresh token
// ends the whole grant at most providers; the access token is revoked when there is no
// refresh token. Failures are reported, never fatal: the local wipe must happen anyway.
// Thread-safe.
#pragma once

#include <string>

#include "store/records.h"
#include "vault/oauth_clients.h"
#include "vault/vault.h"

namespace latchkey::vault {

// One sentence saying what happened ("revoked at the provider", "the provider has no
// revocation endpoint", "revocation failed: ...").
std::string RevokeAtProvider(Vault& vault, const OAuthClients& clients,
                             const store::ConnectionRecord& connection);

// The same for a grant that was never stored (a consent refused after the code
// exchange): `provider` as resolved.
std::string RevokeGrant(const OAuthClients& clients, const provider::ProviderDefinition& provider,
                        const oauth::TokenResponse& tokens);

}  // namespace latchkey::vault
