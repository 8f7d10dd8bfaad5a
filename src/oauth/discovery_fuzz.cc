// Fuzzes authorization server metadata (RFC 8414 / OIDC Discovery), which a mixed-up or
// hostile issuer controls. Input: the issuer asked for, a newline, the document.
// Properties: a document that parses names the issuer asked for (mix-up defence) and a
// token endpoint, and every endpoint it names is https or loopback http.
#include <cstddef>
#include <cstdint>

#include "oauth/discovery.h"
#include "oauth/url_policy.h"
#include "support/fuzz_check.h"
#include "support/fuzz_input.h"

namespace {

std::string_view WithoutSlash(std::string_view text) {
  if (!text.empty() && text.back() == '/') text.remove_suffix(1);
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace latchkey;
  std::string_view body = fuzz::AsText(data, size);
  const std::string_view issuer = fuzz::NextLine(body);

  if (auto urls = oauth::DiscoveryUrls(issuer); urls.ok()) {
    FUZZ_CHECK(!urls->empty());
    for (const std::string& url : *urls) FUZZ_CHECK(url.find("/.well-known/") != std::string::npos);
  }
  auto metadata = oauth::ParseAuthorizationServerMetadata(body, issuer);
  if (!metadata.ok()) return 0;
  FUZZ_CHECK(WithoutSlash(metadata->issuer) == WithoutSlash(issuer));
  FUZZ_CHECK(!metadata->token_endpoint.empty());
  for (const std::string* url :
       {&metadata->authorization_endpoint, &metadata->token_endpoint, &metadata->revocation_endpoint,
        &metadata->device_authorization_endpoint, &metadata->userinfo_endpoint, &metadata->jwks_uri}) {
    if (!url->empty()) FUZZ_CHECK(oauth::IsAllowedEndpointUrl(*url));
  }
  return 0;
}
