#include "gateway/gateway.h"

#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include "common/log.h"
#include "gateway/admin_api.h"
#include "gateway/audit_log.h"
#include "gateway/consent_links.h"
#include "gateway/oauth_callback.h"
#include "gateway/offload.h"
#include "gateway/problem.h"
#include "gateway/upstream_client.h"

namespace latchkey::gateway {

namespace asio = boost::asio;
namespace http = boost::beast::http;

class Gateway::Impl {
 public:
  Impl(const GatewayOptions& options, Parts parts, std::unique_ptr<HttpServer> server,
       const std::shared_ptr<asio::ssl::context>& tls)
      : options_(options),
        parts_(parts),
        server_(std::move(server)),
        public_url_(options.public_url.empty()
                        ? "http://" + options.http.host + ":" + std::to_string(server_->port())
                        : options.public_url),
        blocking_(static_cast<size_t>(std::max(1, options.blocking_threads))),
        audit_(parts.vault.store()),
        links_(parts.flows, parts.clock, public_url_),
        admin_({.vault = parts.vault,
                .refresher = parts.refresher,
                .flows = parts.flows,
                .clients = parts.clients,
                .on_change = [this] { cache_.Clear(); }},
               links_.callback_url()) {
    std::vector<UpstreamClient*> clients;
    for (int i = 0; i < server_->workers(); ++i) {
      upstreams_.push_back(std::make_unique<UpstreamClient>(server_->executor(i), tls, options.upstream));
      clients.push_back(upstreams_.back().get());
    }
    proxy_ = std::make_unique<Proxy>(ProxyParts{.vault = parts.vault,
                                                .refresher = parts.refresher,
                                                .links = links_,
                                                .audit = audit_,
                                                .metrics = metrics_,
                                                .blocking = blocking_,
                                                .upstreams = std::move(clients),
                                                .clock = parts.clock,
                                                .random = parts.random,
                                                .cache = cache_},
                                     options.proxy);
  }

  Status Serve() {
    return server_->Serve([this](Request& request, int worker) {
      return request.target().starts_with("/proxy/") ? proxy_->Handle(request, worker) : Route(request);
    });
  }

  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    server_->Stop();  // joins the workers: no coroutine touches the clients after this
    blocking_.join();
    audit_.Stop();
    upstreams_.clear();
  }

  uint16_t port() const { return server_->port(); }
  const std::string& public_url() const { return public_url_; }
  Metrics& metrics() { return metrics_; }

 private:
  // Everything but /proxy/.
  asio::awaitable<Response> Route(Request& request) {
    std::string_view target = request.target();
    std::string_view path = target.substr(0, target.find('?'));
    if (!target.starts_with("/")) {
      co_return BadRequest(
          "only origin-form request targets (a path starting with '/') are accepted; absolute URLs "
          "are refused")
          .ToResponse(request.version());
    }
    if (request.body_stream) {
      co_return PayloadTooLarge("its body is larger than the " +
                                std::to_string(options_.http.max_buffered_body / 1024) +
                                " KiB latchkey accepts outside /proxy/")
          .ToResponse(request.version());
    }
    const bool get = request.method() == http::verb::get;
    if (path == "/healthz") {
      if (!get) co_return MethodNotAllowed(path, "GET").ToResponse(request.version());
      co_return JsonResponse(http::status::ok, {{"status", "ok"}});
    }
    if (path == "/readyz") {
      if (!get) co_return MethodNotAllowed(path, "GET").ToResponse(request.version());
      Status ready;
      co_await Offload(blocking_, [&] { ready = parts_.vault.store().Ping(); });
      if (ready.ok()) co_return JsonResponse(http::status::ok, {{"status", "ready"}});
      co_return JsonResponse(http::status::service_unavailable,
                             {{"status", "not_ready"}, {"detail", ready.message()}});
    }
    if (path == "/metrics") {
      if (!get) co_return MethodNotAllowed(path, "GET").ToResponse(request.version());
      StoreGauges gauges;
      co_await Offload(blocking_, [&] { gauges = ReadGauges(); });
      Response res(http::status::ok, request.version());
      res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      res.body() = metrics_.Render(gauges);
      co_return res;
    }
    if (path == "/v1" || path.starts_with("/v1/")) {
      Response res;
      co_await Offload(blocking_, [&] { res = admin_.Handle(request); });
      co_return res;
    }
    if (path == "/oauth/callback") {
      if (!get) co_return MethodNotAllowed(path, "GET").ToResponse(request.version());
      Response res;
      co_await Offload(blocking_, [&] { res = FinishAuthorization(parts_.flows, target); });
      co_return res;
    }
    co_return NotFound(request.method_string(), target).ToResponse(request.version());
  }

  StoreGauges ReadGauges() {
    StoreGauges gauges;
    auto connections = parts_.vault.store().ListConnections();
    auto pending = parts_.vault.store().CountUndeliveredAlerts();
    gauges.ok = connections.ok() && pending.ok();
    if (connections.ok()) {
      for (const auto& connection : *connections) {
        ++gauges.connections_by_status[std::string(store::ConnectionStatusName(connection.status))];
      }
    }
    if (pending.ok()) gauges.outbox_depth = *pending;
    return gauges;
  }

  const GatewayOptions options_;
  Parts parts_;
  std::unique_ptr<HttpServer> server_;
  const std::string public_url_;
  asio::thread_pool blocking_;
  Metrics metrics_;
  RouteCache cache_;
  AuditLog audit_;
  ConsentLinks links_;
  AdminApi admin_;
  std::vector<std::unique_ptr<UpstreamClient>> upstreams_;
  std::unique_ptr<Proxy> proxy_;
  bool stopped_ = false;
};

Gateway::Gateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Gateway::~Gateway() { Stop(); }

StatusOr<std::unique_ptr<Gateway>> Gateway::Start(const GatewayOptions& options, Parts parts) {
  LATCHKEY_ASSIGN_OR_RETURN(std::shared_ptr<asio::ssl::context> tls,
                            MakeClientTlsContext(options.upstream_ca_file));
  LATCHKEY_ASSIGN_OR_RETURN(std::unique_ptr<HttpServer> server, HttpServer::Listen(options.http));
  auto impl = std::make_unique<Impl>(options, parts, std::move(server), tls);
  LATCHKEY_RETURN_IF_ERROR(impl->Serve());
  return std::unique_ptr<Gateway>(new Gateway(std::move(impl)));
}

uint16_t Gateway::port() const { return impl_->port(); }
const std::string& Gateway::public_url() const { return impl_->public_url(); }
Metrics& Gateway::metrics() { return impl_->metrics(); }
void Gateway::Stop() {
  if (impl_) impl_->Stop();
}

}  // namespace latchkey::gateway
