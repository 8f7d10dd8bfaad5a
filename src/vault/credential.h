// Credential: how a connection's secret goes into a request to its API. The one place
// that knows the forms: an OAuth access token as "Authorization: <type> <token>", an API
// key in the provider's header or query parameter after its prefix, HTTP Basic from the
// username and password. The proxy, `latchkey connection test` and the account identity
// lookup inject through it.
#pragma once

#include <string>
#include <string_view>

#include "common/secret_string.h"
#include "provider/provider.h"
#include "store/records.h"
#include "vault/connection_vault.h"

namespace latchkey::vault {

struct Credential {
  std::string header;  // the header that carries it ("Authorization", "X-Api-Key"), or empty when
  std::string query;   // the query parameter does
  SecretString value;  // as sent: "Bearer at-1", "Basic dXNlcjpwdw==", "pfx-key" (not yet encoded)

  // An OAuth access token of type `token_type` ("Bearer" when empty or any case of it).
  static Credential ForAccessToken(std::string_view token_type, const SecretString& access_token);
  // The static secret of an API key or Basic connection, opened into `secrets`.
  static Credential ForStaticSecret(const store::ConnectionRecord& connection,
                                    const provider::ProviderDefinition& provider,
                                    const ConnectionSecrets& secrets);
};

}  // namespace latchkey::vault
