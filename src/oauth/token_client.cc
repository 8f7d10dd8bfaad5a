#include "oauth/token_client.h"

#include <sodium.h>

#include <algorithm>
#include <cctype>

#include "common/ascii.h"
#include "oauth/form_encoding.h"
#include "oauth/token_fields.h"

namespace latchkey::oauth {
namespace {

constexpr std::string_view kDeviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code";

TokenError NoEndpoint(std::string_view what) {
  TokenError error;
  error.kind = TokenErrorKind::kMisconfigured;
  error.code = "no_endpoint";
  error.description = "the provider definition has no " + std::string(what);
  return error;
}

}  // namespace

TokenClient::TokenClient(const provider::ProviderDefinition& provider, std::string client_id,
                         SecretString client_secret, HttpClient& http, const Clock& clock, HttpLimits limits)
    : provider_(provider),
      client_id_(std::move(client_id)),
      client_secret_(std::move(client_secret)),
      http_(http),
      clock_(clock),
      limits_(std::move(limits)) {}

HttpRequest TokenClient::BuildRequest(const std::string& url, Params params,
                                      const std::map<std::string, std::string>& extra_params) const {
  HttpRequest request;
  request.method = "POST";
  request.url = url;
  // A client without a secret is a public client, whatever token_auth says.
  bool has_secret = !client_secret_.empty();
  if (has_secret && provider_.token_auth == provider::TokenAuthMethod::kClientSecretBasic) {
    // RFC 6749 §2.3.1: form-encode id and secret before joining them for Basic.
    request.authorization = BasicAuthorizationValue(FormUrlEncode(client_id_),
                                                    SecretString(FormUrlEncode(client_secret_.reveal())));
  } else {
    params.emplace_back("client_id", client_id_);
    if (has_secret && provider_.token_auth == provider::TokenAuthMethod::kClientSecretPost) {
      params.emplace_back("client_secret", std::string(client_secret_.reveal()));
    }
  }
  for (const auto& extra : extra_params) {
    bool taken =
        std::any_of(params.begin(), params.end(), [&](const auto& p) { return p.first == extra.first; });
    if (!taken) params.emplace_back(extra.first, extra.second);
  }
  std::string body = FormEncodePairs(params);
  request.body = SecretString(std::move(body));
  for (auto& [name, value] : params) WipeString(value);

  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  bool accept_overridden = false;
  for (const auto& [name, value] : provider_.quirks.token_request_headers) {
    if (AsciiEqualsIgnoreCase(name, "Authorization") || AsciiEqualsIgnoreCase(name, "Content-Type")) continue;
    if (AsciiEqualsIgnoreCase(name, "Accept")) accept_overridden = true;
    request.headers.emplace_back(name, value);
  }
  if (!accept_overridden) request.headers.emplace_back("Accept", "application/json");
  return request;
}

ResponseContext TokenClient::Context(const std::string& url, std::vector<std::string_view> redact,
                                     bool device_poll) const {
  ResponseContext context;
  context.provider = &provider_;
  context.now = clock_.Now();
  context.endpoint_host = UrlHostForMessages(url);
  context.device_poll = device_poll;
  context.redact = std::move(redact);
  context.redact.push_back(client_secret_.reveal());
  return context;
}

TokenResult TokenClient::RunTokenRequest(const std::string& url, Params params,
                                         const std::map<std::string, std::string>& extra_params,
                                         std::vector<std::string_view> redact, bool device_poll) const {
  if (url.empty()) return NoEndpoint("token_url");
  StatusOr<HttpResponse> response = [&] {
    HttpRequest request = BuildRequest(url, std::move(params), extra_params);
    return http_.Send(request, limits_);
  }();  // the request, and the secrets in it, are wiped here
  if (!response.ok()) return TransportError(response.status());
  TokenResult result = ParseTokenResponse(*response, Context(url, std::move(redact), device_poll));
  WipeString(response->body);
  return result;
}

TokenResult TokenClient::ExchangeCode(const SecretString& code, std::string_view redirect_uri,
                                      const SecretString& code_verifier) const {
  Params params = {{"grant_type", "authorization_code"},
                   {"code", std::string(code.reveal())},
                   {"redirect_uri", std::string(redirect_uri)}};
  if (!code_verifier.empty()) params.emplace_back("code_verifier", std::string(code_verifier.reveal()));
  return RunTokenRequest(provider_.token_url, std::move(params), provider_.token_params,
                         {code.reveal(), code_verifier.reveal()});
}

TokenResult TokenClient::Refresh(const SecretString& refresh_token,
                                 const std::optional<std::vector<std::string>>& scopes) const {
  Params params = {{"grant_type", "refresh_token"}, {"refresh_token", std::string(refresh_token.reveal())}};
  if (scopes && !scopes->empty())
    params.emplace_back("scope", JoinScopes(*scopes, provider_.scope_separator));
  const std::string& url = provider_.refresh_url.empty() ? provider_.token_url : provider_.refresh_url;
  return RunTokenRequest(url, std::move(params), provider_.refresh_params, {refresh_token.reveal()});
}

TokenResult TokenClient::ClientCredentials(const std::vector<std::string>& scopes) const {
  Params params = {{"grant_type", "client_credentials"}};
  if (!scopes.empty()) params.emplace_back("scope", JoinScopes(scopes, provider_.scope_separator));
  return RunTokenRequest(provider_.token_url, std::move(params), provider_.token_params, {});
}

DeviceStartResult TokenClient::StartDevice(const std::vector<std::string>& scopes) const {
  const std::string& url = provider_.device_authorization_url;
  if (url.empty()) return NoEndpoint("device_authorization_url");
  Params params;
  if (!scopes.empty()) params.emplace_back("scope", JoinScopes(scopes, provider_.scope_separator));
  StatusOr<HttpResponse> response = [&] {
    HttpRequest request = BuildRequest(url, std::move(params), {});
    return http_.Send(request, limits_);
  }();
  if (!response.ok()) return TransportError(response.status());
  DeviceStartResult result = ParseDeviceAuthorizationResponse(*response, Context(url, {}));
  WipeString(response->body);
  return result;
}

TokenResult TokenClient::PollDevice(const SecretString& device_code) const {
  Params params = {{"grant_type", std::string(kDeviceCodeGrant)},
                   {"device_code", std::string(device_code.reveal())}};
  return RunTokenRequest(provider_.token_url, std::move(params), provider_.token_params,
                         {device_code.reveal()},
                         /*device_poll=*/true);
}

RevokeResult TokenClient::Revoke(const SecretString& token, std::string_view hint) const {
  const std::string& url = provider_.revocation_url;
  if (url.empty()) return NoEndpoint("revocation_url");
  Params params = {{"token", std::string(token.reveal())}};
  if (!hint.empty()) params.emplace_back("token_type_hint", std::string(hint));
  StatusOr<HttpResponse> response = [&] {
    HttpRequest request = BuildRequest(url, std::move(params), {});
    return http_.Send(request, limits_);
  }();
  if (!response.ok()) return TransportError(response.status());
  RevokeResult result = ParseRevocationResponse(*response, Context(url, {token.reveal()}));
  WipeString(response->body);
  return result;
}

}  // namespace latchkey::oauth
