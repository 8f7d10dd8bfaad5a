#include "gateway/proxy/proxy_runtime.h"

namespace latchkey::gateway {

namespace asio = boost::asio;

StatusOr<std::unique_ptr<ProxyRuntime>> ProxyRuntime::Create(
    const ProxyRuntimeOptions& options, ProxyRuntimeParts parts,
    const std::vector<asio::any_io_executor>& workers) {
  LATCHKEY_ASSIGN_OR_RETURN(std::shared_ptr<asio::ssl::context> tls,
                            MakeClientTlsContext(options.upstream_ca_file));
  return std::unique_ptr<ProxyRuntime>(new ProxyRuntime(options, parts, workers, tls));
}

ProxyRuntime::ProxyRuntime(const ProxyRuntimeOptions& options, ProxyRuntimeParts parts,
                           const std::vector<asio::any_io_executor>& workers,
                           const std::shared_ptr<asio::ssl::context>& tls)
    : parts_(parts),
      public_url_(options.public_url),
      blocking_(static_cast<size_t>(std::max(1, options.blocking_threads))),
      cache_(parts.clock, parts.steady),
      audit_(parts.vault.store()),
      links_(parts.vault.keys(), parts.clock, public_url_),
      workers_(workers) {
  std::vector<UpstreamClient*> clients;
  for (const asio::any_io_executor& worker : workers_) {
    upstreams_.push_back(std::make_unique<UpstreamClient>(worker, tls, options.upstream));
    clients.push_back(upstreams_.back().get());
  }
  proxy_ = std::make_unique<Proxy>(ProxyParts{.vault = parts.vault,
                                              .coordinator = parts.coordinator,
                                              .links = links_,
                                              .audit = audit_,
                                              .metrics = metrics_,
                                              .blocking = blocking_,
                                              .upstreams = std::move(clients),
                                              .clock = parts.clock,
                                              .steady = parts.steady,
                                              .random = parts.random,
                                              .cache = cache_},
                                   options.proxy);
}

ProxyRuntime::~ProxyRuntime() { Stop(); }

int ProxyRuntime::WorkerOf(const asio::any_io_executor& executor) const {
  for (size_t i = 0; i < workers_.size(); ++i) {
    if (workers_[i] == executor) return static_cast<int>(i);
  }
  return -1;
}

void ProxyRuntime::Stop() {
  if (stopped_) return;
  stopped_ = true;
  blocking_.join();
  audit_.Stop();
  upstreams_.clear();
}

}  // namespace latchkey::gateway
