// The token side of latchkey's own OAuth authorization server for /mcp (issue 23, plan
// step 2): after a human allowed a client to act as an agent, a single-use code; for the
// code (with its PKCE verifier) an access token and a rotating refresh token, each bound
// to the resource the client named (RFC 8707); and, for a bearer token presented at /mcp,
// the agent it acts as. No HTTP here: the routes (step 4) map the errors below to OAuth's.
//
// Only hashes of codes and tokens are stored. A used code or refresh token presented
// again revokes everything issued from the same consent (the family): whoever replays it
// holds a copy, and the client cannot tell which is the thief's (OAuth 2.1 §4.3.1).
// Each spend of a code or refresh token and the tokens it buys are one store transaction
// (Store::SpendMcpToken) that also checks the consent and its agent still stand; revoking
// either ends their tokens in one transaction too. So a token that is not revoked always
// has a standing consent. Thread-safe: the store's transactions make each use single.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/random.h"
#include "common/secret_string.h"
#include "common/status.h"
#include "vault/vault.h"

namespace latchkey::vault {

struct McpAuthorizationOptions {
  Duration code_lifetime = std::chrono::seconds(60);
  Duration access_token_lifetime = std::chrono::hours(1);
  // A refresh token unused this long ends (each refresh starts it again) ...
  Duration refresh_token_lifetime = std::chrono::hours(24 * 30);
  // ... and a family (one consent's code and every token issued from it) ends this long
  // after its code was issued, however often it was refreshed: a stolen refresh token
  // that keeps rotating does not live for ever. Then a human consents again.
  Duration family_lifetime = std::chrono::hours(24 * 90);
  // A refresh token presented again this soon after its first use is not a replay: a
  // client that refreshes from two requests at once (the SDK's event stream and a call),
  // or retries after a lost answer, gets tokens each time instead of losing its grant.
  Duration refresh_reuse_grace = std::chrono::seconds(10);
};

// What the human allowed on the consent page, and what the client's request named.
struct McpGrant {
  std::string client_id;
  std::string agent;
  std::string redirect_uri;
  std::string code_challenge;  // PKCE S256 (plain is refused before this)
  std::string resource;
  std::vector<std::string> scopes;
};

// A token response's contents (RFC 6749 §5.1).
struct McpTokens {
  SecretString access_token;
  SecretString refresh_token;
  Duration expires_in{};
  std::vector<std::string> scopes;
};

// Who a valid access token acts for.
struct McpCaller {
  std::string agent;
  std::string client_id;
  std::vector<std::string> scopes;
};

// RFC 8252 §7.3: a registered redirect URI matches only itself, except that a loopback
// one (http://127.0.0.1, http://[::1], http://localhost) matches on any port: a native
// client listens on whatever port is free.
bool RedirectUriMatches(std::string_view registered, std::string_view presented);

// The parameters of a request to the authorization endpoint.
struct McpAuthorizationRequest {
  std::string response_type;
  std::string client_id;
  std::string redirect_uri;
  std::string code_challenge;
  std::string code_challenge_method;
  std::string resource;
  std::string scope;
};

// What an access token of latchkey's authorization server starts with (an agent key
// starts with "lk_"), so /mcp knows which check a bearer token needs.
inline constexpr std::string_view kMcpAccessTokenPrefix = "lkma_";

// The scope latchkey's authorization server grants: acting as one agent at /mcp.
inline constexpr std::string_view kMcpScope = "mcp";

// Checks an authorization request from `client` for `resource` (`{public_url}/mcp`).
// kFailedPrecondition when the redirect URI is not the client's (RFC 6749 §4.1.2.1: the
// error is shown on the page, never sent to that URI); kInvalidArgument, naming the
// parameter, for anything else (sent to the redirect URI as invalid_request or
// invalid_scope). Returns the scopes to grant: those asked for, or "mcp" when none.
StatusOr<std::vector<std::string>> CheckAuthorizationRequest(const McpAuthorizationRequest& request,
                                                             const store::McpClientRecord& client,
                                                             std::string_view resource);

// A client made by dynamic registration (RFC 7591): its record, and its secret when its
// token_endpoint_auth_method takes one (shown to the client once, stored as a hash).
struct RegisteredClient {
  store::McpClientRecord client;
  SecretString client_secret;
};

class McpAuthorization {
 public:
  McpAuthorization(Vault& vault, const Clock& clock, Random& random, McpAuthorizationOptions options = {});

  // RFC 7591: reads the request (ParseClientMetadata), assigns a client_id ("lkc_…",
  // never an https URL, so it cannot pass for a metadata document) and, for a
  // confidential client, a secret; stores the client.
  StatusOr<RegisteredClient> Register(std::string_view request_json);

  // The token endpoint's client authentication: a public client ("none") shows no
  // secret; a confidential one must show its own. kUnauthenticated (OAuth invalid_client)
  // otherwise, the same sentence whatever was wrong.
  StatusOr<store::McpClientRecord> AuthenticateClient(std::string_view client_id,
                                                      const SecretString& client_secret) const;

  // Records the consent (client, agent) and returns a code for the redirect.
  StatusOr<SecretString> IssueCode(const McpGrant& grant);

  // The authorization_code grant. kPermissionDenied (OAuth invalid_grant) when the code is
  // unknown, expired, revoked or used, or when the client, redirect URI, verifier or
  // resource differ from the authorization request's; a used code presented with all of
  // those right also revokes what it issued.
  StatusOr<McpTokens> ExchangeCode(const SecretString& code, std::string_view client_id,
                                   std::string_view redirect_uri, const SecretString& code_verifier,
                                   std::string_view resource);

  // The refresh_token grant: a new access token and a new refresh token, the old refresh
  // token used up. kPermissionDenied (invalid_grant) as above; a used one revokes its family.
  StatusOr<McpTokens> Refresh(const SecretString& refresh_token, std::string_view client_id,
                              std::string_view resource);

  // RFC 7009: the client `client_id` is done with `token` (an access or refresh token):
  // its whole family is revoked. OK for a token latchkey does not know (the RFC's rule);
  // kPermissionDenied when it was issued to another client.
  Status Revoke(const SecretString& token, std::string_view client_id);

  // A bearer token presented at `resource`: kUnauthenticated, the same sentence whatever
  // was wrong (unknown, expired, revoked, for another resource, agent revoked).
  StatusOr<McpCaller> Authenticate(const SecretString& access_token, std::string_view resource) const;

 private:
  // Spends `value` (a code or refresh token, `spent` its record) for a new access token and
  // refresh token of its family. A replay has revoked the family; it raises
  // agent.token_reuse, once per family.
  StatusOr<McpTokens> Spend(const SecretString& value, const store::McpTokenRecord& spent);

  Vault& vault_;
  const Clock& clock_;
  Random& random_;
  McpAuthorizationOptions options_;
};

}  // namespace latchkey::vault
