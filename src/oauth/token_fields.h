// Interpreting loosely typed fields of RFC 6749 token responses: granted scope lists
// and access-token lifetimes. Pure functions: any thread.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/secret_string.h"

namespace latchkey::oauth {

// Lifetimes above this are treated as unknown (a provider bug, or "never" in disguise).
inline constexpr std::chrono::seconds kLongestPlausibleLifetime = std::chrono::hours(24 * 365 * 10);

// Splits a granted-scope string on the provider's separator (and, leniently, on spaces
// and commas, which providers mix), dropping empties and duplicates.
std::vector<std::string> SplitScopes(std::string_view scopes, std::string_view separator);

// Joins requested scopes with the provider's separator.
std::string JoinScopes(const std::vector<std::string>& scopes, std::string_view separator);

// RFC 6749 §3.3 scope-token: 1 to 200 of %x21 / %x23-5B / %x5D-7E, and no ',' (the
// separator of some providers, where one would smuggle in another scope).
bool IsScopeToken(std::string_view scope);

// The token_type as latchkey stores and sends it: "Bearer" for a bearer token in any
// case (RFC 6750 §4 registers the type case-insensitively, and servers send "bearer")
// and when the server named none; any other type (DPoP, say) as given.
std::string NormalizeTokenType(std::string_view token_type);
// The Authorization value that presents an access token: "<type> <token>", the type
// normalized as above (vault::Credential::ForAccessToken, for requests to an API).
SecretString AuthorizationValue(std::string_view token_type, const SecretString& access_token);
// The Authorization value of HTTP Basic (RFC 7617): "Basic " and base64 of "user:password".
// The one place it is built: an API's Basic credential, and a client's id and secret at
// a token endpoint (form-encoded first, RFC 6749 §2.3.1).
SecretString BasicAuthorizationValue(std::string_view user, const SecretString& password);
// The other way, as a token endpoint reads a client's credentials: the user and password
// of an "Authorization: Basic ..." value, each form-decoded (RFC 6749 §2.3.1); nullopt
// when the value is of another scheme or malformed.
struct BasicCredential {
  std::string user;
  SecretString password;
};
std::optional<BasicCredential> ParseBasicAuthorization(std::string_view authorization);

// Interprets an expires_in value given as text: "3600" → 3600 s. Zero, negative,
// non-numeric and over ten years → nullopt (treated as unknown expiry).
std::optional<std::chrono::seconds> ParseExpiresIn(std::string_view text);
// The same for an expires_in member as JSON gives it: an integer, a number with a
// fraction (cut to whole seconds; 0 < seconds <= kLongestPlausibleLifetime, so no value
// such as 1e308 is converted out of range), or text.
std::optional<std::chrono::seconds> ExpiresInFromJson(const nlohmann::json& value);

// When the refresh token dies by the token response's own word (`tokens` is the object
// holding the tokens): refresh_token_expires_in (GitHub apps), x_refresh_token_expires_in
// (Intuit) or refresh_expires_in (Keycloak), in seconds from `now`, each read as
// expires_in is; else refresh_token_expires_at or refresh_expires_at in seconds since the
// epoch. Nothing when none is there, or none is after `now` and within
// kLongestPlausibleLifetime of it (Keycloak says 0 for "does not expire").
std::optional<TimePoint> RefreshExpiresAtFromJson(const nlohmann::json& tokens, TimePoint now);

}  // namespace latchkey::oauth
