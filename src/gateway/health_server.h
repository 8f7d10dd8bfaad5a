// HealthServer: the HTTP/1.1 listener that answers GET /healthz and GET /readyz (SPEC §4)
// until the full gateway lands; everything else gets a 404 problem. It owns its
// io_context, acceptor and I/O threads; the caller owns the returned object and the
// probe's captured state, which must outlive it. Start/Stop/port from any one thread that
// is not an I/O thread of this server; the probe runs concurrently on the I/O threads.
//
//   auto server = HealthServer::Start({.port = 8787}, [&] { return store.Ping(); });
//   if (!server.ok()) return server.status();
//   WaitForShutdownSignal();
//   (*server)->Stop();
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"

namespace latchkey::gateway {

struct HealthServerOptions {
  std::string host = "127.0.0.1";  // an IP address or a name that resolves to one
  uint16_t port = 8787;            // 0 picks an ephemeral port (see HealthServer::port())
  int threads = 0;                 // 0 means std::thread::hardware_concurrency()
  // How long Stop() waits for requests already being answered before cutting them off.
  std::chrono::milliseconds shutdown_grace{5000};
};

// Called for every /readyz request, possibly from several threads at once.
// OK => 200 {"status":"ready"}; an error => 503 {"status":"not_ready","detail":"<message>"}.
using ReadinessProbe = std::function<Status()>;

class HealthServer {
 public:
  // Binds and listens (kUnavailable naming the address if it cannot, e.g. the port is
  // taken; kInvalidArgument if the host does not resolve), then starts the I/O threads.
  static StatusOr<std::unique_ptr<HealthServer>> Start(const HealthServerOptions& options,
                                                       ReadinessProbe probe);

  HealthServer(const HealthServer&) = delete;
  HealthServer& operator=(const HealthServer&) = delete;
  ~HealthServer();  // Stop()

  // The port actually bound (differs from options.port when that was 0).
  uint16_t port() const;

  // Graceful and idempotent: stops accepting, closes idle keep-alive connections, lets
  // requests already received finish (up to options.shutdown_grace), joins the threads.
  void Stop();

  class Impl;  // health_server.cc

 private:
  explicit HealthServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Blocks until SIGINT or SIGTERM arrives (for `latchkey serve`). Call from the main
// thread; while it waits, those signals no longer terminate the process.
void WaitForShutdownSignal();

}  // namespace latchkey::gateway
