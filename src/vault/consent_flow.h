// ConsentFlows: how a connection gets its first grant (SPEC §3): authorization code with
// PKCE + state (+ nonce for OIDC), the device authorization grant (RFC 8628) and the
// client credentials grant. Between the two halves of the authorization code flow the
// only state is a PendingAuthorization row in the store (keyed by a hash of `state`,
// verifier sealed, single use), so the half that receives the callback may run in
// another process than the one that began it. The authorization code and the tokens are
// never logged nor returned: they go straight into ConnectionVault::SaveGrant.
// Two defences against a consent completed by the wrong party (issue 19 item 1, 2):
//  - Binding: BeginAuthorization returns a secret whose hash the pending row keeps; the
//    callback must show it (the daemon keeps it in a cookie of the browser that started
//    the flow, the CLI in memory). A callback without it stores nothing, so a `state`
//    that leaked to an agent is worth nothing.
//  - Account: the grant's account (AccountIdentities: the ID token verified, or the
//    provider's identity endpoint) must be the connection's, unless the human chose
//    "switch account" (ConnectionVault::SaveGrant). A grant refused either way is revoked
//    at the provider where it can be.
// Thread-safe: every part it holds is; waiting (device polling) uses the injected sleep.
//
//   ConsentFlows flows(vault, oauth_clients, clock, random);
//   LATCHKEY_ASSIGN_OR_RETURN(auto start, flows.BeginAuthorization("google", "work-gmail", {}, redirect));
//   ... the browser comes back to the redirect URI with ?state=...&code=...
//   LATCHKEY_ASSIGN_OR_RETURN(auto connection, flows.CompleteAuthorization(callback));
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/random.h"
#include "common/secret_string.h"
#include "common/status.h"
#include "oauth/token_result.h"
#include "store/records.h"
#include "vault/account_identity.h"
#include "vault/oauth_clients.h"
#include "vault/vault.h"

namespace latchkey::vault {

// How long a started authorization may wait for its callback.
inline constexpr std::chrono::minutes kPendingAuthorizationLifetime{10};

struct AuthorizationStart {
  std::string url;       // where to send the user's browser
  std::string state;     // also inside `url`; the store keeps only its hash
  SecretString binding;  // the callback must show it; the store keeps only its hash
  TimePoint expires_at;
};

// How a consent was asked for, beyond provider, connection and scopes.
struct ConsentOptions {
  // Adds the provider's incremental-consent parameters (Google include_granted_scopes),
  // for a URL that asks only for missing scopes.
  bool incremental = false;
  // The human chose "switch account": the grant may belong to another account than the
  // connection's (connection.account_changed is raised).
  bool allow_account_switch = false;
  std::string asked_by;  // the agent whose request led here, or ""
};

// The query parameters of the redirect back from the authorization server.
struct AuthorizationCallback {
  std::string state;
  SecretString code;
  std::string error;  // RFC 6749 §4.1.2.1, e.g. "access_denied"
  std::string error_description;
  std::string iss;       // RFC 9207, when the server sends it
  SecretString binding;  // AuthorizationStart::binding, from wherever the starter kept it
};

// Options of the device flow that only tests and impatient operators change.
struct DeviceFlowOptions {
  // Poll at this interval instead of the one the server asked for (it may then answer
  // slow_down, which still adds 5 s as RFC 8628 §3.5 says).
  std::optional<Duration> poll_interval;
  // Called when the server answers slow_down, with the new interval (for a progress line).
  std::function<void(Duration)> on_slow_down;
  // The grant may belong to another account than the connection's (see ConsentOptions).
  bool allow_account_switch = false;
};

class ConsentFlows {
 public:
  // All references must outlive the object.
  ConsentFlows(Vault& vault, const OAuthClients& clients, const Clock& clock, Random& random);

  // Starts an authorization code flow for connection `connection_name`: stores a pending
  // authorization and returns the URL for the browser and the binding secret the
  // callback must show. `scopes` empty = the provider's.
  StatusOr<AuthorizationStart> BeginAuthorization(std::string_view provider_name,
                                                  std::string_view connection_name,
                                                  const std::vector<std::string>& scopes,
                                                  std::string_view redirect_uri,
                                                  const ConsentOptions& options = {});

  // Finishes it with the callback's parameters: consumes the pending authorization (once),
  // checks the callback (binding, RFC 9207 issuer), exchanges the code, learns the
  // account and stores the grant. kNeedsHuman when the user or the server refused
  // consent; kPermissionDenied when the callback is not bound to the flow's starter, the
  // ID token fails a check, or the account differs (see SaveGrant): nothing is stored,
  // and a grant already issued is revoked (unless it holds the connection's own token);
  // kFailedPrecondition when the account cannot be shown to be the connection's: nothing
  // is stored and nothing revoked (it may be the same account's grant).
  StatusOr<store::ConnectionRecord> CompleteAuthorization(const AuthorizationCallback& callback);

  // Device authorization grant: starts it, hands the user code to `show_user_code`, then
  // polls, calling `sleep` between polls, until the user approves or refuses or the code
  // expires.
  StatusOr<store::ConnectionRecord> RunDeviceFlow(
      std::string_view provider_name, std::string_view connection_name,
      const std::vector<std::string>& scopes,
      const std::function<void(const oauth::DeviceAuthorization&)>& show_user_code,
      const std::function<void(Duration)>& sleep, const DeviceFlowOptions& options = {});

  // Client credentials grant: a connection without a user (CredentialKind::kClientCredentials).
  StatusOr<store::ConnectionRecord> ObtainClientCredentials(std::string_view provider_name,
                                                            std::string_view connection_name,
                                                            const std::vector<std::string>& scopes);

 private:
  Vault& vault_;
  const OAuthClients& clients_;
  const Clock& clock_;
  Random& random_;
  AccountIdentities identities_;

  // Learns the account of a new grant and stores it (SaveGrant); on refusal revokes the
  // grant at the provider and says so in the error.
  StatusOr<store::ConnectionRecord> Store(std::string_view connection_name,
                                          const provider::ProviderDefinition& provider,
                                          const oauth::TokenResponse& tokens,
                                          const std::vector<std::string>& scopes, std::string_view nonce,
                                          bool allow_account_switch);
  // Whether the new grant holds a token connection `connection_name` has stored (Slack
  // answers a re-install with the same bot token): revoking it would end that connection.
  bool SharesAToken(std::string_view connection_name, const oauth::TokenResponse& tokens) const;
};

// Hex SHA-256 of a binding secret, as PendingAuthorization::binding_hash keeps it.
std::string BindingHash(const SecretString& binding);

// The pending-authorization id for a `state`: hex SHA-256, so a leaked store row does not
// reveal a state an attacker could replay.
std::string PendingAuthorizationId(std::string_view state);

}  // namespace latchkey::vault
