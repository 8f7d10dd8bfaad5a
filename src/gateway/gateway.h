// Gateway: the daemon's HTTP face (SPEC §4). Owns the listener and the ProxyRuntime (proxy,
// per-worker upstream clients, blocking pool, audit log, metrics), and routes:
//   ANY /proxy/{connection}/{path...}   agents (Proxy)
//   POST, GET, DELETE /mcp              agents over MCP Streamable HTTP (SPEC §5), with an
//                                       agent key or an access token of latchkey's own
//                                       authorization server (McpOAuthServer's routes)
//   GET /oauth/callback                 browsers finishing a consent flow
//   /v1/...                             the admin API (admin token)
//   GET /metrics                        Prometheus text
//   GET /healthz, GET /readyz           liveness, readiness (store reachable)
// The vault, refresh coordinator and consent flows belong to the caller and must outlive it.
// Start/Stop from one thread (the daemon's main thread).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/random.h"
#include "common/status.h"
#include "gateway/http/http_server.h"
#include "gateway/proxy/consent_links.h"
#include "gateway/proxy/metrics.h"
#include "gateway/proxy/proxy.h"
#include "vault/consent_flow.h"
#include "vault/refresh_coordinator.h"
#include "vault/vault.h"

namespace latchkey::gateway {

// latchkey as the OAuth authorization server for /mcp ([mcp_oauth] in latchkey.toml).
struct McpOAuthOptions {
  bool enabled = true;  // false: /mcp takes agent keys only, and nothing is advertised
  std::chrono::seconds access_token_lifetime{3600};
  std::chrono::seconds refresh_reuse_grace{10};  // vault::McpAuthorizationOptions
  // Client ID Metadata Documents: fetched from public addresses only, unless this is set
  // (tests, closed networks); ca_file replaces the system's CAs for those fetches.
  bool allow_private_metadata_hosts = false;
  std::string metadata_ca_file;
};

struct GatewayOptions {
  HttpServerOptions http;
  ProxyOptions proxy;
  UpstreamOptions upstream;
  std::string public_url;  // empty: http://{listen address}
  int blocking_threads = 32;
  std::string upstream_ca_file;  // extra trusted CAs (PEM) for upstream TLS
  McpOAuthOptions mcp_oauth;
};

class Gateway {
 public:
  struct Parts {
    vault::Vault& vault;
    vault::RefreshCoordinator& coordinator;
    vault::ConsentFlows& flows;
    const vault::OAuthClients& clients;
    const Clock& clock;
    const MonotonicClock& steady;
    Random& random;
  };

  static StatusOr<std::unique_ptr<Gateway>> Start(const GatewayOptions& options, Parts parts);
  ~Gateway();  // Stop()
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  uint16_t port() const;
  const std::string& public_url() const;
  Metrics& metrics();
  // The links a human opens to connect or reconnect (thread-safe).
  ConsentLinks& links();

  // Graceful: drains in-flight requests, then writes the queued audit rows.
  void Stop();

  class Impl;  // gateway.cc

 private:
  explicit Gateway(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace latchkey::gateway
