#include "oauth/discovery.h"

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "common/url.h"
#include "oauth/url_policy.h"

namespace latchkey::oauth {
namespace {

using nlohmann::json;

std::string_view WithoutTrailingSlash(std::string_view url) {
  if (!url.empty() && url.back() == '/') url.remove_suffix(1);
  return url;
}

std::string StringMember(const json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> StringList(const json& object, const char* name) {
  std::vector<std::string> out;
  auto it = object.find(name);
  if (it == object.end() || !it->is_array()) return out;
  for (const json& item : *it) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

}  // namespace

StatusOr<std::vector<std::string>> DiscoveryUrls(std::string_view issuer) {
  StatusOr<Url> url = ParseHttpUrl(issuer);
  if (!url.ok() || !IsAllowedEndpointUrl(issuer)) {
    return InvalidArgumentError("issuer '" + ToDisplayText(issuer, 256) +
                                "' must be an https URL (plain http only on loopback)");
  }
  if (url->has_query) {
    return InvalidArgumentError("issuer '" + ToDisplayText(issuer, 256) + "' must not have a query");
  }
  const std::string origin = url->Origin();
  const std::string path(WithoutTrailingSlash(url->path));
  std::vector<std::string> urls = {origin + "/.well-known/oauth-authorization-server" + path};
  if (!path.empty()) urls.push_back(origin + "/.well-known/openid-configuration" + path);
  urls.push_back(origin + path + "/.well-known/openid-configuration");
  return urls;
}

StatusOr<AuthorizationServerMetadata> ParseAuthorizationServerMetadata(std::string_view body,
                                                                       std::string_view expected_issuer) {
  json document = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object()) {
    return InvalidArgumentError("the metadata for issuer '" + std::string(expected_issuer) +
                                "' is not a JSON object");
  }
  AuthorizationServerMetadata out;
  out.issuer = StringMember(document, "issuer");
  if (WithoutTrailingSlash(out.issuer) != WithoutTrailingSlash(expected_issuer)) {
    std::string named = out.issuer.substr(0, 200);
    return FailedPreconditionError("the metadata for issuer '" + std::string(expected_issuer) +
                                   "' names a different issuer ('" + named +
                                   "'); refusing it (RFC 8414 §3.3)");
  }
  out.authorization_endpoint = StringMember(document, "authorization_endpoint");
  out.token_endpoint = StringMember(document, "token_endpoint");
  out.revocation_endpoint = StringMember(document, "revocation_endpoint");
  out.device_authorization_endpoint = StringMember(document, "device_authorization_endpoint");
  out.userinfo_endpoint = StringMember(document, "userinfo_endpoint");
  out.jwks_uri = StringMember(document, "jwks_uri");
  out.code_challenge_methods_supported = StringList(document, "code_challenge_methods_supported");
  out.scopes_supported = StringList(document, "scopes_supported");
  out.grant_types_supported = StringList(document, "grant_types_supported");
  if (auto iss = document.find("authorization_response_iss_parameter_supported");
      iss != document.end() && iss->is_boolean()) {
    out.authorization_response_iss_parameter_supported = iss->get<bool>();
  }
  if (out.token_endpoint.empty()) {
    return InvalidArgumentError("the metadata for issuer '" + std::string(expected_issuer) +
                                "' has no token_endpoint");
  }
  const std::pair<const char*, const std::string*> endpoints[] = {
      {"authorization_endpoint", &out.authorization_endpoint},
      {"token_endpoint", &out.token_endpoint},
      {"revocation_endpoint", &out.revocation_endpoint},
      {"device_authorization_endpoint", &out.device_authorization_endpoint},
      {"userinfo_endpoint", &out.userinfo_endpoint},
      {"jwks_uri", &out.jwks_uri},
  };
  for (const auto& [name, value] : endpoints) {
    if (!value->empty() && !IsAllowedEndpointUrl(*value)) {
      return FailedPreconditionError("the metadata for issuer '" + std::string(expected_issuer) + "' has a " +
                                     name + " that is not an https URL");
    }
  }
  return out;
}

MetadataDiscovery::MetadataDiscovery(HttpClient& http, HttpLimits limits)
    : http_(http), limits_(std::move(limits)) {}

StatusOr<AuthorizationServerMetadata> MetadataDiscovery::Discover(std::string_view issuer) const {
  LATCHKEY_ASSIGN_OR_RETURN(std::vector<std::string> urls, DiscoveryUrls(issuer));
  std::string tried;
  for (const std::string& url : urls) {
    HttpRequest request;
    request.method = "GET";
    request.url = url;
    request.headers.emplace_back("Accept", "application/json");
    StatusOr<HttpResponse> response = http_.Send(request, limits_);
    if (!response.ok())
      return response.status().WithContext("discovery for issuer '" + std::string(issuer) + "'");
    const int status = response->status;
    if (status == 429 || status >= 500) {
      return UnavailableError("discovery for issuer '" + std::string(issuer) +
                              "': " + UrlHostForMessages(url) + " answered HTTP " + std::to_string(status));
    }
    if (!tried.empty()) tried += ", ";
    tried += url + " (HTTP " + std::to_string(status) + ")";
    if (status < 200 || status >= 300) continue;
    StatusOr<AuthorizationServerMetadata> metadata = ParseAuthorizationServerMetadata(response->body, issuer);
    if (!metadata.ok() && metadata.status().code() == StatusCode::kInvalidArgument) continue;  // not metadata
    if (metadata.ok()) metadata->document_url = url;
    return metadata;
  }
  return NotFoundError("no authorization server metadata found for issuer '" + std::string(issuer) +
                       "'; tried " + tried);
}

}  // namespace latchkey::oauth
