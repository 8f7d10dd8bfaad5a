// ConnectionVault: connections and their sealed credentials. Every secret column of a
// connection row is sealed with associated data ("connections", row id, column), so
// a ciphertext copied to another row or column does not open. Errors name the
// connection and never include a secret. Thread-safe; state lives in the store.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/random.h"
#include "common/secret_string.h"
#include "common/status.h"
#include "oauth/token_result.h"
#include "store/store.h"
#include "vault/account_identity.h"
#include "vault/import_document.h"
#include "vault/key_manager.h"
#include "vault/provider_registry.h"
#include "vault/refresh_forecast.h"

namespace latchkey::vault {

// The plaintext credentials of a connection, unsealed on demand.
struct ConnectionSecrets {
  SecretString access_token;
  SecretString refresh_token;
  SecretString api_key;
  SecretString password;
};

// Who a consent's grant belongs to (AccountIdentities), and what the human allowed.
struct GrantOwner {
  Account account;              // id "" = unknown
  std::string unknown_because;  // why the account is unknown, when it is
  bool allow_switch = false;    // the human chose "switch account"
};

struct ImportRequest {
  std::string name;
  std::string provider;
  std::string document;  // the JSON document; wiped by Import
  std::string source;    // names the document in messages
  bool replace = false;  // overwrite the credentials of an existing connection
};

// True for a valid connection or agent name: [a-z0-9][a-z0-9._-]{0,63}.
bool IsValidSlug(std::string_view name);

class ConnectionVault {
 public:
  ConnectionVault(std::shared_ptr<store::Store> store, const KeyManager& keys,
                  const ProviderRegistry& providers, const Clock& clock, Random& random);

  StatusOr<store::ConnectionRecord> Import(ImportRequest request);
  StatusOr<store::ConnectionRecord> Get(std::string_view name) const;
  // When the connection's refresh token is forecast to stop working, by its provider's
  // rules as they are now (unknown when the provider entry is gone).
  RefreshForecast Forecast(const store::ConnectionRecord& connection) const;
  StatusOr<std::vector<store::ConnectionRecord>> List() const;
  StatusOr<ConnectionSecrets> ReadSecrets(const store::ConnectionRecord& connection) const;

  // The credential a caller may use now: the access token (OAuth, while not expired) or
  // the API key. kNeedsHuman for a connection that needs re-consent or whose token
  // expired with no way to refresh it yet.
  StatusOr<SecretString> CurrentCredential(std::string_view name) const;

  // Seals a token response into `record`: new access token, the new refresh token or,
  // when the response has none, `previous_refresh_token` (RFC 6749 §6: keep the old one),
  // granted scopes (the old ones when the response does not say), expiry, and a clean
  // refresh state. The token counts as obtained at `asked_at`, when its request left:
  // the provider's `expires_in` started before its answer arrived. Writes nothing: the
  // caller commits with UpdateConnection.
  StatusOr<store::ConnectionRecord> WithTokens(store::ConnectionRecord record,
                                               const oauth::TokenResponse& tokens,
                                               const SecretString& previous_refresh_token,
                                               TimePoint asked_at) const;

  // Stores the grant a consent flow obtained (authorization code, device, client
  // credentials): creates connection `name`, or replaces the tokens of the existing one
  // and makes it active again (re-consent), enqueueing connection.reconnected when it
  // needed re-consent. `requested_scopes` stand in when the response names none.
  // A user's re-consent must come back as the account the connection has: another account
  // is kPermissionDenied, and an account not known on either side (so not shown to be the
  // same) kFailedPrecondition; both store nothing, unless `owner.allow_switch`. Then the
  // connection moves to the new account, and connection.account_changed is raised in the
  // same write when its id changes.
  StatusOr<store::ConnectionRecord> SaveGrant(std::string_view name,
                                              const provider::ProviderDefinition& provider,
                                              const oauth::TokenResponse& tokens,
                                              const std::vector<std::string>& requested_scopes,
                                              store::CredentialKind kind = store::CredentialKind::kOAuth2,
                                              const GrantOwner& owner = {});

  // Wipes the credentials and marks the connection disconnected. Revocation at the
  // provider (RFC 7009) is the OAuth engine's job and happens before this is called.
  Status Disconnect(std::string_view name);

  // The operator's refresh-token rules for one connection, in place of its provider's
  // (nullopt: the provider's). Taken under the connection's lock, so that it never
  // races a refresh's write of a rotated token.
  StatusOr<store::ConnectionRecord> SetRefreshTokenRules(std::string_view name,
                                                         std::optional<std::chrono::seconds> lifetime,
                                                         std::optional<std::chrono::seconds> idle_lifetime);

 private:
  StatusOr<store::ConnectionRecord> Seal(store::ConnectionRecord record,
                                         const ImportedCredentials& credentials) const;
  // Seals `record` and hands it to `write`; if the store refuses it because the data key
  // was rotated away by another process meanwhile, reloads the keys and tries once more.
  Status SealAndWrite(const store::ConnectionRecord& record, const ImportedCredentials& credentials,
                      const std::function<Status(const store::ConnectionRecord&)>& write) const;

  std::shared_ptr<store::Store> store_;
  const KeyManager& keys_;
  const ProviderRegistry& providers_;
  const Clock& clock_;
  Random& random_;
};

}  // namespace latchkey::vault
