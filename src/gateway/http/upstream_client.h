// UpstreamClient: the proxy's asynchronous HTTP/1.1 client. Keeps idle keep-alive
// connections per upstream (scheme, host, port) for reuse, verifies TLS certificates and
// host names, bounds every exchange by a deadline, and caps header and body sizes.
// Bodies stream both ways: a request body may come from a BodySource, and an answer's
// body beyond a small size is handed back as one, read as the caller forwards it.
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
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "gateway/http/base_url.h"
#include "gateway/http/message.h"
#include "gateway/http/watchdog.h"

namespace latchkey::gateway {

struct UpstreamOptions {
  uint64_t max_response_body = uint64_t{10} * 1024 * 1024;  // the cap, whole or streamed
  // An answer body of at most this many declared bytes is read whole with the header;
  // a larger one, or one of unknown length, is streamed (UpstreamResult::body_stream).
  uint64_t max_whole_body = uint64_t{64} * 1024;
  uint32_t max_response_header = 64 * 1024;
  // How long a streamed body may stall, either way, before the exchange is cut off.
  std::chrono::milliseconds body_stall_timeout{30000};
  size_t max_idle_per_host = 512;
  std::chrono::seconds idle_timeout{30};  // an idle pooled connection older than this is closed
};

// A request for UpstreamClient::Send: the method, the origin-form target and the header
// fields in the order they go out. Fields and body are views: what they point to must
// outlive Send. Host and the framing (Content-Length, or chunked for a streamed body of
// unknown length) are Send's to add, so `fields` must not hold them.
struct UpstreamRequest {
  struct Field {
    std::string_view name;
    std::string_view value;
  };
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string target;
  std::vector<Field> fields;
  std::string_view body;  // the whole body, unless Send is given a BodySource
  // Fields of the answer the caller would remove (by name): when given, a plain answer
  // (header_scan.h) comes without them. An answer read by Beast keeps all its fields.
  bool (*drop_answer_field)(std::string_view name) = nullptr;
};
// The answer's status, fields (a plain answer's in `lines`: read them with Field()) and body.
using UpstreamResponse = ResponseMessage;

struct UpstreamResult {
  // kUnsendable: the request itself cannot be written as HTTP/1.1 (a header value or the
  // target holds CR, LF or NUL); nothing was sent.
  enum class Outcome { kOk, kTimeout, kConnectFailed, kFailed, kTooLarge, kRequestBodyFailed, kUnsendable };
  Outcome outcome = Outcome::kFailed;
  std::string error;          // what went wrong, for logs and problem details (never a secret)
  bool sent = false;          // request bytes may have reached the upstream (it may have acted)
  Status request_body_error;  // kRequestBodyFailed: why the agent's body could not be read
  UpstreamResponse response;  // the header, and the body (or the part read so far)
  // The rest of the body, when it was not read whole: the body is response.body()
  // followed by what this yields. It holds the connection, which goes back to the pool
  // once the body has been read to its end.
  std::unique_ptr<BodySource> body_stream;
  bool ok() const { return outcome == Outcome::kOk; }
};

class UpstreamClient {
 public:
  UpstreamClient(boost::asio::any_io_executor executor, std::shared_ptr<boost::asio::ssl::context> tls,
                 UpstreamOptions options = {});
  ~UpstreamClient();
  UpstreamClient(const UpstreamClient&) = delete;
  UpstreamClient& operator=(const UpstreamClient&) = delete;

  // Sends `request` to `base`'s host and reads the answer's header, by `deadline`. The
  // body sent is request.body, or what `body_stream` yields when it is set. A pooled connection the
  // upstream closed meanwhile is replaced transparently, once; a streamed request body,
  // which cannot be sent twice, always goes over a new connection.
  boost::asio::awaitable<UpstreamResult> Send(const BaseUrl& base, const UpstreamRequest& request,
                                              BodySource* body_stream,
                                              std::chrono::steady_clock::time_point deadline);
  // Send, the answer put in `result` (a default one): the proxy's form. A returned answer
  // is moved from the coroutine's local to its return slot and then to the caller's.
  boost::asio::awaitable<void> SendInto(const BaseUrl& base, const UpstreamRequest& request,
                                        BodySource* body_stream,
                                        std::chrono::steady_clock::time_point deadline,
                                        UpstreamResult& result);

  // Idle connections currently pooled (for metrics and tests).
  size_t idle_connections() const;

  // Closes every idle connection (shutdown).
  void CloseIdle();

  struct Connection;  // upstream_client.cc
  struct Pool;        // idle connections by "scheme://host:port"

 private:
  // A new connection to `base`, or null with `failure`'s outcome and error set.
  boost::asio::awaitable<std::unique_ptr<Connection>> Connect(const BaseUrl& base,
                                                              std::chrono::steady_clock::time_point deadline,
                                                              UpstreamResult& failure);
  // Takes the plain answer that Exchange found whole in the connection's buffer (its
  // header as scanned into the thread's ScannedHeader, and its body, less the fields
  // `drop_field` names), pooling the connection when it may be reused. Called with no
  // co_await since the scan.
  void TakePlain(std::unique_ptr<Connection> connection, const std::string& key,
                 bool (*drop_field)(std::string_view name), UpstreamResult& result);
  // With the answer's header in: reads a small body whole (pooling the connection), or
  // leaves a large one to stream from `result.body_stream`.
  boost::asio::awaitable<void> TakeBody(
      std::unique_ptr<Connection> connection,
      boost::beast::http::response_parser<boost::beast::http::empty_body>& header_parser,
      const std::string& key, std::chrono::steady_clock::time_point deadline, UpstreamResult& result);

  boost::asio::any_io_executor executor_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  UpstreamOptions options_;
  // Shared with the bodies still streaming, which return their connection when done.
  std::shared_ptr<Pool> pool_;
  std::unique_ptr<Watchdog> watchdog_;  // deadlines of every connection
};

// A TLS client context that verifies peers against the system's CA store, plus the
// certificates in `extra_ca_file` (PEM) when set (private CAs of internal APIs).
StatusOr<std::shared_ptr<boost::asio::ssl::context>> MakeClientTlsContext(
    const std::string& extra_ca_file = "");

}  // namespace latchkey::gateway
