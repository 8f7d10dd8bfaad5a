// ScopeErrorDecoder: recognizes an upstream refusal that means "the token lacks an OAuth
// scope" (SPEC §4 scope_insufficient), in the shapes providers actually send:
//  - RFC 6750 §3.1: WWW-Authenticate: Bearer error="insufficient_scope", scope="..." (any provider);
//  - google: 403 {"error":{"errors":[{"reason":"insufficientPermissions"}]}} or
//    {"error":{"status":"PERMISSION_DENIED","details":[{"reason":"ACCESS_TOKEN_SCOPE_INSUFFICIENT"}]}};
//  - slack: {"ok":false,"error":"missing_scope","needed":"chat:write"} (often with HTTP 200);
//  - github: X-Accepted-OAuth-Scopes that X-OAuth-Scopes does not cover (403 or 404);
//  - microsoft_graph: 403 {"error":{"code":"Authorization_RequestDenied"|"ErrorAccessDenied", ...}}.
// Anything else is not a scope error, so the response passes through untouched. Pure; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace latchkey::gateway {

struct UpstreamRefusal {
  int status = 0;
  std::string www_authenticate;
  std::string accepted_oauth_scopes;  // GitHub X-Accepted-OAuth-Scopes
  std::string content_type;
  std::string_view body;  // possibly cut to a prefix
};

struct ScopeError {
  std::vector<std::string> required;  // empty when the provider does not say
};

// `format` is the provider's quirks.scope_error_format; `granted` the connection's scopes.
std::optional<ScopeError> DecodeScopeError(std::string_view format, const UpstreamRefusal& refusal,
                                           const std::vector<std::string>& granted);

// The auth-params of one Bearer challenge ("Bearer realm=\"x\", error=\"...\""), lower-cased
// names; empty when the header is not a Bearer challenge.
std::vector<std::pair<std::string, std::string>> ParseBearerChallenge(std::string_view header);

}  // namespace latchkey::gateway
