// Gateway: the daemon's HTTP face (SPEC §4). Owns the listener and the ProxyRuntime (proxy,
// per-worker upstream clients, blocking pool, audit log, metrics), and routes:
//   ANY /proxy/{connection}/{path...}   agents (Proxy)
//   POST, GET, DELETE /mcp              agents over MCP Streamable HTTP (SPEC §5)
//   GET /oauth/callback                 browsers finishing a consent flow
//   /v1/...                             the admin API (admin token)
//   GET /metrics                        Prometheus text
//   GET /healthz, GET /readyz           liveness, readiness (store reachable)
// The vault, refresh coordinator and consent flows belong to the caller and must outlive it.
// Start/Stop from one thread (the daemon's main thread).
#pragma once

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

struct GatewayOptions {
  HttpServerOptions http;
  ProxyOptions proxy;
  UpstreamOptions upstream;
  std::string public_url;  // empty: http://{listen address}
  int blocking_threads = 32;
  std::string upstream_ca_file;  // extra trusted CAs (PEM) for upstream TLS
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
