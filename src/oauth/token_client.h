// TokenClient: speaks RFC 6749 / 8628 / 7009 to one provider's token, device and
// revocation endpoints on behalf of one OAuth client (id + secret). It builds the
// request (client authentication, scopes, the provider's extra parameters and
// headers), sends it through the injected HttpClient and classifies the answer
// (token_response_parser.h). It keeps no state between calls and never retries:
// backoff and single-flight belong to the caller (vault). Immutable after
// construction; any thread may call it if the HttpClient allows (all of ours do).
// The provider definition is copied; HttpClient and Clock must outlive the client.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/secret_string.h"
#include "oauth/http_client.h"
#include "oauth/token_response_parser.h"
#include "oauth/token_result.h"
#include "provider/provider.h"

namespace latchkey::oauth {

class TokenClient {
 public:
  TokenClient(const provider::ProviderDefinition& provider, std::string client_id, SecretString client_secret,
              HttpClient& http, const Clock& clock, HttpLimits limits = {});

  // Authorization code grant (RFC 6749 §4.1.3) with the PKCE verifier (RFC 7636 §4.5).
  // `code_verifier` may be empty for providers without PKCE.
  TokenResult ExchangeCode(const SecretString& code, std::string_view redirect_uri,
                           const SecretString& code_verifier) const;

  // Refresh (RFC 6749 §6). `scopes` narrows the grant when given. A response without a
  // refresh_token leaves TokenResponse::refresh_token empty: keep the old one.
  TokenResult Refresh(const SecretString& refresh_token,
                      const std::optional<std::vector<std::string>>& scopes = std::nullopt) const;

  // Client credentials grant (RFC 6749 §4.4).
  TokenResult ClientCredentials(const std::vector<std::string>& scopes) const;

  // Device authorization grant (RFC 8628): start, then poll every `interval` while the
  // result is kDevicePending (add 5 s on kDeviceSlowDown).
  DeviceStartResult StartDevice(const std::vector<std::string>& scopes) const;
  TokenResult PollDevice(const SecretString& device_code) const;

  // Token revocation (RFC 7009). `hint` is "refresh_token", "access_token" or empty.
  // kMisconfigured "no_endpoint" when the provider has no revocation_url.
  RevokeResult Revoke(const SecretString& token, std::string_view hint) const;

 private:
  // Form parameters; values may be secrets and are wiped once encoded.
  using Params = std::vector<std::pair<std::string, std::string>>;

  // A POST to `url` with client authentication, `params`, then any `extra_params` whose
  // names `params` does not already use, and the provider's token_request_headers.
  HttpRequest BuildRequest(const std::string& url, Params params,
                           const std::map<std::string, std::string>& extra_params) const;
  ResponseContext Context(const std::string& url, std::vector<std::string_view> redact,
                          bool device_poll = false) const;
  TokenResult RunTokenRequest(const std::string& url, Params params,
                              const std::map<std::string, std::string>& extra_params,
                              std::vector<std::string_view> redact, bool device_poll = false) const;

  provider::ProviderDefinition provider_;
  std::string client_id_;
  SecretString client_secret_;
  HttpClient& http_;
  const Clock& clock_;
  HttpLimits limits_;
};

}  // namespace latchkey::oauth
