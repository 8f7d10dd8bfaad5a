#include "vault/consent_flow.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <map>
#include <utility>

#include "common/encoding.h"
#include "common/log.h"
#include "oauth/form_encoding.h"
#include "oauth/pkce.h"
#include "oauth/token_fields.h"
#include "vault/revocation.h"

namespace latchkey::vault {
namespace {

constexpr std::string_view kPendingTable = "pending_authorizations";
constexpr std::string_view kVerifierColumn = "pkce_verifier";
constexpr std::size_t kMaxCallbackText = 300;
// RFC 8628 §3.5: every slow_down adds five seconds to the polling interval.
constexpr std::chrono::seconds kSlowDownStep{5};

std::string Quoted(std::string_view name) { return "connection '" + std::string(name) + "'"; }

// Text from the callback's query is attacker-controlled: printable ASCII only, bounded.
std::string Sanitized(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (out.size() >= kMaxCallbackText) break;
    if (c >= 0x20 && c < 0x7f) out += c;
  }
  return out;
}

Status RefusedConsent(std::string_view connection, std::string_view error, std::string_view description) {
  std::string detail = Sanitized(description);
  std::string suffix = detail.empty() ? "" : " (" + detail + ")";
  if (error == "access_denied") {
    return NeedsHumanError("consent was denied for " + Quoted(connection) + suffix +
                           "; run `latchkey connect` again to retry");
  }
  std::string message = "the authorization server refused to authorize " + Quoted(connection) + ": " +
                        Sanitized(error) + suffix;
  if (error == "server_error" || error == "temporarily_unavailable")
    return UnavailableError(std::move(message));
  return NeedsHumanError(std::move(message));
}

Status TokenFailure(const oauth::TokenError& error, std::string_view doing) {
  return oauth::TokenErrorToStatus(error).WithContext(doing);
}

}  // namespace

std::string PendingAuthorizationId(std::string_view state) {
  std::array<std::uint8_t, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(state.data()), state.size());
  return HexEncode(digest);
}

std::string BindingHash(const SecretString& binding) { return PendingAuthorizationId(binding.reveal()); }

ConsentFlows::ConsentFlows(Vault& vault, const OAuthClients& clients, const Clock& clock, Random& random)
    : vault_(vault), clients_(clients), clock_(clock), random_(random), identities_(clients.http(), clock) {}

StatusOr<AuthorizationStart> ConsentFlows::BeginAuthorization(std::string_view provider_name,
                                                              std::string_view connection_name,
                                                              const std::vector<std::string>& scopes,
                                                              std::string_view redirect_uri,
                                                              const ConsentOptions& options) {
  if (!IsValidSlug(connection_name)) {
    return InvalidArgumentError("'" + std::string(connection_name) + "' is not a valid connection name");
  }
  LATCHKEY_ASSIGN_OR_RETURN(provider::ProviderDefinition provider, clients_.Resolve(provider_name));
  if (provider.authorization_url.empty()) {
    return FailedPreconditionError("provider '" + provider.name +
                                   "' has no authorization_url: use --device or --client-credentials");
  }
  LATCHKEY_RETURN_IF_ERROR(clients_.For(provider));  // the client id and secret resolve

  const std::vector<std::string>& requested = scopes.empty() ? provider.scopes : scopes;
  oauth::PkcePair pkce = oauth::NewPkcePair(random_);
  std::string state = oauth::NewState(random_);
  SecretString binding(random_.Base64Url(32));
  bool oidc = false;
  for (const auto& scope : requested) oidc = oidc || scope == "openid";

  store::PendingAuthorization pending;
  pending.id = PendingAuthorizationId(state);
  pending.connection_name = std::string(connection_name);
  pending.provider = provider.name;
  pending.scopes = requested;
  pending.redirect_uri = std::string(redirect_uri);
  if (oidc) pending.nonce = oauth::NewNonce(random_);
  pending.created_at = clock_.Now();
  pending.expires_at = pending.created_at + kPendingAuthorizationLifetime;
  pending.binding_hash = BindingHash(binding);
  pending.allow_account_switch = options.allow_account_switch;
  pending.asked_by = options.asked_by;
  pending.endpoints_digest = EndpointsDigest(provider);
  LATCHKEY_ASSIGN_OR_RETURN(pending.data_key_id, vault_.keys().ActiveDataKeyId());
  LATCHKEY_ASSIGN_OR_RETURN(
      pending.pkce_verifier,
      vault_.keys().Seal(pkce.verifier.reveal(), {kPendingTable, pending.id, kVerifierColumn}));
  LATCHKEY_RETURN_IF_ERROR(vault_.store().InsertPendingAuthorization(pending));

  LATCHKEY_ASSIGN_OR_RETURN(std::string client_id, clients_.ClientId(provider));
  std::vector<std::pair<std::string, std::string>> params = {
      {"response_type", "code"},
      {"client_id", client_id},
      {"redirect_uri", std::string(redirect_uri)},
      {"state", state},
      {"code_challenge", pkce.challenge},
      {"code_challenge_method", pkce.method},
  };
  // No scopes (the app's settings decide them: Pipedrive, SurveyMonkey): no scope
  // parameter, as an empty one is an invalid scope to some servers.
  if (!requested.empty())
    params.emplace_back("scope", oauth::JoinScopes(requested, provider.scope_separator));
  if (oidc) params.emplace_back("nonce", pending.nonce);
  std::map<std::string, std::string> extra = provider.authorization_params;
  if (options.incremental) {
    for (const auto& [name, value] : provider.quirks.incremental_consent_params) extra[name] = value;
  }
  for (const auto& [name, value] : extra) {
    bool taken = false;
    for (const auto& param : params) taken = taken || param.first == name;
    if (!taken) params.emplace_back(name, value);
  }
  const char joiner = provider.authorization_url.find('?') == std::string::npos ? '?' : '&';
  return AuthorizationStart{
      .url = provider.authorization_url + joiner + oauth::FormEncodePairs(params),
      .state = std::move(state),
      .binding = std::move(binding),
      .expires_at = pending.expires_at,
  };
}

StatusOr<store::ConnectionRecord> ConsentFlows::CompleteAuthorization(const AuthorizationCallback& callback) {
  if (callback.state.empty()) {
    if (!callback.error.empty())
      return RefusedConsent("(unknown)", callback.error, callback.error_description);
    return InvalidArgumentError("the authorization callback has no 'state' parameter");
  }
  LATCHKEY_ASSIGN_OR_RETURN(
      store::PendingAuthorization pending,
      vault_.store().ConsumePendingAuthorization(PendingAuthorizationId(callback.state), clock_.Now()));
  // Before anything else, even an error: only the starter of the flow may end it.
  const std::string shown = callback.binding.empty() ? std::string() : BindingHash(callback.binding);
  if (pending.binding_hash.empty() || shown.size() != pending.binding_hash.size() ||
      sodium_memcmp(shown.data(), pending.binding_hash.data(), shown.size()) != 0) {
    return PermissionDeniedError(
        "the authorization callback for " + Quoted(pending.connection_name) +
        " did not come from the browser (or terminal) that started the consent: it lacks the consent "
        "cookie; nothing was stored. Open the consent link again in the browser where you approve it");
  }
  if (!callback.error.empty()) {
    return RefusedConsent(pending.connection_name, callback.error, callback.error_description);
  }
  LATCHKEY_ASSIGN_OR_RETURN(provider::ProviderDefinition provider, clients_.Resolve(pending.provider));
  // The code, the verifier and the client secret go only where the consent began.
  if (!pending.endpoints_digest.empty() && pending.endpoints_digest != EndpointsDigest(provider)) {
    return PermissionDeniedError("provider '" + provider.name +
                                 "' was changed (its endpoints) after the consent for " +
                                 Quoted(pending.connection_name) +
                                 " began; nothing was sent to its token endpoint and nothing was stored. "
                                 "Start the consent again");
  }
  // RFC 9207: a response naming another issuer is a mix-up attack (or a misconfiguration);
  // one without `iss` from a server that promises to send it may be one too.
  if (!callback.iss.empty() && !provider.issuer.empty() && callback.iss != provider.issuer) {
    return PermissionDeniedError("the authorization response for " + Quoted(pending.connection_name) +
                                 " came from issuer '" + Sanitized(callback.iss) + "', not '" +
                                 provider.issuer + "' (RFC 9207 mix-up check); nothing was stored");
  }
  if (callback.iss.empty() && provider.authorization_response_iss) {
    return PermissionDeniedError("the authorization response for " + Quoted(pending.connection_name) +
                                 " has no 'iss' parameter, though issuer '" + provider.issuer +
                                 "' says it always sends one (RFC 9207); nothing was stored");
  }
  if (callback.code.empty()) {
    return InvalidArgumentError("the authorization callback for " + Quoted(pending.connection_name) +
                                " has neither 'code' nor 'error'");
  }
  LATCHKEY_ASSIGN_OR_RETURN(
      SecretString verifier,
      vault_.keys().Unseal(pending.pkce_verifier, {kPendingTable, pending.id, kVerifierColumn}));
  LATCHKEY_ASSIGN_OR_RETURN(std::unique_ptr<oauth::TokenClient> client, clients_.For(provider));
  oauth::TokenResult tokens = client->ExchangeCode(callback.code, pending.redirect_uri, verifier);
  if (!tokens.ok()) {
    return TokenFailure(tokens.error(),
                        "exchanging the authorization code for " + Quoted(pending.connection_name));
  }
  return Store(pending.connection_name, provider, *tokens, pending.scopes, pending.nonce,
               pending.allow_account_switch);
}

StatusOr<store::ConnectionRecord> ConsentFlows::Store(std::string_view connection_name,
                                                      const provider::ProviderDefinition& provider,
                                                      const oauth::TokenResponse& tokens,
                                                      const std::vector<std::string>& scopes,
                                                      std::string_view nonce, bool allow_account_switch) {
  GrantOwner owner;
  owner.allow_switch = allow_account_switch;
  LATCHKEY_ASSIGN_OR_RETURN(std::string client_id, clients_.ClientId(provider));
  StatusOr<Account> account = identities_.Identify(provider, tokens, client_id, nonce);
  Status refused = Status::Ok();
  if (account.ok()) {
    owner.account = *account;
  } else if (account.status().code() == StatusCode::kPermissionDenied ||
             account.status().code() == StatusCode::kInvalidArgument) {
    refused = account.status();  // an ID token that fails a check: never stored
  } else {
    owner.unknown_because = account.status().message();
    spdlog::warn("the account of the new grant for {} is unknown: {}", Quoted(connection_name),
                 owner.unknown_because);
  }
  if (refused.ok()) {
    StatusOr<store::ConnectionRecord> saved = vault_.connections().SaveGrant(
        connection_name, provider, tokens, scopes, store::CredentialKind::kOAuth2, owner);
    if (saved.ok()) return saved;
    // An account that could not be confirmed may be the connection's own: revoking its new
    // grant would end the stored one too at providers that revoke per user and client
    // (Google). Only a grant known to be another account's, or a forged ID token's, goes.
    if (saved.status().code() != StatusCode::kPermissionDenied) {
      if (saved.status().code() != StatusCode::kFailedPrecondition) return saved;
      return Status(saved.status().code(), saved.status().message() + " (the new grant was not revoked)");
    }
    refused = saved.status();
  }
  if (SharesAToken(connection_name, tokens)) {
    return Status(refused.code(),
                  refused.message() + "; the new grant was not revoked: it holds the connection's own token");
  }
  const std::string revoked = RevokeGrant(clients_, provider, tokens);
  return Status(refused.code(), refused.message() + "; " + revoked);
}

bool ConsentFlows::SharesAToken(std::string_view connection_name, const oauth::TokenResponse& tokens) const {
  StatusOr<store::ConnectionRecord> existing = vault_.connections().Get(connection_name);
  if (!existing.ok()) return false;
  StatusOr<ConnectionSecrets> stored = vault_.connections().ReadSecrets(*existing);
  if (!stored.ok()) return true;  // cannot tell: revoking might end the stored grant
  auto same = [](const SecretString& a, const SecretString& b) {
    return !a.empty() && a.reveal() == b.reveal();
  };
  return same(tokens.refresh_token, stored->refresh_token) || same(tokens.access_token, stored->access_token);
}

StatusOr<store::ConnectionRecord> ConsentFlows::RunDeviceFlow(
    std::string_view provider_name, std::string_view connection_name, const std::vector<std::string>& scopes,
    const std::function<void(const oauth::DeviceAuthorization&)>& show_user_code,
    const std::function<void(Duration)>& sleep, const DeviceFlowOptions& options) {
  if (!IsValidSlug(connection_name)) {
    return InvalidArgumentError("'" + std::string(connection_name) + "' is not a valid connection name");
  }
  LATCHKEY_ASSIGN_OR_RETURN(provider::ProviderDefinition provider, clients_.Resolve(provider_name));
  if (provider.device_authorization_url.empty()) {
    return FailedPreconditionError("provider '" + provider.name +
                                   "' has no device_authorization_url: it does not support the device flow");
  }
  LATCHKEY_ASSIGN_OR_RETURN(std::unique_ptr<oauth::TokenClient> client, clients_.For(provider));
  const std::vector<std::string>& requested = scopes.empty() ? provider.scopes : scopes;
  oauth::DeviceStartResult started = client->StartDevice(requested);
  if (!started.ok())
    return TokenFailure(started.error(), "starting the device flow for " + Quoted(connection_name));
  const oauth::DeviceAuthorization& device = *started;
  show_user_code(device);

  const TimePoint deadline = clock_.Now() + device.expires_in;
  Duration interval =
      options.poll_interval.value_or(std::max<Duration>(device.interval, std::chrono::seconds(1)));
  const Status expired =
      DeadlineExceededError("the device code for " + Quoted(connection_name) +
                            " expired before it was approved; run `latchkey connect --device` again");
  while (true) {
    if (clock_.Now() + interval > deadline) return expired;
    sleep(interval);
    oauth::TokenResult polled = client->PollDevice(device.device_code);
    if (polled.ok()) {
      return Store(connection_name, provider, *polled, requested, /*nonce=*/"", options.allow_account_switch);
    }
    switch (polled.error().kind) {
      case oauth::TokenErrorKind::kDevicePending: break;
      case oauth::TokenErrorKind::kDeviceSlowDown:
        interval += kSlowDownStep;
        if (options.on_slow_down) options.on_slow_down(interval);
        break;
      case oauth::TokenErrorKind::kDeviceExpired: return expired;
      case oauth::TokenErrorKind::kDeviceDenied:
        return RefusedConsent(connection_name, "access_denied", polled.error().description);
      case oauth::TokenErrorKind::kTransient:
      case oauth::TokenErrorKind::kProtocol: break;  // keep polling until the device code expires
      default: return TokenFailure(polled.error(), "polling the device flow for " + Quoted(connection_name));
    }
  }
}

StatusOr<store::ConnectionRecord> ConsentFlows::ObtainClientCredentials(
    std::string_view provider_name, std::string_view connection_name,
    const std::vector<std::string>& scopes) {
  if (!IsValidSlug(connection_name)) {
    return InvalidArgumentError("'" + std::string(connection_name) + "' is not a valid connection name");
  }
  LATCHKEY_ASSIGN_OR_RETURN(provider::ProviderDefinition provider, clients_.Resolve(provider_name));
  LATCHKEY_ASSIGN_OR_RETURN(std::unique_ptr<oauth::TokenClient> client, clients_.For(provider));
  const std::vector<std::string>& requested = scopes.empty() ? provider.scopes : scopes;
  oauth::TokenResult tokens = client->ClientCredentials(requested);
  if (!tokens.ok()) {
    return TokenFailure(tokens.error(),
                        "obtaining a client-credentials token for " + Quoted(connection_name));
  }
  return vault_.connections().SaveGrant(connection_name, provider, *tokens, requested,
                                        store::CredentialKind::kClientCredentials);
}

}  // namespace latchkey::vault
