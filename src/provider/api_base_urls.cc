#include "provider/api_base_urls.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "common/ascii.h"
#include "provider/endpoint_url.h"

namespace latchkey::provider {
namespace {

constexpr std::string_view kWildcard = "*.";

// An absolute http(s) URL that passed EndpointUrlProblem, in the parts compared here.
struct UrlParts {
  std::string scheme;     // lower case
  std::string authority;  // lower case: host[:port]
  std::string path;       // without a trailing '/'
};

std::optional<UrlParts> Split(std::string_view url) {
  const size_t colon = url.find("://");
  if (colon == std::string_view::npos) return std::nullopt;
  UrlParts parts{.scheme = AsciiLower(url.substr(0, colon)), .authority = {}, .path = {}};
  std::string_view rest = url.substr(colon + 3);
  const size_t slash = rest.find('/');
  parts.authority = AsciiLower(rest.substr(0, slash));
  if (slash != std::string_view::npos) parts.path = std::string(rest.substr(slash));
  while (!parts.path.empty() && parts.path.back() == '/') parts.path.pop_back();
  return parts;
}

bool HostMatches(std::string_view pattern, std::string_view host) {
  if (!pattern.starts_with(kWildcard)) return pattern == host;
  const std::string_view domain = pattern.substr(1);  // ".my.salesforce.com"
  return host.size() > domain.size() && host.ends_with(domain) &&
         host[host.size() - domain.size() - 1] != '.';
}

// A base URL path the upstream could resolve to another place: dot segments, any
// percent-encoding (which could hide one), empty segments.
bool HasAmbiguousPath(std::string_view path) {
  if (path.find('%') != std::string_view::npos || path.find("//") != std::string_view::npos) return true;
  return path == "/." || path == "/.." || path.find("/./") != std::string_view::npos ||
         path.find("/../") != std::string_view::npos || path.ends_with("/.") || path.ends_with("/..");
}

}  // namespace

bool MatchesApiBaseUrlPattern(std::string_view pattern, std::string_view url) {
  if (!internal::EndpointUrlProblem(url, {.allow_query = false}).empty()) return false;
  std::optional<UrlParts> want = Split(pattern);
  std::optional<UrlParts> got = Split(url);
  if (!want || !got || want->scheme != got->scheme || !HostMatches(want->authority, got->authority) ||
      HasAmbiguousPath(got->path)) {
    return false;
  }
  return got->path == want->path || got->path.starts_with(want->path + "/");
}

bool IsAllowedApiBaseUrl(const ProviderDefinition& provider, std::string_view url) {
  if (!provider.api_base_url.empty() && MatchesApiBaseUrlPattern(provider.api_base_url, url)) {
    // The default itself, or a URL below it.
    return true;
  }
  return std::ranges::any_of(provider.extra_api_base_urls, [&](const std::string& pattern) {
    return MatchesApiBaseUrlPattern(pattern, url);
  });
}

namespace internal {

std::string ApiBaseUrlPatternProblem(std::string_view pattern) {
  std::string concrete(pattern);
  if (const size_t scheme = concrete.find("://");
      scheme != std::string::npos && std::string_view(concrete).substr(scheme + 3).starts_with(kWildcard)) {
    concrete[scheme + 3] = 'x';  // one label stands for what the wildcard matches
  }
  if (concrete.find('*') != std::string::npos) {
    return "a '*' may only begin the host, as in \"https://*.example.com\"";
  }
  return EndpointUrlProblem(concrete, {.allow_query = false});
}

}  // namespace internal
}  // namespace latchkey::provider
