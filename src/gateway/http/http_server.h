// HttpServer: the gateway's HTTP/1.1 listener on Boost.Beast. One io_context and one
// thread per worker (default: one per core); each accepted connection lives on one
// worker for its whole life, so a handler and everything it touches on that worker
// (e.g. its UpstreamClient) needs no strand. Keep-alive, header and body limits, read and
// write timeouts, and a graceful drain on Stop(). The handler owns routing.
//
//   auto server = HttpServer::Listen(options);            // binds; workers exist, idle
//   ... build per-worker objects with (*server)->executor(i) ...
//   (*server)->Serve([&](Request& req, int worker) -> asio::awaitable<Response> {...});
//   WaitForShutdownSignal();
//   (*server)->Stop();
// Start/Stop/port from a thread that is not one of the server's.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "gateway/http/message.h"

namespace latchkey::gateway {

struct HttpServerOptions {
  std::string host = "127.0.0.1";  // an IP address or a name that resolves to one
  uint16_t port = 8787;            // 0 picks an ephemeral port (see HttpServer::port())
  int workers = 0;                 // 0 means std::thread::hardware_concurrency()
  uint32_t max_header_bytes = 16 * 1024;
  uint64_t max_body_bytes = uint64_t{10} * 1024 * 1024;  // the cap, whole or streamed
  // A request body of at most this many declared bytes is read whole before the handler
  // runs; a larger one, or one of unknown length (chunked), reaches the handler as a
  // stream (Request::body_stream).
  uint64_t max_buffered_body = uint64_t{1024} * 1024;
  std::chrono::milliseconds idle_timeout{60000};    // for the header of the next request on a connection
  std::chrono::milliseconds read_timeout{30000};    // for the body, once the header is in (each read)
  std::chrono::milliseconds body_deadline{300000};  // for the whole of a streamed body
  std::chrono::milliseconds write_timeout{60000};
  // After its last answer on a connection, how long the server goes on reading and
  // dropping what the client still sends, until the client closes (a lingering close, RFC
  // 9112 §9.6): closing on unread bytes resets the connection, which can destroy the answer
  // before the client reads it. 0 closes at once.
  std::chrono::milliseconds linger_timeout{2000};
  // How long Stop() waits for requests already being answered before cutting them off.
  std::chrono::milliseconds shutdown_grace{10000};
  // Client connections open at once. At the cap, a new connection takes the place of the
  // oldest one waiting for a request (idle keep-alive, or a header still arriving), or is
  // closed at once when none waits, so idle connections can never keep /healthz or an
  // agent out, nor exhaust file descriptors. 0: DefaultMaxConnections().
  size_t max_connections = 0;
};

// The cap that fits the process's file descriptors (RLIMIT_NOFILE): half of what is left
// after a reserve for the store, files and pools (each proxied call may hold an upstream
// socket too), and at most kMaxConnectionsDefault, whose memory README.md states.
inline constexpr size_t kMaxConnectionsDefault = 4096;
size_t DefaultMaxConnections();

// Runs on the worker's thread. Must not block: hand blocking work to a thread pool.
using RequestHandler = std::function<boost::asio::awaitable<Response>(Request& request, int worker)>;

// Asked about every request that has a body, with its header only, before any of the
// body is read (or a 100 Continue sent): an answer refuses the request (it is sent with
// Connection: close, as the unread body leaves the connection unusable); nullopt lets
// the body be read and the handler run. So a client that may not make a request cannot
// make the server read, buffer or wait for its body. What the gate sets in
// `header.admission` reaches the handler in the request's. Same thread rules as the handler.
using RequestGate =
    std::function<boost::asio::awaitable<std::optional<Response>>(Request& header, int worker)>;

class HttpServer {
 public:
  // Binds and listens (kUnavailable naming the address if it cannot, e.g. the port is
  // taken; kInvalidArgument if the host does not resolve). Nothing is accepted yet.
  // Every deadline of a connection (the timeouts above) is on `steady`.
  static StatusOr<std::unique_ptr<HttpServer>> Listen(const HttpServerOptions& options,
                                                      const MonotonicClock& steady = SteadyClock::Instance());

  // Starts the worker threads and accepting; each request goes to `handler` (through
  // `gate` first when it has a body and a gate is given). Once.
  Status Serve(RequestHandler handler, RequestGate gate = {});

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();  // Stop()

  uint16_t port() const;
  int workers() const;
  // The executor of worker `i` (for per-worker objects the handler uses).
  boost::asio::any_io_executor executor(int worker) const;

  // Graceful and idempotent: stops accepting, closes idle keep-alive connections, lets
  // requests already received finish (up to shutdown_grace), joins the threads.
  void Stop();

  class Impl;  // http_server.cc

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Blocks until SIGINT or SIGTERM arrives (for `latchkey serve`). Call from the main
// thread; while it waits, those signals no longer terminate the process.
void WaitForShutdownSignal();

}  // namespace latchkey::gateway
