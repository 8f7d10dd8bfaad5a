// Authorization server metadata discovery: RFC 8414 and OpenID Connect Discovery 1.0
// from an issuer URL, path-aware for multi-tenant issuers. Verifies that the document
// names the issuer that was asked for (RFC 8414 §3.3, a mix-up defence) and that every
// endpoint is https (plain http only on loopback). Stateless: any thread may call it if
// the HttpClient allows; the HttpClient must outlive it.
//
//   MetadataDiscovery discovery(http);
//   LATCHKEY_ASSIGN_OR_RETURN(auto metadata, discovery.Discover("https://id.acme.example/t1"));
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "oauth/http_client.h"

namespace latchkey::oauth {

struct AuthorizationServerMetadata {
  std::string issuer;
  std::string authorization_endpoint;
  std::string token_endpoint;  // always set
  std::string revocation_endpoint;
  std::string device_authorization_endpoint;
  std::string userinfo_endpoint;
  std::string jwks_uri;
  std::vector<std::string> code_challenge_methods_supported;
  std::vector<std::string> scopes_supported;
  std::vector<std::string> grant_types_supported;
  // RFC 9207 §3: every authorization response carries `iss`.
  bool authorization_response_iss_parameter_supported = false;
  std::string document_url;  // where the metadata was found
};

// The well-known URLs tried for `issuer`, in order. For "https://host/tenant":
//   https://host/.well-known/oauth-authorization-server/tenant   (RFC 8414 §3.1)
//   https://host/.well-known/openid-configuration/tenant         (RFC 8414 §5)
//   https://host/tenant/.well-known/openid-configuration         (OIDC Discovery §4)
// kInvalidArgument for an issuer that is not https (or http on loopback), or that has a
// query or fragment (RFC 8414 §2).
StatusOr<std::vector<std::string>> DiscoveryUrls(std::string_view issuer);

// Parses one metadata document. kFailedPrecondition when its issuer differs from
// `expected_issuer` (one trailing '/' is ignored on either side) or an endpoint is not
// https; kInvalidArgument when it is not a JSON object or lacks token_endpoint.
StatusOr<AuthorizationServerMetadata> ParseAuthorizationServerMetadata(std::string_view body,
                                                                       std::string_view expected_issuer);

class MetadataDiscovery {
 public:
  explicit MetadataDiscovery(HttpClient& http, HttpLimits limits = {});

  // Tries DiscoveryUrls in order; a 4xx or a 2xx that is not JSON moves on to the next.
  // Network failures, 5xx and 429 stop with kUnavailable (or the HttpClient's code);
  // none found → kNotFound.
  StatusOr<AuthorizationServerMetadata> Discover(std::string_view issuer) const;

 private:
  HttpClient& http_;
  HttpLimits limits_;
};

}  // namespace latchkey::oauth
