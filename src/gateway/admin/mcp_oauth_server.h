// McpOAuthServer: latchkey as the OAuth 2.1 authorization server for its own /mcp (issue
// 23; MCP authorization 2025-06-18 and 2025-11-25), so an MCP client connects with the
// standard flow and a human decides, on the consent page, which agent it acts as.
//   GET  /.well-known/oauth-protected-resource[/mcp]   RFC 9728: /mcp and its server
//   GET  /.well-known/oauth-authorization-server        RFC 8414 (also at
//        /.well-known/openid-configuration, which clients try too)
//   GET  /oauth/authorize   the consent page: needs a signed-in dashboard session, shows
//        the client as it names itself (text only), its client_id and redirect host, and
//        lets the human pick or create the agent; "Allow" also needs the admin token typed
//        again (as on the consent pages: a copy of the session cookie is not enough)
//   POST /oauth/authorize   the page's form: Allow → a code, Deny → access_denied, both
//        sent to the client's redirect URI with `state` and `iss` (RFC 9207)
//   POST /oauth/token       authorization_code (PKCE S256) and refresh_token grants
//   POST /oauth/register    dynamic registration (RFC 7591), rate-limited
//   POST /oauth/revoke      RFC 7009
// Errors found before the redirect URI is known to be the client's are shown on the page,
// never redirected (RFC 6749 §4.1.2.1). The logic is vault::McpAuthorization's; this
// class maps HTTP to it. Blocking (store, document fetches): call on the blocking pool.
// Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "gateway/admin/dashboard.h"
#include "gateway/http/message.h"
#include "vault/mcp_authorization.h"
#include "vault/mcp_client_documents.h"
#include "vault/vault.h"

namespace latchkey::gateway {

class McpOAuthServer {
 public:
  // `public_url`: the URL clients reach latchkey at; the issuer is it without a trailing
  // slash, and the resource the issuer + "/mcp". Clients compare both as strings.
  McpOAuthServer(vault::Vault& vault, vault::McpAuthorization& authorization,
                 vault::ClientDocuments& documents, const Dashboard& dashboard, const MonotonicClock& steady,
                 std::string_view public_url);

  static bool Serves(std::string_view path);
  // Body size the route may take (the gate before the body is read), 0 for none.
  static uint64_t MaxBodyBytes(std::string_view path);
  Response Handle(const Request& request);

  const std::string& issuer() const { return issuer_; }
  const std::string& resource() const { return resource_; }
  // The WWW-Authenticate value of a 401 from /mcp (RFC 9728 §5.1, RFC 6750 §3):
  // `error="invalid_token"` when a token was presented.
  std::string Challenge(bool token_presented) const;

 private:
  Response ProtectedResource() const;
  Response AuthorizationServer() const;
  Response AuthorizePage(const Request& request, std::string_view query);
  Response AuthorizeDecision(const Request& request);
  Response Token(const Request& request);
  Response Register(const Request& request);
  Response Revoke(const Request& request);
  // Who is calling the token or revocation endpoint (RFC 6749 §2.3.1).
  StatusOr<store::McpClientRecord> ClientOf(const Request& request,
                                            const std::map<std::string, std::string, std::less<>>& form);
  // Dynamic registration's budget: at most kRegistrationsPerMinute a minute.
  bool TakeRegistration();

  vault::Vault& vault_;
  vault::McpAuthorization& authorization_;
  vault::ClientDocuments& documents_;
  const Dashboard& dashboard_;
  const MonotonicClock& steady_;
  const std::string issuer_;
  const std::string resource_;
  std::mutex registrations_mu_;
  MonoTime window_start_{};
  int registrations_in_window_ = 0;
};

}  // namespace latchkey::gateway
