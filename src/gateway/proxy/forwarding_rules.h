// What the proxy forwards and what it drops (SPEC §4): the agent's own credentials,
// cookies, proxy and hop-by-hop headers (RFC 9110 §7.6.1) never go upstream, nor do the
// method-override headers many APIs honour (a way to send a DELETE the policy would
// refuse, as a GET); hop-by-hop headers, Set-Cookie and the upstream's own Latchkey-*
// headers (which would pass for latchkey's) never come back. Pure functions; any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "gateway/http/http_server.h"

namespace latchkey::gateway {

// `connection_listed`: the names ConnectionListed() returned for the same request.
// `known`: Beast's code for `name` (http::field::unknown for a name it does not know), as
// a parsed message's fields carry it: the hot path decides on it without comparing names.
bool IsStrippedRequestHeader(boost::beast::http::field known, std::string_view name,
                             const std::vector<std::string>& connection_listed);
bool IsStrippedRequestHeader(std::string_view name, const std::vector<std::string>& connection_listed);
bool IsStrippedResponseHeader(boost::beast::http::field known, std::string_view name);
// `name`: a field name a parser took (no control byte: AsciiEqualsLowerWord).
bool IsStrippedResponseHeader(std::string_view name);

// X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override (any case): stripped from
// requests unless the connection's provider declares one (provider.h).
bool IsMethodOverrideHeader(std::string_view name);

// Header names listed in the request's Connection header (hop-by-hop by declaration), lower case.
std::vector<std::string> ConnectionListed(const Request& request);

// `query` without any `name=...` pair (so an agent cannot supply the injected API key's parameter).
std::string WithoutQueryParam(std::string_view query, std::string_view name);

}  // namespace latchkey::gateway
