#include "gateway/gateway.h"

#include <boost/asio/thread_pool.hpp>
#include <charconv>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/ascii.h"
#include "common/log.h"
#include "common/url.h"
#include "gateway/admin/admin_api.h"
#include "gateway/admin/consent_pages.h"
#include "gateway/admin/dashboard.h"
#include "gateway/admin/html_page.h"
#include "gateway/admin/mcp_oauth_server.h"
#include "gateway/admin/oauth_callback.h"
#include "gateway/http/health.h"
#include "gateway/http/offload.h"
#include "gateway/http/problem.h"
#include "gateway/http/upstream_client.h"
#include "gateway/mcp_endpoint.h"
#include "gateway/mcp_tools.h"
#include "gateway/proxy/audit_log.h"
#include "gateway/proxy/consent_links.h"
#include "gateway/proxy/proxy_runtime.h"
#include "oauth/curl_http_client.h"

namespace latchkey::gateway {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

// Who a request to /mcp acts as, as the gate found it before the body was read.
struct McpAdmission final : Admission {
  explicit McpAdmission(std::shared_ptr<const Caller> found) : caller(std::move(found)) {}
  std::shared_ptr<const Caller> caller;
};

}  // namespace

class Gateway::Impl {
 public:
  Impl(const GatewayOptions& options, Parts parts, std::unique_ptr<HttpServer> server,
       std::unique_ptr<ProxyRuntime> runtime)
      : options_(options),
        parts_(parts),
        server_(std::move(server)),
        runtime_(std::move(runtime)),
        blocking_(runtime_->blocking()),
        metrics_(runtime_->metrics()),
        dashboard_(parts.vault, parts.clock, runtime_->public_url()),
        consent_pages_(parts.vault, parts.flows, runtime_->links(), dashboard_),
        admin_({.vault = parts.vault,
                .coordinator = parts.coordinator,
                .links = runtime_->links(),
                .clients = parts.clients,
                .on_change = [this] { runtime_->cache().Clear(); },
                .authorize = [this](const Request& request) { return dashboard_.AuthorizeAdmin(request); },
                .clock = &parts.clock}),
        client_documents_(parts.vault.store(), metadata_http_, parts.clock,
                          {.allow_private_hosts = options.mcp_oauth.allow_private_metadata_hosts,
                           .ca_file = options.mcp_oauth.metadata_ca_file}),
        mcp_authorization_(parts.vault, parts.clock, parts.random,
                           {.access_token_lifetime = options.mcp_oauth.access_token_lifetime,
                            .refresh_reuse_grace = options.mcp_oauth.refresh_reuse_grace}),
        mcp_oauth_(parts.vault, mcp_authorization_, client_documents_, dashboard_, parts.steady,
                   runtime_->public_url()),
        mcp_server_(MakeLatchkeyMcpServer(*runtime_)),
        mcp_(mcp_server_, parts.random, parts.steady, McpOptions(options, runtime_->public_url())) {}

  Status Serve() {
    return server_->Serve(
        [this](Request& request, int worker) {
          return request.target().starts_with("/proxy/") ? runtime_->proxy().Handle(request, worker)
                                                         : Route(request);
        },
        [this](Request& header, int) { return Admit(header); });
  }

  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    mcp_.CloseAll();  // open MCP event streams end, so the drain can finish
    server_->Stop();  // joins the workers: no coroutine touches the clients after this
    runtime_->Stop();
  }

  uint16_t port() const { return server_->port(); }
  const std::string& public_url() const { return runtime_->public_url(); }
  Metrics& metrics() { return metrics_; }
  ConsentLinks& links() { return runtime_->links(); }

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
    if (path == "/mcp") co_return co_await Mcp(request);
    if (IsHealthPath(path)) {
      co_return co_await AnswerHealth(request, path, blocking_, [this] { return Readiness(); });
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
      Dashboard::Harden(res);
      co_return res;
    }
    if (Dashboard::Serves(path)) {
      Response res;
      co_await Offload(blocking_, [&] { res = dashboard_.Handle(request); });
      co_return res;
    }
    if (path == "/oauth/callback") {
      if (!get) co_return MethodNotAllowed(path, "GET").ToResponse(request.version());
      Response res;
      co_await Offload(blocking_, [&] { res = FinishAuthorization(parts_.flows, request); });
      // A new grant (perhaps of another account, on purpose) is used from the next call on.
      if (res.result() == http::status::ok) runtime_->cache().Clear();
      co_return res;
    }
    if (ConsentPages::Serves(path)) {
      Response res;
      co_await Offload(blocking_, [&] { res = consent_pages_.Handle(request); });
      co_return res;
    }
    if (options_.mcp_oauth.enabled && McpOAuthServer::Serves(path)) {
      Response res;
      co_await Offload(blocking_, [&] { res = mcp_oauth_.Handle(request); });
      co_return res;
    }
    co_return NotFound(request.method_string(), target).ToResponse(request.version());
  }

  // Before any body is read (HttpServer's gate): whoever may not make the request cannot
  // make the daemon read, buffer or wait for its body. /mcp hands the caller it found to
  // the handler with the request (McpAdmission), so an access token is looked up once a
  // request; the other routes' handlers check again, and that check is cached.
  asio::awaitable<std::optional<Response>> Admit(Request& header) {
    const std::string_view target = header.target();
    const std::string_view path = target.substr(0, target.find('?'));
    if (path == "/mcp") {
      if (std::optional<std::shared_ptr<const Caller>> caller = co_await McpCallerOf(header)) {
        header.admission = std::make_shared<const McpAdmission>(std::move(*caller));
        co_return std::nullopt;
      }
      co_return McpRefused(header);
    }
    if (path.starts_with("/proxy/")) {
      if (co_await AgentOf(Proxy::PresentedKey(header, nullptr))) co_return std::nullopt;
      co_return runtime_->proxy().Refuse(header, AgentUnauthenticated());
    }
    if (path == "/v1" || path.starts_with("/v1/")) {
      Status allowed;
      co_await Offload(blocking_, [&] { allowed = dashboard_.AuthorizeAdmin(header); });
      if (allowed.ok()) co_return std::nullopt;
      co_return AdminApi::ErrorResponse(allowed);
    }
    if (ConsentPages::Serves(path)) {
      bool signed_in = false;
      co_await Offload(blocking_, [&] { signed_in = dashboard_.SignedIn(header); });
      if (signed_in) co_return std::nullopt;
      co_return ConsentPage(http::status::unauthorized,
                            Page("Not started", "Sign in to the dashboard first."));
    }
    // The sign-in form (its body is the credential) and sign-out: small forms only.
    constexpr uint64_t kMaxFormBytes = 4096;
    uint64_t limit = 0;
    if (path == "/login" || path == "/logout") limit = kMaxFormBytes;
    if (options_.mcp_oauth.enabled) limit = std::max(limit, McpOAuthServer::MaxBodyBytes(path));
    if (limit > 0) {
      const std::string_view length = header[http::field::content_length];
      uint64_t bytes = 0;
      const auto [end, error] = std::from_chars(length.data(), length.data() + length.size(), bytes);
      if (!length.empty() && error == std::errc() && end == length.data() + length.size() && bytes <= limit) {
        co_return std::nullopt;
      }
    }
    co_return PayloadTooLarge("a body on " + std::string(path).substr(0, 100) +
                              " (no route here takes one larger than 8 KiB, or of unknown length)")
        .ToResponse(header.version());
  }

  // The agent an agent key names, from the route cache or the store; nullopt when the key
  // is missing, malformed, unknown or revoked.
  asio::awaitable<std::optional<std::string>> AgentOf(std::string_view key) {
    if (key.empty()) co_return std::nullopt;
    const std::string digest = RouteCache::KeyDigest(key);
    if (auto cached = runtime_->cache().FindAgent(digest)) co_return cached->record.name;
    std::optional<std::string> agent;
    co_await Offload(blocking_, [&] {
      auto found = parts_.vault.agents().Authenticate(key);
      if (!found.ok()) return;
      agent = found->record.name;
      runtime_->cache().PutAgent(digest, std::move(*found));
    });
    co_return agent;
  }

  // Who a request to /mcp acts as: an agent key's agent (acting with that key), or the
  // agent an access token of latchkey's authorization server was granted for (acting as
  // that agent by name; the token is checked again on each request, which is each call).
  // Access tokens are not cached: revoking one, its consent or its agent ends it at once.
  asio::awaitable<std::optional<std::shared_ptr<const Caller>>> McpCallerOf(const Request& request) {
    const std::string_view presented = Proxy::PresentedKey(request, nullptr);
    if (options_.mcp_oauth.enabled && presented.starts_with(vault::kMcpAccessTokenPrefix)) {
      std::optional<std::shared_ptr<const Caller>> caller;
      co_await Offload(blocking_, [&] {
        auto granted = mcp_authorization_.Authenticate(SecretString(presented), mcp_oauth_.resource());
        if (granted.ok())
          caller = std::make_shared<const Caller>(
              Caller{.agent_key = {}, .agent_name = granted->agent, .client_id = granted->client_id});
      });
      co_return caller;
    }
    if (std::optional<std::string> agent = co_await AgentOf(presented)) {
      co_return std::make_shared<const Caller>(
          Caller{.agent_key = SecretString(std::string(presented)), .agent_name = *agent});
    }
    co_return std::nullopt;
  }

  // 401 with a Bearer challenge that, when latchkey is the authorization server, names
  // its protected-resource metadata (RFC 9728 §5.1): where an MCP client starts OAuth.
  Response McpRefused(const Request& request) const {
    const bool presented = !Proxy::PresentedKey(request, nullptr).empty();
    Response refused = AgentUnauthenticated().ToResponse(request.version());
    refused.set(http::field::www_authenticate, options_.mcp_oauth.enabled
                                                   ? mcp_oauth_.Challenge(presented)
                                                   : "Bearer realm=\"latchkey\", error=\"invalid_token\"");
    return refused;
  }

  // /mcp: every request authenticated (401 with a Bearer challenge without a credential);
  // the MCP session belongs to the agent, so it lasts across a client's token refreshes.
  asio::awaitable<Response> Mcp(const Request& request) {
    std::optional<std::shared_ptr<const Caller>> caller;
    if (const auto* admitted = dynamic_cast<const McpAdmission*>(request.admission.get())) {
      caller = admitted->caller;  // the gate's, for this request (a request with a body)
    } else {
      caller = co_await McpCallerOf(request);
    }
    if (caller) {
      const std::string agent = (*caller)->agent_name;
      co_return co_await ServeMcp(mcp_, request, agent, *caller);
    }
    co_return McpRefused(request);
  }

  // Host and Origin names the MCP endpoint accepts: loopback, and the public URL's host.
  static mcp::StreamableHttpOptions McpOptions(const GatewayOptions& options, const std::string& public_url) {
    mcp::StreamableHttpOptions mcp;
    auto add = [&mcp](std::string_view raw) {
      std::string host = AsciiLower(raw.starts_with('[') ? std::string(raw) : HostForUrl(raw));
      if (!host.empty() && std::ranges::find(mcp.allowed_hosts, host) == mcp.allowed_hosts.end()) {
        mcp.allowed_hosts.push_back(std::move(host));
      }
    };
    if (options.http.host != "0.0.0.0" && options.http.host != "::") add(options.http.host);
    if (StatusOr<Url> url = ParseHttpUrl(public_url); url.ok()) add(url->HostForUrl());
    return mcp;
  }

  // /readyz: the store answers, and was not handed over to another (`latchkey backup
  // --final`: this node starts no refresh any more, so a load balancer should send agents
  // to the new store's nodes). Said in fixed words: the store's own errors name hosts,
  // ports and database users, and /readyz answers anyone who reaches the listener. The
  // log gets the store's words, once each time they change.
  Status Readiness() {
    StatusOr<std::optional<TimePoint>> handed_over = parts_.vault.store().HandedOverAt();
    {
      std::lock_guard lock(readiness_mu_);
      const std::string said = handed_over.ok() ? "" : std::string(handed_over.status().message());
      if (said != readiness_said_ && !said.empty()) spdlog::warn("readyz: not ready: {}", said);
      readiness_said_ = said;
    }
    if (!handed_over.ok()) return UnavailableError("the store does not answer");
    if (*handed_over) {
      return FailedPreconditionError(
          "this node's store was handed over to another (latchkey backup --final): it starts no token "
          "refresh");
    }
    return Status::Ok();
  }

  StoreGauges ReadGauges() {
    StoreGauges gauges;
    auto connections = parts_.vault.store().ListConnections();
    auto pending = parts_.vault.store().CountUndeliveredAlerts();
    gauges.ok = connections.ok() && pending.ok();
    if (connections.ok()) {
      for (const auto& connection : *connections) {
        ++gauges.connections_by_status[std::string(store::ConnectionStatusName(connection.status))];
        const vault::RefreshForecast forecast = parts_.vault.connections().Forecast(connection);
        if (forecast.expires_at) {
          gauges.refresh_expires[connection.name] = {
              std::string(vault::RefreshExpirySourceName(forecast.source)),
              std::chrono::duration_cast<std::chrono::seconds>(forecast.expires_at->time_since_epoch())
                  .count()};
        }
      }
    }
    if (pending.ok()) gauges.outbox_depth = *pending;
    return gauges;
  }

  const GatewayOptions options_;
  Parts parts_;
  std::mutex readiness_mu_;
  std::string readiness_said_;  // the store's last words to Readiness(), empty when it answered
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<ProxyRuntime> runtime_;
  asio::thread_pool& blocking_;  // the runtime's
  Metrics& metrics_;             // the runtime's
  Dashboard dashboard_;          // before admin_, which asks it who may use the API
  ConsentPages consent_pages_;   // after dashboard_, which says who is signed in
  AdminApi admin_;
  oauth::CurlHttpClient metadata_http_;  // Client ID Metadata Document fetches
  vault::ClientDocuments client_documents_;
  vault::McpAuthorization mcp_authorization_;
  McpOAuthServer mcp_oauth_;  // after dashboard_, which says who is signed in
  std::shared_ptr<mcp::Server> mcp_server_;
  mcp::StreamableHttp mcp_;
  bool stopped_ = false;
};

Gateway::Gateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Gateway::~Gateway() { Stop(); }

StatusOr<std::unique_ptr<Gateway>> Gateway::Start(const GatewayOptions& options, Parts parts) {
  // Consent links, the OAuth callback, cookies and the dashboard's CSRF check are built
  // from public_url: a value that is not a plain http(s) URL is refused before anything listens.
  if (!options.public_url.empty()) {
    if (StatusOr<Url> url = ParseHttpUrl(options.public_url); !url.ok()) {
      return url.status().WithContext("public_url");
    }
  }
  LATCHKEY_ASSIGN_OR_RETURN(std::unique_ptr<HttpServer> server, HttpServer::Listen(options.http));
  std::vector<asio::any_io_executor> workers;
  workers.reserve(static_cast<size_t>(server->workers()));
  for (int i = 0; i < server->workers(); ++i) workers.push_back(server->executor(i));
  ProxyRuntimeOptions runtime_options{
      .proxy = options.proxy,
      .upstream = options.upstream,
      .public_url = options.public_url.empty()
                        ? ListenAddress{.host = options.http.host, .port = server->port()}.HttpUrl()
                        : options.public_url,
      .blocking_threads = options.blocking_threads,
      .upstream_ca_file = options.upstream_ca_file};
  LATCHKEY_ASSIGN_OR_RETURN(std::unique_ptr<ProxyRuntime> runtime,
                            ProxyRuntime::Create(runtime_options,
                                                 {.vault = parts.vault,
                                                  .coordinator = parts.coordinator,
                                                  .flows = parts.flows,
                                                  .clock = parts.clock,
                                                  .steady = parts.steady,
                                                  .random = parts.random},
                                                 workers));
  auto impl = std::make_unique<Impl>(options, parts, std::move(server), std::move(runtime));
  LATCHKEY_RETURN_IF_ERROR(impl->Serve());
  return std::unique_ptr<Gateway>(new Gateway(std::move(impl)));
}

uint16_t Gateway::port() const { return impl_->port(); }
const std::string& Gateway::public_url() const { return impl_->public_url(); }
Metrics& Gateway::metrics() { return impl_->metrics(); }
ConsentLinks& Gateway::links() { return impl_->links(); }
void Gateway::Stop() {
  if (impl_) impl_->Stop();
}

}  // namespace latchkey::gateway
