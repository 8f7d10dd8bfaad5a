// Path safety for ANY /proxy/{connection}/{path...} (SPEC §4): splits the request target,
// and refuses anything that could leave the connection's API base URL or smuggle a
// header: absolute-form targets, `.`/`..` segments (raw, percent-encoded or double
// encoded, with `;` parameters), encoded or raw slashes and backslashes that change the
// segment structure, empty segments (`//`), control characters (CR, LF, NUL...) raw or
// encoded anywhere, and malformed percent-encoding. Pure functions; any thread.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace latchkey::gateway {

inline constexpr std::string_view kProxyPrefix = "/proxy/";

struct ProxyTarget {
  std::string connection;    // a valid slug
  std::string raw_path;      // starts with '/', percent-encoding as the agent sent it: forwarded
  std::string decoded_path;  // percent-decoded once: what the policy globs match
  std::string raw_query;     // without '?', forwarded as is (may be empty)
  // raw_path + query with every value replaced, for audit and logs: printable ASCII by
  // construction (a decoded path may hold any byte, e.g. %FF, which a store refuses as text).
  std::string redacted;
};

// kInvalidArgument with a short reason ("the path contains a '..' segment") for an unsafe
// or malformed target. `target` is the HTTP request target, starting with kProxyPrefix.
// Fills `out` (unspecified on an error): the proxy parses into the call's own.
Status ParseProxyTarget(std::string_view target, ProxyTarget& out);

inline StatusOr<ProxyTarget> ParseProxyTarget(std::string_view target) {
  ProxyTarget out;
  LATCHKEY_RETURN_IF_ERROR(ParseProxyTarget(target, out));
  return out;
}

// "a=1&b=secret" -> "a=***&b=***" (names kept, values never logged or audited).
std::string RedactQuery(std::string_view query);

}  // namespace latchkey::gateway
