// AdminApi: the operator's HTTP API under /v1 (SPEC §4), authenticated with an admin
// token (vault/admin_tokens.h) as a bearer token or the dashboard's session, as
// Parts::authorize (gateway/admin/dashboard.h) decides. JSON in and out; errors are problem
// details. Routes:
//   GET    /v1/providers                  GET /v1/providers/{name}     POST /v1/providers (TOML body)
//   GET    /v1/connections                GET /v1/connections/{name}
//   POST   /v1/connections/{name}/connect {"provider": "...", "scopes": [...]} -> {"consent_url": ...}
//          (latchkey's consent page: a signed-in human opens it and starts the provider flow)
//   POST   /v1/connections/{name}/refresh DELETE /v1/connections/{name} (revoke at the provider, wipe)
//   GET    /v1/agents                     POST /v1/agents {"name", "allow": [...]} -> key shown once
//   DELETE /v1/agents/{name}
//   GET    /v1/mcp-consents               what humans allowed MCP clients (latchkey's own /mcp
//          authorization server): {"consents": [{"client_id", "client_name", "client_kind",
//          "agent", "scopes", "created_at", "revoked_at"}]}, standing ones first, then revoked
//          ones, each group by agent, then client. client_name is the client's own claim.
//   POST   /v1/mcp-consents/revoke        {"client_id", "agent"} -> {"client_id", "agent",
//          "revoked": true}; every token issued under it ends. 404 when no consent stands.
//          (A client_id may be an https URL, so it travels in the body, not the path.)
//   GET    /v1/audit?agent=&connection=&code=&after_id=&limit=   (limit 1 to 1000, default 100)
//   GET    /v1/alerts?limit=                                     (1 to 1000, default 100)
// Blocking (store, token endpoint): call on the blocking pool. Thread-safe.
#pragma once

#include <functional>
#include <string>

#include "common/clock.h"
#include "gateway/http/http_server.h"
#include "gateway/proxy/consent_links.h"
#include "vault/oauth_clients.h"
#include "vault/refresh_coordinator.h"
#include "vault/vault.h"

namespace latchkey::gateway {

class AdminApi {
 public:
  struct Parts {
    vault::Vault& vault;
    vault::RefreshCoordinator& coordinator;
    ConsentLinks& links;
    const vault::OAuthClients& clients;
    std::function<void()> on_change;  // after anything that changes agents or connections
    // Who may call: OK, or why not (kUnauthenticated → 401, kPermissionDenied → 403).
    // Required; the gateway passes Dashboard::AuthorizeAdmin.
    std::function<Status(const Request&)> authorize;
    // When a revocation happened.
    const Clock* clock = &SystemClock::Instance();
  };
  explicit AdminApi(Parts parts);

  Response Handle(const Request& request);

  // The problem the API answers for `status` (kUnauthenticated → 401, ...).
  static Response ErrorResponse(const Status& status);

 private:
  Response Dispatch(const Request& request);

  Parts parts_;
};

}  // namespace latchkey::gateway
