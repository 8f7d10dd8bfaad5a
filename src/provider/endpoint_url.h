// Internal to src/provider/: the rule every URL in a provider entry must pass before
// latchkey sends a credential to it. Pure functions: any thread.
#pragma once

#include <string>
#include <string_view>

namespace latchkey::provider::internal {

struct UrlRules {
  // API base URLs are prefixes the proxy forwards below, so a query makes no sense there.
  bool allow_query = true;
};

// Empty when `url` is an absolute http(s) URL latchkey may talk to; otherwise the
// reason, phrased to follow "field 'x': ".
std::string EndpointUrlProblem(std::string_view url, UrlRules rules = {});

}  // namespace latchkey::provider::internal
