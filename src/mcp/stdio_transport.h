// The stdio transport (MCP "stdio"): newline-delimited JSON-RPC messages on a pair of file
// descriptors, one Session for the process. Standard output carries nothing but protocol
// messages (logs go to standard error). Requests run concurrently, so a long tool call
// does not hold up a ping or a cancellation.
//
//   StdioTransport transport(server, "agent-a", {});
//   Status done = transport.Run(pool.get_executor());  // until standard input ends
//
// Input that is not a message (bad JSON, a line past max_message_bytes) earns an error
// response and the session goes on. When the input ends, requests still running get
// `drain_timeout` to finish and answer, then Run returns.
#pragma once

#include <any>
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "common/status.h"
#include "mcp/server.h"
#include "mcp/session.h"

namespace latchkey::mcp {

struct StdioOptions {
  size_t max_message_bytes = size_t{4} * 1024 * 1024;
  std::chrono::milliseconds drain_timeout{10000};
};

class StdioTransport {
 public:
  // `caller` reaches every handler (RequestContext::caller()).
  StdioTransport(std::shared_ptr<const Server> server, std::string principal, StdioOptions options,
                 std::any caller = {});

  // Reads `in_fd` on the calling thread until it ends, runs handlers on `executor` and
  // writes to `out_fd` from a writer thread. Not re-entrant.
  Status Run(const boost::asio::any_io_executor& executor, int in_fd = 0, int out_fd = 1);

  const std::shared_ptr<Session>& session() const { return session_; }

 private:
  std::shared_ptr<const Server> server_;
  StdioOptions options_;
  std::shared_ptr<Session> session_;
  std::any caller_;
};

}  // namespace latchkey::mcp
