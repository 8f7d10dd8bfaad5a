#include "provider/api_base_urls.h"

#include <algorithm>
#include <optional>

#include "common/url.h"
#include "provider/endpoint_url.h"

namespace latchkey::provider {
namespace {

constexpr std::string_view kWildcard = "*.";

// A pattern as a URL: "https://*.my.salesforce.com" parses with one label standing for
// what the wildcard matches ("x.my.salesforce.com").
struct Pattern {
  Url url;
  bool wildcard = false;
};

std::string WithWildcardFilledIn(std::string_view pattern, bool& wildcard) {
  std::string concrete(pattern);
  const size_t scheme = concrete.find("://");
  wildcard =
      scheme != std::string::npos && std::string_view(concrete).substr(scheme + 3).starts_with(kWildcard);
  if (wildcard) concrete[scheme + 3] = 'x';
  return concrete;
}

std::optional<Pattern> ParsePattern(std::string_view text) {
  Pattern pattern;
  StatusOr<Url> url = ParseHttpUrl(WithWildcardFilledIn(text, pattern.wildcard));
  if (!url.ok()) return std::nullopt;
  pattern.url = std::move(*url);
  return pattern;
}

bool HostMatches(const Pattern& pattern, std::string_view host) {
  if (!pattern.wildcard) return pattern.url.host == host;
  const std::string_view domain = std::string_view(pattern.url.host).substr(1);  // ".my.salesforce.com"
  return host.size() > domain.size() && host.ends_with(domain) &&
         host[host.size() - domain.size() - 1] != '.';
}

std::string_view WithoutTrailingSlashes(std::string_view path) {
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  return path;
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
  std::optional<Pattern> want = ParsePattern(pattern);
  StatusOr<Url> got = ParseHttpUrl(url);
  if (!want || !got.ok() || want->url.scheme != got->scheme || want->url.port != got->port ||
      !HostMatches(*want, got->host)) {
    return false;
  }
  const std::string_view want_path = WithoutTrailingSlashes(want->url.path);
  const std::string_view got_path = WithoutTrailingSlashes(got->path);
  if (HasAmbiguousPath(got_path)) return false;
  return got_path == want_path || (got_path.starts_with(want_path) && got_path[want_path.size()] == '/');
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
  bool wildcard = false;
  const std::string concrete = WithWildcardFilledIn(pattern, wildcard);
  if (concrete.find('*') != std::string::npos) {
    return "a '*' may only begin the host, as in \"https://*.example.com\"";
  }
  return EndpointUrlProblem(concrete, {.allow_query = false});
}

}  // namespace internal
}  // namespace latchkey::provider
