// The MCP Streamable HTTP transport (mcp/streamable_http.h) on the gateway's HTTP
// messages: a request becomes an mcp::HttpCall, the answer a Response whose SSE body is
// streamed as the transport yields it (chunked).
#pragma once

#include <any>
#include <boost/asio/awaitable.hpp>
#include <string>

#include "gateway/http/message.h"
#include "mcp/streamable_http.h"

namespace latchkey::gateway {

// `principal` names who the caller authenticated (an agent); `request` must outlive the call.
// `caller` reaches the tool handlers (mcp::RequestContext::caller()).
boost::asio::awaitable<Response> ServeMcp(mcp::StreamableHttp& transport, const Request& request,
                                          std::string principal, std::any caller = {});

}  // namespace latchkey::gateway
