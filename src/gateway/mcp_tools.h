// latchkey's own MCP tools (SPEC §5), run through the same ProxyRuntime as the HTTP proxy:
//   list_connections  the connections the agent's policy lets it use (never a secret)
//   http_request      one call through the proxy runtime; every latchkey problem and every
//                     upstream failure comes back isError, never as something that looks done
//   request_access    the consent link a human must open for more scopes (or to reconnect)
// When a human is needed and the client declared URL elicitation, the link is also shown
// through elicitation/create in URL mode.
//
// Each tool acts for the Caller the transport attached to the request
// (std::shared_ptr<const Caller> in mcp::RequestContext::caller()), and must run on one of
// the runtime's worker executors.
#pragma once

#include <cstddef>

#include "gateway/proxy/proxy_runtime.h"
#include "mcp/server.h"

namespace latchkey::gateway {

struct McpToolOptions {
  size_t max_body_bytes = size_t{256} * 1024;  // of an answer's body put in a tool result
};

void AddLatchkeyTools(mcp::Server& server, ProxyRuntime& runtime, McpToolOptions options = {});

// The server latchkey offers over MCP (`latchkey mcp`, /mcp): its identity and its tools.
std::shared_ptr<mcp::Server> MakeLatchkeyMcpServer(ProxyRuntime& runtime, McpToolOptions options = {});

}  // namespace latchkey::gateway
