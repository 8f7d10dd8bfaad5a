#include "vault/account_identity.h"

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "oauth/discovery.h"
#include "oauth/token_fields.h"
#include "vault/credential.h"

namespace latchkey::vault {
namespace {

using nlohmann::json;

constexpr std::chrono::minutes kJwksRefetchInterval{1};
constexpr size_t kMaxIdLength = 255;
constexpr size_t kMaxLabelLength = 200;

oauth::HttpLimits IdentityLimits() {
  oauth::HttpLimits limits;
  limits.total_timeout = std::chrono::seconds(10);
  limits.max_response_bytes = std::size_t{256} * 1024;
  return limits;
}

// What a hostile server put in a claim, made fit to store and show.
std::string Printable(std::string_view text, size_t max) {
  return ToDisplayText(text.substr(0, 4 * max), max);
}

// A JSON scalar as text (GitHub's ids are numbers); "" for anything else.
std::string ScalarText(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer() || value.is_number_unsigned()) return value.dump();
  return "";
}

const json* AtPointer(const json& document, const std::string& pointer) {
  json::json_pointer parsed;
  try {
    parsed = json::json_pointer(pointer);
  } catch (const json::exception&) {
    return nullptr;  // the provider entry's validation makes this unreachable
  }
  // contains() throws, rather than answering false, where the document has an array and
  // the pointer's token there is empty or a number past size_t ("/accounts//id" against
  // {"accounts": []}): the document is the upstream's, so that is a missing value.
  try {
    return document.contains(parsed) ? &document.at(parsed) : nullptr;
  } catch (const json::exception&) {
    return nullptr;
  }
}

std::string Where(const provider::ProviderDefinition& provider) { return "provider '" + provider.name + "'"; }

}  // namespace

std::string DescribeAccount(std::string_view id, std::string_view label) {
  if (id.empty()) return label.empty() ? "unknown" : std::string(label) + " (id unknown)";
  if (label.empty() || label == id) return "id " + std::string(id);
  return std::string(label) + " (id " + std::string(id) + ")";
}

AccountIdentities::AccountIdentities(oauth::HttpClient& http, const Clock& clock)
    : http_(http), clock_(clock) {}

StatusOr<Account> AccountIdentities::Identify(const provider::ProviderDefinition& provider,
                                              const oauth::TokenResponse& tokens, std::string_view client_id,
                                              std::string_view nonce) const {
  // Without an issuer there is nothing to check an ID token's `iss` against (Microsoft's
  // "common" endpoints serve every tenant): the identity endpoint says who it is instead.
  if (!tokens.id_token.empty() && !provider.issuer.empty()) {
    return FromIdToken(provider, tokens.id_token, client_id, nonce);
  }
  if (!provider.identity_url.empty() || !provider.userinfo_url.empty()) {
    return FromIdentityEndpoint(provider, tokens.token_type, tokens.access_token);
  }
  return Account{};
}

StatusOr<Account> AccountIdentities::FromIdToken(const provider::ProviderDefinition& provider,
                                                 const SecretString& id_token, std::string_view client_id,
                                                 std::string_view nonce) const {
  std::string jwks_url = provider.jwks_url;
  if (jwks_url.empty()) {
    StatusOr<oauth::AuthorizationServerMetadata> metadata =
        oauth::MetadataDiscovery(http_, IdentityLimits()).Discover(provider.issuer);
    if (!metadata.ok()) {
      return metadata.status().WithContext("finding the signing keys of " + Where(provider) +
                                           " to check its ID token");
    }
    jwks_url = metadata->jwks_uri;
    if (jwks_url.empty()) {
      return FailedPreconditionError(Where(provider) + " returned an ID token, but its issuer " +
                                     provider.issuer +
                                     " publishes no jwks_uri to check it with; nothing was stored");
    }
  }
  oauth::IdTokenExpectations expect;
  expect.issuer = provider.issuer;
  expect.client_id = std::string(client_id);
  expect.nonce = std::string(nonce);
  expect.now = clock_.Now();

  StatusOr<oauth::IdTokenClaims> claims = InternalError("unreachable");
  for (bool refresh : {false, true}) {
    LATCHKEY_ASSIGN_OR_RETURN(std::shared_ptr<const oauth::Jwks> keys, KeySet(jwks_url, refresh));
    claims = oauth::VerifyIdToken(id_token.reveal(), *keys, expect);
    if (claims.ok() || claims.status().code() != StatusCode::kNotFound) break;  // kNotFound: unknown key
  }
  if (!claims.ok()) {
    return Status(claims.status().code() == StatusCode::kNotFound ? StatusCode::kPermissionDenied
                                                                  : claims.status().code(),
                  claims.status().message() + " (" + Where(provider) + "); nothing was stored");
  }
  Account account;
  account.id = Printable(claims->sub, kMaxIdLength);
  for (const std::string* label : {&claims->email, &claims->preferred_username, &claims->name}) {
    if (account.label.empty()) account.label = Printable(*label, kMaxLabelLength);
  }
  account.source = "id_token";
  return account;
}

StatusOr<Account> AccountIdentities::FromIdentityEndpoint(const provider::ProviderDefinition& provider,
                                                          std::string_view token_type,
                                                          const SecretString& access_token) const {
  const std::string& url = provider.identity_url.empty() ? provider.userinfo_url : provider.identity_url;
  oauth::HttpRequest request;
  request.method = "GET";
  request.url = url;
  request.headers = {{"Accept", "application/json"}};
  request.authorization = Credential::ForAccessToken(token_type, access_token).value;
  const std::string host = oauth::UrlHostForMessages(url);
  StatusOr<oauth::HttpResponse> response = http_.Send(request, IdentityLimits());
  if (!response.ok()) return response.status().WithContext("asking " + host + " which account this is");
  if (response->status < 200 || response->status > 299) {
    return UnavailableError("the identity endpoint of " + Where(provider) + " (" + host + ") answered HTTP " +
                            std::to_string(response->status) + ", so the account is not known");
  }
  const json document = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object()) {
    return UnavailableError("the identity endpoint of " + Where(provider) + " (" + host +
                            ") did not answer a JSON object");
  }
  const std::string id_pointer = provider.identity_id_pointer.empty() ? "/sub" : provider.identity_id_pointer;
  const json* id = AtPointer(document, id_pointer);
  Account account;
  if (id != nullptr) account.id = Printable(ScalarText(*id), kMaxIdLength);
  if (account.id.empty()) {
    return UnavailableError("the identity endpoint of " + Where(provider) + " (" + host +
                            ") has no account id at " + id_pointer);
  }
  if (!provider.identity_label_pointer.empty()) {
    if (const json* label = AtPointer(document, provider.identity_label_pointer))
      account.label = Printable(ScalarText(*label), kMaxLabelLength);
  } else {
    for (const char* pointer : {"/email", "/preferred_username", "/login", "/name"}) {
      const json* label = AtPointer(document, pointer);
      if (account.label.empty() && label != nullptr)
        account.label = Printable(ScalarText(*label), kMaxLabelLength);
    }
  }
  account.source = "identity_endpoint";
  return account;
}

StatusOr<std::shared_ptr<const oauth::Jwks>> AccountIdentities::KeySet(const std::string& url,
                                                                       bool refresh) const {
  const TimePoint now = clock_.Now();
  {
    std::lock_guard lock(mutex_);
    auto cached = jwks_.find(url);
    if (cached != jwks_.end() && (!refresh || now - cached->second.fetched_at < kJwksRefetchInterval)) {
      return cached->second.keys;
    }
  }
  oauth::HttpRequest request;
  request.method = "GET";
  request.url = url;
  request.headers = {{"Accept", "application/jwk-set+json, application/json"}};
  const std::string host = oauth::UrlHostForMessages(url);
  StatusOr<oauth::HttpResponse> response = http_.Send(request, IdentityLimits());
  if (!response.ok()) return response.status().WithContext("fetching the signing keys (JWKS) from " + host);
  if (response->status != 200) {
    return UnavailableError("the signing keys (JWKS) at " + host + " answered HTTP " +
                            std::to_string(response->status));
  }
  StatusOr<oauth::Jwks> parsed = oauth::Jwks::Parse(response->body);
  if (!parsed.ok()) {
    // The issuer's fault, not the token's: the account is then unknown, never "forged".
    return UnavailableError("the signing keys (JWKS) from " + host +
                            " cannot be used: " + parsed.status().message());
  }
  auto keys = std::make_shared<const oauth::Jwks>(std::move(*parsed));
  std::lock_guard lock(mutex_);
  jwks_[url] = CachedKeys{keys, now};
  return keys;
}

}  // namespace latchkey::vault
