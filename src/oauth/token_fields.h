// Interpreting loosely typed fields of RFC 6749 token responses: granted scope lists
// and access-token lifetimes. Pure functions: any thread.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
// normalized as above. The one place the proxy, `latchkey connection test` and the
// identity lookup build it.
SecretString AuthorizationValue(std::string_view token_type, const SecretString& access_token);

// Interprets an expires_in value given as text: "3600" → 3600 s. Zero, negative,
// non-numeric and over ten years → nullopt (treated as unknown expiry).
std::optional<std::chrono::seconds> ParseExpiresIn(std::string_view text);
// The same for an expires_in member as JSON gives it: an integer, a number with a
// fraction (cut to whole seconds; 0 < seconds <= kLongestPlausibleLifetime, so no value
// such as 1e308 is converted out of range), or text.
std::optional<std::chrono::seconds> ExpiresInFromJson(const nlohmann::json& value);

}  // namespace latchkey::oauth
