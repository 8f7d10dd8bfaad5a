// The token side of latchkey's own OAuth authorization server for /mcp (issue 23, plan
// step 2): after a human allowed a client to act as an agent, a single-use code; for the
// code (with its PKCE verifier) an access token and a rotating refresh token, each bound
// to the resource the client named (RFC 8707); and, for a bearer token presented at /mcp,
// the agent it acts as. No HTTP here: the routes (step 4) map the errors below to OAuth's.
//
// Only hashes of codes and tokens are stored. A used code or refresh token presented
// again revokes everything issued from the same consent (the family): whoever replays it
// holds a copy, and the client cannot tell which is the thief's (OAuth 2.1 §4.3.1).
// Thread-safe: the store's transactions make each use single.
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
  Duration refresh_token_lifetime = std::chrono::hours(24 * 30);
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

  // A bearer token presented at `resource`: kUnauthenticated, the same sentence whatever
  // was wrong (unknown, expired, revoked, for another resource, agent revoked).
  StatusOr<McpCaller> Authenticate(const SecretString& access_token, std::string_view resource) const;

 private:
  // Issues and stores an access token and a refresh token of `family`.
  StatusOr<McpTokens> IssueTokens(const store::McpTokenRecord& from);
  // Marks the code or refresh token used; on a replay, revokes its family.
  StatusOr<store::McpTokenRecord> UseOnce(const SecretString& value, store::McpTokenKind kind);

  Vault& vault_;
  const Clock& clock_;
  Random& random_;
  McpAuthorizationOptions options_;
};

}  // namespace latchkey::vault
