// ProxyRuntime: everything a proxied call runs through, without an HTTP listener: the Proxy
// and what it needs (a blocking pool for the store and refreshes, one UpstreamClient per
// worker, the audit log, the route cache, consent links, metrics). The daemon's Gateway
// serves it over HTTP (/proxy and /mcp); `latchkey mcp` serves it over stdio.
//
//   auto runtime = ProxyRuntime::Create(options, parts, {io.get_executor()});
//   Response answer = co_await (*runtime)->proxy().Handle(request, /*worker=*/0, &caller);
//
// Calls run on the worker executors given at creation (a Proxy call must run on the
// executor of the worker it names). Stop() from a thread that is not a worker, after the
// workers have stopped.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/random.h"
#include "common/status.h"
#include "gateway/http/upstream_client.h"
#include "gateway/proxy/audit_log.h"
#include "gateway/proxy/consent_links.h"
#include "gateway/proxy/metrics.h"
#include "gateway/proxy/proxy.h"
#include "gateway/proxy/route_cache.h"
#include "vault/consent_flow.h"
#include "vault/refresh_coordinator.h"
#include "vault/vault.h"

namespace latchkey::gateway {

struct ProxyRuntimeOptions {
  ProxyOptions proxy;
  UpstreamOptions upstream;
  std::string public_url;  // how a browser reaches the daemon (consent and reconnect links)
  int blocking_threads = 32;
  std::string upstream_ca_file;  // extra trusted CAs (PEM) for upstream TLS
};

struct ProxyRuntimeParts {
  vault::Vault& vault;
  vault::RefreshCoordinator& coordinator;
  vault::ConsentFlows& flows;
  const Clock& clock;
  const MonotonicClock& steady;
  Random& random;
};

class ProxyRuntime {
 public:
  static StatusOr<std::unique_ptr<ProxyRuntime>> Create(
      const ProxyRuntimeOptions& options, ProxyRuntimeParts parts,
      const std::vector<boost::asio::any_io_executor>& workers);
  ~ProxyRuntime();  // Stop()
  ProxyRuntime(const ProxyRuntime&) = delete;
  ProxyRuntime& operator=(const ProxyRuntime&) = delete;

  Proxy& proxy() { return *proxy_; }
  Metrics& metrics() { return metrics_; }
  ConsentLinks& links() { return links_; }
  RouteCache& cache() { return cache_; }
  vault::Vault& vault() { return parts_.vault; }
  boost::asio::thread_pool& blocking() { return blocking_; }
  const std::string& public_url() const { return public_url_; }

  // The index of the worker whose executor this is, or -1.
  int WorkerOf(const boost::asio::any_io_executor& executor) const;

  // Joins the blocking pool and writes the queued audit rows. Idempotent.
  void Stop();

 private:
  ProxyRuntime(const ProxyRuntimeOptions& options, ProxyRuntimeParts parts,
               const std::vector<boost::asio::any_io_executor>& workers,
               const std::shared_ptr<boost::asio::ssl::context>& tls);

  ProxyRuntimeParts parts_;
  const std::string public_url_;
  boost::asio::thread_pool blocking_;
  Metrics metrics_;
  RouteCache cache_;
  AuditLog audit_;
  ConsentLinks links_;
  std::vector<boost::asio::any_io_executor> workers_;
  std::vector<std::unique_ptr<UpstreamClient>> upstreams_;
  std::unique_ptr<Proxy> proxy_;
  bool stopped_ = false;
};

}  // namespace latchkey::gateway
