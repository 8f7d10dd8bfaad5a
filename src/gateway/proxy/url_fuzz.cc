// Fuzzes the URLs a hostile or mixed-up authorization server can hand latchkey as a
// connection's API base URL (Salesforce instance_url, an imported document's), and that
// an operator writes in provider entries. Properties: what the allow-list check accepts
// for a pattern is what the proxy then connects to: https, the pattern's port, a host
// under the pattern's domain, the pattern's path as a segment prefix; the proxy's URL
// split holds no user info and gives a Host header without spaces or controls; the
// provider and OAuth URL rules agree; common/url's ParseHttpUrl gives a lowercase host
// without user info, and its Origin() parses back to the same origin.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/ascii.h"
#include "common/url.h"
#include "gateway/http/base_url.h"
#include "gateway/proxy/proxy_target.h"
#include "oauth/url_policy.h"
#include "provider/api_base_urls.h"
#include "provider/endpoint_url.h"
#include "support/fuzz_check.h"
#include "support/fuzz_input.h"

namespace {}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace latchkey;
  const std::string_view url = fuzz::AsText(data, size);

  auto base = gateway::ParseBaseUrl(url);
  if (base.ok()) {
    FUZZ_CHECK(!base->host.empty() && base->host.find('@') == std::string::npos);
    for (char c : base->host_header) FUZZ_CHECK(c > 0x20 && c != 0x7f);
    FUZZ_CHECK(base->origin.starts_with(base->tls ? "https://" : "http://"));
    FUZZ_CHECK(base->path.empty() || base->path.front() == '/');
  }

  if (provider::MatchesApiBaseUrlPattern("https://*.my.salesforce.com", url)) {
    FUZZ_CHECK(base.ok() && base->tls && base->port == "443");
    FUZZ_CHECK(AsciiLower(base->host).ends_with(".my.salesforce.com"));
  }
  if (provider::MatchesApiBaseUrlPattern("https://api.example.com:8443/v2", url)) {
    FUZZ_CHECK(base.ok() && base->tls && base->port == "8443");
    FUZZ_CHECK(AsciiLower(base->host) == "api.example.com");
    FUZZ_CHECK(base->path == "/v2" || base->path.starts_with("/v2/"));
  }
  if (provider::internal::EndpointUrlProblem(url).empty()) FUZZ_CHECK(oauth::IsAllowedEndpointUrl(url));

  if (StatusOr<Url> parsed = ParseHttpUrl(url); parsed.ok()) {
    FUZZ_CHECK(parsed->https() || parsed->scheme == "http");
    FUZZ_CHECK(!parsed->host.empty() && AsciiLower(parsed->host) == parsed->host);
    FUZZ_CHECK(parsed->host.find('@') == std::string::npos && parsed->port != 0);
    StatusOr<Url> origin = ParseOrigin(parsed->Origin());
    FUZZ_CHECK(origin.ok() && origin->Origin() == parsed->Origin());
  }
  (void)provider::internal::ApiBaseUrlPatternProblem(url);
  return 0;
}
