#include "vault/mcp_authorization.h"

#include <algorithm>

#include "common/log.h"
#include "common/url.h"
#include "crypto/access_key.h"
#include "oauth/pkce.h"
#include "oauth/token_fields.h"
#include "vault/alert_events.h"
#include "vault/mcp_client_metadata.h"

namespace latchkey::vault {
namespace {

using store::McpTokenKind;
using store::McpTokenRecord;

// Prefixes that say what a token is to a secret scanner; never parsed.
std::string_view PrefixOf(McpTokenKind kind) {
  switch (kind) {
    case McpTokenKind::kCode: return "lkmc_";
    case McpTokenKind::kAccess: return kMcpAccessTokenPrefix;
    case McpTokenKind::kRefresh: return "lkmr_";
  }
  return "";
}

Bytes HashOf(const SecretString& value) { return crypto::HashAccessKeySecret(value.reveal()); }

Status InvalidGrant(std::string_view why) { return PermissionDeniedError(std::string(why)); }

// RFC 7636 §4.1: a verifier, and an S256 challenge, are made of these characters.
bool IsPkceText(std::string_view text) {
  return std::ranges::all_of(text, [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
  });
}

bool IsCodeVerifier(std::string_view verifier) {
  return verifier.size() >= 43 && verifier.size() <= 128 && IsPkceText(verifier);
}

Status Unauthenticated() {
  return UnauthenticatedError(
      "the access token is not valid here (unknown, expired, revoked or for another resource)");
}

}  // namespace

bool RedirectUriMatches(std::string_view registered, std::string_view presented) {
  if (registered == presented) return true;
  StatusOr<Url> a = ParseHttpUrl(registered);
  StatusOr<Url> b = ParseHttpUrl(presented);
  if (!a.ok() || !b.ok() || a->scheme != "http" || b->scheme != "http") return false;
  const bool loopback = a->host == "127.0.0.1" || a->host == "::1" || a->host == "localhost";
  return loopback && a->host == b->host && a->path == b->path && a->has_query == b->has_query &&
         a->query == b->query;
}

StatusOr<std::vector<std::string>> CheckAuthorizationRequest(const McpAuthorizationRequest& request,
                                                             const store::McpClientRecord& client,
                                                             std::string_view resource) {
  if (request.client_id != client.client_id) return FailedPreconditionError("client_id names another client");
  const bool known = std::ranges::any_of(client.redirect_uris, [&](const std::string& registered) {
    return RedirectUriMatches(registered, request.redirect_uri);
  });
  if (request.redirect_uri.empty() || !known) {
    return FailedPreconditionError("redirect_uri is not one the client registered");
  }
  if (request.response_type != "code") return InvalidArgumentError("response_type must be code");
  // OAuth 2.1 and the MCP spec: PKCE always, and S256 only (plain shows the verifier).
  if (request.code_challenge.empty()) return InvalidArgumentError("code_challenge is required (PKCE)");
  if (request.code_challenge_method != "S256")
    return InvalidArgumentError("code_challenge_method must be S256");
  if (request.code_challenge.size() != 43 || !IsPkceText(request.code_challenge))
    return InvalidArgumentError("code_challenge is not an S256 challenge");
  if (request.resource != resource) {
    return InvalidArgumentError("resource must be " + std::string(resource) + " (RFC 8707)");
  }
  std::vector<std::string> scopes = oauth::SplitScopes(request.scope, " ");
  if (scopes.empty()) scopes.emplace_back(kMcpScope);
  for (const std::string& scope : scopes) {
    if (scope != kMcpScope) return InvalidArgumentError("scope '" + scope + "' is not offered (only mcp)");
  }
  return scopes;
}

McpAuthorization::McpAuthorization(Vault& vault, const Clock& clock, Random& random,
                                   McpAuthorizationOptions options)
    : vault_(vault), clock_(clock), random_(random), options_(options) {}

StatusOr<RegisteredClient> McpAuthorization::Register(std::string_view request_json) {
  LATCHKEY_ASSIGN_OR_RETURN(store::McpClientRecord client, ParseClientMetadata(request_json, ""));
  client.client_id = "lkc_" + random_.Base64Url(16);
  client.created_at = client.updated_at = clock_.Now();
  RegisteredClient registered;
  if (client.token_endpoint_auth_method != "none") {
    registered.client_secret = SecretString("lkcs_" + random_.Base64Url(32));
    client.client_secret_hash = HashOf(registered.client_secret);
  }
  LATCHKEY_RETURN_IF_ERROR(vault_.store().UpsertMcpClient(client));
  registered.client = std::move(client);
  return registered;
}

StatusOr<store::McpClientRecord> McpAuthorization::AuthenticateClient(
    std::string_view client_id, const SecretString& client_secret) const {
  const Status refused = UnauthenticatedError("client authentication failed");
  StatusOr<store::McpClientRecord> client = vault_.store().GetMcpClient(client_id);
  if (!client.ok()) return refused;
  if (client->token_endpoint_auth_method == "none") {
    if (!client_secret.empty()) return refused;  // a public client has no secret to show
    return client;
  }
  if (client_secret.empty() || !client->client_secret_hash ||
      !crypto::VerifyAccessKeySecret(client_secret, *client->client_secret_hash)) {
    return refused;
  }
  return client;
}

StatusOr<SecretString> McpAuthorization::IssueCode(const McpGrant& grant) {
  LATCHKEY_RETURN_IF_ERROR(vault_.agents().Find(grant.agent).status());
  const TimePoint now = clock_.Now();
  LATCHKEY_RETURN_IF_ERROR(vault_.store().UpsertMcpConsent({.client_id = grant.client_id,
                                                            .agent = grant.agent,
                                                            .scopes = grant.scopes,
                                                            .created_at = now,
                                                            .revoked_at = std::nullopt}));
  SecretString code(std::string(PrefixOf(McpTokenKind::kCode)) + random_.Base64Url(32));
  McpTokenRecord record;
  record.token_hash = HashOf(code);
  record.kind = McpTokenKind::kCode;
  record.family_id = random_.Hex(16);
  record.client_id = grant.client_id;
  record.agent = grant.agent;
  record.resource = grant.resource;
  record.scopes = grant.scopes;
  record.redirect_uri = grant.redirect_uri;
  record.code_challenge = grant.code_challenge;
  record.created_at = now;
  record.expires_at = now + options_.code_lifetime;
  LATCHKEY_RETURN_IF_ERROR(vault_.store().InsertMcpToken(record));
  return code;
}

StatusOr<McpTokens> McpAuthorization::ExchangeCode(const SecretString& code, std::string_view client_id,
                                                   std::string_view redirect_uri,
                                                   const SecretString& code_verifier,
                                                   std::string_view resource) {
  StatusOr<McpTokenRecord> found = vault_.store().GetMcpToken(HashOf(code));
  if (!found.ok() || found->kind != McpTokenKind::kCode)
    return InvalidGrant("the authorization code is not valid");
  // Everything the authorization request bound the code to, before the code is spent:
  // a stolen code without its verifier spends nothing and revokes nothing.
  if (found->client_id != client_id)
    return InvalidGrant("the authorization code was issued to another client");
  if (found->redirect_uri != redirect_uri) {
    return InvalidGrant("redirect_uri differs from the authorization request's");
  }
  if (!IsCodeVerifier(code_verifier.reveal()) ||
      oauth::S256Challenge(code_verifier.reveal()) != found->code_challenge) {
    return InvalidGrant("the PKCE code_verifier does not match the code_challenge");
  }
  if (!resource.empty() && found->resource != resource) {
    return InvalidGrant("resource differs from the authorization request's");
  }
  return Spend(code, *found);
}

StatusOr<McpTokens> McpAuthorization::Refresh(const SecretString& refresh_token, std::string_view client_id,
                                              std::string_view resource) {
  StatusOr<McpTokenRecord> found = vault_.store().GetMcpToken(HashOf(refresh_token));
  if (!found.ok() || found->kind != McpTokenKind::kRefresh || found->client_id != client_id) {
    return InvalidGrant("the refresh token is not valid");
  }
  if (!resource.empty() && found->resource != resource) {
    return InvalidGrant("resource differs from the one the refresh token was issued for");
  }
  return Spend(refresh_token, *found);
}

Status McpAuthorization::Revoke(const SecretString& token, std::string_view client_id) {
  StatusOr<McpTokenRecord> found = vault_.store().GetMcpToken(HashOf(token));
  if (!found.ok() || found->kind == McpTokenKind::kCode) return Status::Ok();  // RFC 7009 §2.2
  if (found->client_id != client_id) return PermissionDeniedError("the token was issued to another client");
  return vault_.store().RevokeMcpFamily(found->family_id, clock_.Now()).status();
}

StatusOr<McpTokens> McpAuthorization::Spend(const SecretString& value, const McpTokenRecord& spent) {
  const TimePoint now = clock_.Now();
  // Every token of a family carries the time its code was issued (created_at), from which
  // the family's absolute end follows.
  const TimePoint family_end = spent.created_at + options_.family_lifetime;
  McpTokens tokens;
  tokens.access_token = SecretString(std::string(PrefixOf(McpTokenKind::kAccess)) + random_.Base64Url(32));
  tokens.refresh_token = SecretString(std::string(PrefixOf(McpTokenKind::kRefresh)) + random_.Base64Url(32));
  std::vector<McpTokenRecord> issued;
  for (const auto& [kind, token, lifetime] :
       {std::tuple{McpTokenKind::kAccess, &tokens.access_token, options_.access_token_lifetime},
        std::tuple{McpTokenKind::kRefresh, &tokens.refresh_token, options_.refresh_token_lifetime}}) {
    McpTokenRecord& record = issued.emplace_back(spent);
    record.token_hash = HashOf(*token);
    record.kind = kind;
    record.redirect_uri.clear();
    record.code_challenge.clear();
    record.expires_at = std::min(now + lifetime, family_end);
    record.used_at.reset();
    record.revoked_at.reset();
  }
  tokens.expires_in = std::chrono::duration_cast<Duration>(issued.front().expires_at - now);
  tokens.scopes = spent.scopes;
  StatusOr<McpTokenRecord> done =
      vault_.store().SpendMcpToken(HashOf(value), now, issued, options_.refresh_reuse_grace);
  if (done.ok()) return tokens;
  if (done.status().code() == StatusCode::kFailedPrecondition) {
    const Status raised = vault_.store().EnqueueAlert(MakeAgentAlert(
        "agent.token_reuse", spent.agent, spent.family_id, now,
        {{"client_id", spent.client_id},
         {"reason",
          "a used " +
              std::string(spent.kind == McpTokenKind::kCode ? "authorization code" : "refresh token") +
              " was presented again; every token issued from the same consent is revoked"}}));
    if (!raised.ok() && raised.code() != StatusCode::kAlreadyExists) {
      spdlog::warn("agent.token_reuse for agent '{}' could not be queued: {}", spent.agent, raised.message());
    }
  }
  const StatusCode code = done.status().code();
  if (code == StatusCode::kFailedPrecondition || code == StatusCode::kPermissionDenied) {
    return InvalidGrant(done.status().message());
  }
  if (code == StatusCode::kNotFound) return InvalidGrant("the grant is not valid");
  return done.status();
}

StatusOr<McpCaller> McpAuthorization::Authenticate(const SecretString& access_token,
                                                   std::string_view resource) const {
  StatusOr<McpTokenRecord> found = vault_.store().GetMcpToken(HashOf(access_token));
  if (!found.ok() || found->kind != McpTokenKind::kAccess || found->revoked_at ||
      found->expires_at <= clock_.Now() || found->resource != resource) {
    return Unauthenticated();
  }
  if (!vault_.agents().Find(found->agent).ok()) return Unauthenticated();
  return McpCaller{.agent = found->agent, .client_id = found->client_id, .scopes = found->scopes};
}

}  // namespace latchkey::vault
