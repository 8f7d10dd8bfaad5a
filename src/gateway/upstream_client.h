// UpstreamClient: the proxy's asynchronous HTTP/1.1 client. Keeps idle keep-alive
// connections per upstream (scheme, host, port) for reuse, verifies TLS certificates and
// host names, bounds every exchange by a deadline, and caps header and body sizes.
// One instance per I/O thread (io_context) of the gateway: it is not thread-safe, and
// its sockets live on that io_context, so no strand is needed. Thousands of exchanges
// may be in flight at once on one thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "gateway/proxy_target.h"

namespace latchkey::gateway {

struct UpstreamOptions {
  uint64_t max_response_body = uint64_t{10} * 1024 * 1024;
  uint32_t max_response_header = 64 * 1024;
  size_t max_idle_per_host = 512;
  std::chrono::seconds idle_timeout{30};  // an idle pooled connection older than this is closed
};

using UpstreamRequest = boost::beast::http::request<boost::beast::http::string_body>;
using UpstreamResponse = boost::beast::http::response<boost::beast::http::string_body>;

struct UpstreamResult {
  enum class Outcome { kOk, kTimeout, kConnectFailed, kFailed, kTooLarge };
  Outcome outcome = Outcome::kFailed;
  std::string error;  // what went wrong, for logs and problem details (never a secret)
  bool sent = false;  // request bytes may have reached the upstream (it may have acted)
  UpstreamResponse response;
  bool ok() const { return outcome == Outcome::kOk; }
};

class UpstreamClient {
 public:
  UpstreamClient(boost::asio::any_io_executor executor, std::shared_ptr<boost::asio::ssl::context> tls,
                 UpstreamOptions options = {});
  ~UpstreamClient();
  UpstreamClient(const UpstreamClient&) = delete;
  UpstreamClient& operator=(const UpstreamClient&) = delete;

  // Sends `request` (target, headers and body complete; Host is set here) to `base`'s
  // host and reads the answer, by `deadline`. A pooled connection the upstream closed
  // meanwhile is replaced transparently, once.
  boost::asio::awaitable<UpstreamResult> Send(const BaseUrl& base, UpstreamRequest& request,
                                              std::chrono::steady_clock::time_point deadline);

  // Idle connections currently pooled (for metrics and tests).
  size_t idle_connections() const;

  // Closes every idle connection (shutdown).
  void CloseIdle();

  struct Connection;  // upstream_client.cc

 private:
  boost::asio::any_io_executor executor_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  UpstreamOptions options_;
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;  // by "scheme://host:port"
};

// A TLS client context that verifies peers against the system's CA store, plus the
// certificates in `extra_ca_file` (PEM) when set (private CAs of internal APIs).
StatusOr<std::shared_ptr<boost::asio::ssl::context>> MakeClientTlsContext(
    const std::string& extra_ca_file = "");

}  // namespace latchkey::gateway
