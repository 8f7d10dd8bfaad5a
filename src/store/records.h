// The rows latchkey persists. Plain values: the store neither encrypts nor decrypts;
// fields of type Ciphertext hold sealed bytes made by crypto/ (see vault/), so the
// store never sees a plaintext secret. Every secret-bearing row names the data key
// that sealed it (data_key_id), which lets the store refuse a row sealed under a key
// that was rotated away.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/encoding.h"

namespace latchkey::store {

using Ciphertext = Bytes;

// A data key wrapped (encrypted) by one master key. A data key may have several
// wrappers while a master-key rotation is in flight; see vault/key_manager.h.
struct WrappedDataKey {
  int64_t data_key_id = 0;    // chosen by the caller (random, positive)
  std::string master_key_id;  // fingerprint of the wrapping master key
  Bytes wrapped;              // sealed data key
  TimePoint created_at;

  friend bool operator==(const WrappedDataKey&, const WrappedDataKey&) = default;
};

// One sealed secret somewhere in the store, addressed by table, row and column.
// Used for data-key rotation and for tests; the vault otherwise reads secrets through
// the typed records below.
struct SecretCell {
  std::string table;   // "connections" | "providers" | "pending_authorizations"
  std::string row_id;  // the row's primary key
  std::string column;  // e.g. "access_token"
  Ciphertext value;

  friend bool operator==(const SecretCell&, const SecretCell&) = default;
};

struct ProviderRecord {
  std::string name;                         // slug, primary key
  std::string definition;                   // the provider TOML, with any literal secret removed
  std::optional<Ciphertext> client_secret;  // sealed literal client secret, if one was given
  std::optional<int64_t> data_key_id;       // set when client_secret is
  TimePoint created_at;
  TimePoint updated_at;

  friend bool operator==(const ProviderRecord&, const ProviderRecord&) = default;
};

enum class ConnectionStatus { kPending, kActive, kNeedsReauth, kDisconnected };
std::string_view ConnectionStatusName(ConnectionStatus status);  // "pending", "active", ...
std::optional<ConnectionStatus> ParseConnectionStatus(std::string_view name);

// kClientCredentials: an OAuth connection with no user grant; its token is obtained
// again with the client credentials grant instead of refreshed.
enum class CredentialKind { kOAuth2, kClientCredentials, kApiKey, kBasic };
std::string_view CredentialKindName(
    CredentialKind kind);  // "oauth2" | "client_credentials" | "api_key" | "basic"
std::optional<CredentialKind> ParseCredentialKind(std::string_view name);
// Holds OAuth tokens: refreshed at the token endpoint, retried after a 401, revocable.
constexpr bool IsOAuth(CredentialKind kind) {
  return kind == CredentialKind::kOAuth2 || kind == CredentialKind::kClientCredentials;
}
// A grant a person gave (kOAuth2): it has an account, a consent link and reconnect
// link, and needs a person again when it dies. A client-credentials grant has none.
constexpr bool HasUserGrant(CredentialKind kind) { return kind == CredentialKind::kOAuth2; }

struct ConnectionRecord {
  std::string id;        // random, immutable; bound into every ciphertext of the row
  std::string name;      // operator's slug; unique among connections not disconnected
  std::string provider;  // provider name
  CredentialKind kind = CredentialKind::kOAuth2;
  ConnectionStatus status = ConnectionStatus::kActive;
  std::string account;  // display identity (email, login), may be empty
  // The stable id of the account the grant belongs to (the ID token's `sub`, or the
  // provider's identity endpoint's id); empty when unknown. Re-consent must come back
  // with the same one unless a human chose to switch accounts.
  std::string account_id;
  std::vector<std::string> scopes;      // granted scopes
  std::string api_base_url;             // per-connection override (e.g. Salesforce instance_url)
  std::string token_type;               // "Bearer" for most
  std::optional<TimePoint> expires_at;  // access-token expiry, if known

  // Sealed secrets; which ones are set depends on kind.
  std::optional<Ciphertext> access_token;
  std::optional<Ciphertext> refresh_token;
  std::optional<Ciphertext> api_key;
  std::optional<Ciphertext> password;
  std::string username;                // basic auth user name (not secret)
  std::optional<int64_t> data_key_id;  // the key that sealed the secrets above

  // Bumped by every change of the token set; writers compare-and-swap on it (fencing).
  int64_t token_version = 0;
  std::optional<TimePoint> last_refresh_at;
  std::optional<TimePoint> needs_reauth_since;
  std::string last_error;  // one sentence, never a secret

  // Refresh state (OAuth engine).
  std::optional<TimePoint> token_obtained_at;        // when the current access token was issued
  int refresh_failures = 0;                          // consecutive transient failures ("degraded" when > 0)
  std::optional<TimePoint> next_refresh_attempt_at;  // backoff: no refresh before this
  std::optional<TimePoint> refresh_started_at;       // set durably while a refresh request is in flight
  TimePoint created_at;
  TimePoint updated_at;

  // What the refresh token's end is forecast from (vault/refresh_forecast.h).
  std::optional<TimePoint>
      consented_at;  // the grant began (consent or import); absolute lifetimes count from it
  std::optional<TimePoint>
      refresh_server_expires_at;  // the token endpoint's own figure, from its last answer
  // The operator's rules for this connection, in place of the provider's.
  std::optional<std::chrono::seconds> refresh_lifetime_override;
  std::optional<std::chrono::seconds> refresh_idle_lifetime_override;
  std::optional<TimePoint> expiring_alerted_for;  // the forecast a connection.expiring alert was raised for

  friend bool operator==(const ConnectionRecord&, const ConnectionRecord&) = default;
};

struct AgentRecord {
  std::string id;                  // random, immutable; also the public part of the agent key
  std::string name;                // unique
  Bytes key_hash;                  // hash of the secret part of the key (crypto/agent_key.h)
  std::vector<std::string> rules;  // policy rules as written, CONNECTION[:METHODS[:PATH_GLOB]]
  TimePoint created_at;
  std::optional<TimePoint> revoked_at;

  friend bool operator==(const AgentRecord&, const AgentRecord&) = default;
};

// A token for the admin API (/v1); like an agent key, only its hash is kept.
struct AdminTokenRecord {
  std::string id;  // the public part of the token
  Bytes key_hash;
  TimePoint created_at;
  std::optional<TimePoint> revoked_at;

  friend bool operator==(const AdminTokenRecord&, const AdminTokenRecord&) = default;
};

struct AuditRecord {
  int64_t id = 0;  // assigned by the store
  TimePoint at;
  std::string agent;
  // The MCP client whose access token (latchkey's own OAuth server) made the call as
  // `agent`: its client_id, a Client ID Metadata Document URL or a registered "lkc_…".
  // Empty for agent keys and `latchkey mcp`, and in rows written before schema version 10.
  std::string client;
  std::string connection;
  std::string method;
  std::string path;         // query values already redacted
  int upstream_status = 0;  // 0 when the upstream was not contacted
  std::string code;         // latchkey problem code, empty on success
  int64_t latency_ms = 0;
  bool refreshed = false;

  friend bool operator==(const AuditRecord&, const AuditRecord&) = default;
};

struct AuditFilter {
  std::optional<std::string> agent;
  std::optional<std::string> connection;
  std::optional<std::string> code;
  std::optional<std::string> client;  // "" matches the calls made without an MCP client
  std::optional<int64_t> after_id;    // for live tails
  int limit = 100;
};

struct AlertEvent {
  std::string event_id;    // unique; receivers deduplicate on it
  std::string type;        // "connection.needs_reauth", ...
  std::string connection;  // may be empty (e.g. client.misconfigured names a provider)
  std::string payload;     // JSON document, never a secret
  TimePoint created_at;
  int attempts = 0;
  std::optional<TimePoint> next_attempt_at;
  std::optional<TimePoint> delivered_at;
  std::string last_error;

  friend bool operator==(const AlertEvent&, const AlertEvent&) = default;
};

struct PendingAuthorization {
  std::string id;               // hash of the `state` parameter (the state itself is not stored)
  std::string connection_name;  // the connection to create or reconnect
  std::string provider;
  std::vector<std::string> scopes;
  std::string redirect_uri;
  std::string nonce;         // OIDC nonce (not secret once sent)
  Ciphertext pkce_verifier;  // sealed
  int64_t data_key_id = 0;
  TimePoint created_at;
  TimePoint expires_at;
  std::optional<TimePoint> consumed_at;
  // Hex SHA-256 of the secret the flow's starter keeps (the browser's consent cookie, or
  // the CLI's memory); a callback that cannot show the secret stores nothing.
  std::string binding_hash;
  bool allow_account_switch = false;  // the human chose "switch account"
  std::string asked_by;               // the agent whose request led here, or ""
  std::string endpoints_digest;       // vault::EndpointsDigest of the provider at the start

  friend bool operator==(const PendingAuthorization&, const PendingAuthorization&) = default;
};

// latchkey's own OAuth authorization server for /mcp (issue 23).

// A client: the URL of its Client ID Metadata Document (what it says is cached here), or
// an id latchkey issued at dynamic registration (RFC 7591).
struct McpClientRecord {
  std::string client_id;
  bool metadata_document = false;  // client_id is the https URL of the client's document
  std::string name;                // as the client states it: shown as text, never trusted
  std::string logo_uri;            // likewise, shown as text
  std::vector<std::string> redirect_uris;
  std::string token_endpoint_auth_method;        // "none", "client_secret_basic", "client_secret_post"
  std::optional<Bytes> client_secret_hash;       // registered confidential clients only
  std::optional<TimePoint> document_expires_at;  // a document's cache lifetime
  TimePoint created_at;
  TimePoint updated_at;

  friend bool operator==(const McpClientRecord&, const McpClientRecord&) = default;
};

// What a human allowed a client: to act as `agent`, with these scopes.
struct McpConsentRecord {
  std::string client_id;
  std::string agent;
  std::vector<std::string> scopes;
  TimePoint created_at;
  std::optional<TimePoint> revoked_at;

  friend bool operator==(const McpConsentRecord&, const McpConsentRecord&) = default;
};

enum class McpTokenKind { kCode, kAccess, kRefresh };
std::string_view McpTokenKindName(McpTokenKind kind);  // "code" | "access" | "refresh"
std::optional<McpTokenKind> ParseMcpTokenKind(std::string_view name);

// An authorization code, access token or refresh token, by the hash of its value. One
// consent's code and every token issued from it share `family_id`, so replaying a used
// code or refresh token can end them all.
struct McpTokenRecord {
  Bytes token_hash;
  McpTokenKind kind = McpTokenKind::kAccess;
  std::string family_id;
  std::string client_id;
  std::string agent;
  std::string resource;  // RFC 8707: the token is good for this resource only
  std::vector<std::string> scopes;
  std::string redirect_uri;    // codes: the token request must repeat it
  std::string code_challenge;  // codes: PKCE S256 challenge
  TimePoint created_at;
  TimePoint expires_at;
  std::optional<TimePoint> used_at;  // codes and refresh tokens are used once
  std::optional<TimePoint> revoked_at;

  friend bool operator==(const McpTokenRecord&, const McpTokenRecord&) = default;
};

// What a store handed over at `at` tells whoever asks it to do `what` (e.g. "starts token
// refreshes"): where to go instead, and how to lift the fence if the move was abandoned.
std::string HandedOverReason(TimePoint at, std::string_view what);

}  // namespace latchkey::store
