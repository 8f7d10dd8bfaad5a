// Which API base URLs a provider's connections may use (SPEC §10): its api_base_url, and
// URLs matching one of its extra_api_base_urls patterns, where the host may begin with
// "*." for one or more labels ("https://*.my.salesforce.com"). A token response's
// instance_url, an imported document's, and every stored connection's base URL must
// pass, so a hostile or mixed-up authorization server cannot send a connection's calls,
// and its token, to a host of its choosing. Pure functions; any thread.
#pragma once

#include <string>
#include <string_view>

#include "provider/provider.h"

namespace latchkey::provider {

// True when `url` is `provider`'s api_base_url or matches one of its extra_api_base_urls:
// the same scheme and port, the host equal (any case) or below a "*." pattern's domain,
// and the pattern's path a prefix of the URL's at a segment boundary.
bool IsAllowedApiBaseUrl(const ProviderDefinition& provider, std::string_view url);

// Whether `url` matches one `pattern` (as above).
bool MatchesApiBaseUrlPattern(std::string_view pattern, std::string_view url);

namespace internal {
// Empty when `pattern` is a well-formed extra_api_base_urls entry, else the reason.
std::string ApiBaseUrlPatternProblem(std::string_view pattern);
}  // namespace internal

}  // namespace latchkey::provider
