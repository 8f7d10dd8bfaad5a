// The Streamable HTTP transport (MCP 2025-11-25, also serving 2025-06-18 and 2025-03-26
// clients): one endpoint taking POST (a message), GET (a stream for messages that belong
// to no request, or the resumption of a stream after Last-Event-ID) and DELETE (the end of
// a session), with sessions named by Mcp-Session-Id.
//
// It knows no HTTP server: the embedding server authenticates the caller, hands each
// request over as an HttpCall and writes back the HttpAnswer, whose body is JSON, empty, or
// an EventSource to write as it yields (text/event-stream).
//
// A POSTed request is answered with JSON when its response is the first and only message it
// produces (the common case: no waiting for a stream); when the handler sends anything first
// (progress, logs, a sampling or elicitation request) the answer is an SSE stream that
// carries those in order and ends with the response. Every stream keeps its events (with
// ids "<stream>_<n>") so a client that lost the connection resumes with Last-Event-ID.
//
// Also: Host and Origin checked against allowed host names (DNS rebinding), the
// MCP-Protocol-Version header checked, Accept and Content-Type checked, idle sessions
// expired, a cap on sessions. Errors come as JSON-RPC error bodies with the HTTP status the
// reference SDK uses. Thread-safe.
#pragma once

#include <any>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/random.h"
#include "mcp/server.h"

namespace latchkey::mcp {

// One HTTP request to the endpoint, as the embedding server hands it over.
struct HttpCall {
  std::string method;                                   // "POST", "GET", "DELETE", ...
  std::function<std::string(std::string_view)> header;  // a request header's value, "" when absent
  std::string body;
  std::string principal;  // who the embedding server authenticated (an agent name)
  std::any caller;        // handed to the handlers of this request (RequestContext::caller())
};

// An SSE body: the next bytes to write, or nullopt once the stream has ended.
class EventSource {
 public:
  virtual ~EventSource() = default;
  virtual boost::asio::awaitable<std::optional<std::string>> Next() = 0;
};

struct HttpAnswer {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::unique_ptr<EventSource> events;  // set: the body is this event stream (body() is empty)
};

struct StreamableHttpOptions {
  // Host names (without port; IPv6 in brackets) accepted in Host and Origin.
  std::vector<std::string> allowed_hosts = {"localhost", "127.0.0.1", "[::1]"};
  size_t max_sessions = 1000;
  // Sessions one principal (agent) may hold, so one cannot take them all from the others.
  size_t max_sessions_per_principal = 100;
  std::chrono::seconds idle_session_timeout{3600};
  std::chrono::milliseconds retry{1000};       // SSE "retry:": how soon a client reconnects
  std::chrono::milliseconds keepalive{15000};  // an SSE comment on a quiet stream
  size_t max_kept_streams = 16;                // finished streams kept per session for resumption
  size_t max_standalone_events = 256;          // the GET stream's events kept for resumption
};

class StreamableHttp {
 public:
  // `steady` times idle sessions.
  StreamableHttp(std::shared_ptr<const Server> server, Random& random, const MonotonicClock& steady,
                 StreamableHttpOptions options = {});
  ~StreamableHttp();  // CloseAll()
  StreamableHttp(const StreamableHttp&) = delete;
  StreamableHttp& operator=(const StreamableHttp&) = delete;

  boost::asio::awaitable<HttpAnswer> Handle(HttpCall call);

  // Ends every session and stream (for a graceful shutdown: open SSE streams end).
  void CloseAll();
  size_t session_count() const;

  class Impl;  // streamable_http.cc

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace latchkey::mcp
