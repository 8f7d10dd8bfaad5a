// ConsentFlows: how a connection gets its first grant (SPEC §3): authorization code with
// PKCE + state (+ nonce for OIDC), the device authorization grant (RFC 8628) and the
// client credentials grant. Between the two halves of the authorization code flow the
// only state is a PendingAuthorization row in the store (keyed by a hash of `state`,
// verifier sealed, single use), so the half that receives the callback may run in
// another process than the one that began it. The authorization code and the tokens are
// never logged nor returned: they go straight into ConnectionVault::SaveGrant.
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
#include "vault/oauth_clients.h"
#include "vault/vault.h"

namespace latchkey::vault {

// How long a started authorization may wait for its callback.
inline constexpr std::chrono::minutes kPendingAuthorizationLifetime{10};

struct AuthorizationStart {
  std::string url;    // where to send the user's browser
  std::string state;  // also inside `url`; the store keeps only its hash
  TimePoint expires_at;
};

// The query parameters of the redirect back from the authorization server.
struct AuthorizationCallback {
  std::string state;
  SecretString code;
  std::string error;  // RFC 6749 §4.1.2.1, e.g. "access_denied"
  std::string error_description;
  std::string iss;  // RFC 9207, when the server sends it
};

// Options of the device flow that only tests and impatient operators change.
struct DeviceFlowOptions {
  // Poll at this interval instead of the one the server asked for (it may then answer
  // slow_down, which still adds 5 s as RFC 8628 §3.5 says).
  std::optional<Duration> poll_interval;
  // Called when the server answers slow_down, with the new interval (for a progress line).
  std::function<void(Duration)> on_slow_down;
};

class ConsentFlows {
 public:
  // All references must outlive the object.
  ConsentFlows(Vault& vault, const OAuthClients& clients, const Clock& clock, Random& random);

  // Starts an authorization code flow for connection `connection_name`: stores a pending
  // authorization and returns the URL for the browser. `scopes` empty = the provider's.
  // `incremental` adds the provider's incremental-consent parameters (Google
  // include_granted_scopes), for a URL that asks only for missing scopes.
  StatusOr<AuthorizationStart> BeginAuthorization(std::string_view provider_name,
                                                  std::string_view connection_name,
                                                  const std::vector<std::string>& scopes,
                                                  std::string_view redirect_uri, bool incremental = false);

  // Finishes it with the callback's parameters: consumes the pending authorization (once),
  // checks the callback, exchanges the code and stores the grant. kNeedsHuman when the
  // user or the server refused consent.
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
};

// The pending-authorization id for a `state`: hex SHA-256, so a leaked store row does not
// reveal a state an attacker could replay.
std::string PendingAuthorizationId(std::string_view state);

}  // namespace latchkey::vault
