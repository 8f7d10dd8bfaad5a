#include "vault/import_document.h"

#include <nlohmann/json.hpp>

#include "common/json_secrets.h"
#include "oauth/token_fields.h"
#include "provider/api_base_urls.h"

namespace latchkey::vault {
namespace {

using nlohmann::json;
using oauth::ExpiresInFromJson;
using oauth::SplitScopes;

StatusOr<std::string> OptionalString(const json& object, const char* field, std::string_view source) {
  if (!object.contains(field) || object[field].is_null()) return std::string();
  if (!object[field].is_string()) {
    return InvalidArgumentError(std::string(source) + ": field '" + field + "' must be a string");
  }
  return object[field].get<std::string>();
}

StatusOr<std::string> RequiredString(const json& object, const char* field, std::string_view source,
                                     std::string_view why) {
  LATCHKEY_ASSIGN_OR_RETURN(std::string value, OptionalString(object, field, source));
  if (value.empty()) {
    return InvalidArgumentError(std::string(source) + " has no '" + field + "' (" + std::string(why) + ")");
  }
  return value;
}

StatusOr<ImportedCredentials> ParseOAuth(const json& document, std::string_view source,
                                         const provider::ProviderDefinition& provider) {
  const json* tokens = &document;
  if (!provider.quirks.token_path.empty()) {
    // Slack user tokens arrive nested; accept both the whole response and the inner object.
    if (const json* nested = FindJsonPath(document, provider.quirks.token_path);
        nested && nested->is_object()) {
      tokens = nested;
    }
  }
  ImportedCredentials out;
  LATCHKEY_ASSIGN_OR_RETURN(std::string access, RequiredString(*tokens, "access_token", source,
                                                               "an RFC 6749 token response needs one"));
  out.access_token = SecretString(std::move(access));
  LATCHKEY_ASSIGN_OR_RETURN(std::string refresh, OptionalString(*tokens, "refresh_token", source));
  out.refresh_token = SecretString(std::move(refresh));
  LATCHKEY_ASSIGN_OR_RETURN(std::string token_type, OptionalString(*tokens, "token_type", source));
  out.token_type = oauth::NormalizeTokenType(token_type);
  LATCHKEY_ASSIGN_OR_RETURN(std::string scope, OptionalString(*tokens, "scope", source));
  out.scopes = SplitScopes(scope, provider.scope_separator);
  if (tokens->contains("expires_in")) out.expires_in = ExpiresInFromJson((*tokens)["expires_in"]);
  if (!provider.quirks.account_field.empty()) {
    if (const json* account = FindJsonPath(document, provider.quirks.account_field);
        account && account->is_string()) {
      out.account = account->get<std::string>();
    }
  }
  if (!provider.quirks.api_base_url_field.empty()) {
    if (const json* url = FindJsonPath(document, provider.quirks.api_base_url_field);
        url && url->is_string()) {
      out.api_base_url = url->get<std::string>();
      if (!provider::IsAllowedApiBaseUrl(provider, out.api_base_url)) {
        return InvalidArgumentError(std::string(source) + ": field '" + provider.quirks.api_base_url_field +
                                    "' names '" + out.api_base_url.substr(0, 100) + "', which provider '" +
                                    provider.name + "' does not allow (api_base_url, extra_api_base_urls)");
      }
    }
  }
  return out;
}

}  // namespace

StatusOr<ImportedCredentials> ParseImportDocument(std::string_view text, std::string_view source,
                                                  const provider::ProviderDefinition& provider) {
  json document = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) {
    return InvalidArgumentError(std::string(source) +
                                " is not valid JSON (expected a token response object)");
  }
  struct Wiper {
    json& j;
    ~Wiper() { WipeJson(j); }
  } wiper{document};
  if (!document.is_object()) {
    return InvalidArgumentError(std::string(source) + " must hold a JSON object");
  }
  switch (provider.auth) {
    case provider::AuthKind::kOAuth2: return ParseOAuth(document, source, provider);
    case provider::AuthKind::kApiKey: {
      LATCHKEY_ASSIGN_OR_RETURN(
          std::string key, RequiredString(document, "api_key", source,
                                          "provider '" + provider.name + "' takes {\"api_key\": \"...\"}"));
      ImportedCredentials out;
      out.api_key = SecretString(std::move(key));
      return out;
    }
    case provider::AuthKind::kBasic: {
      const std::string why =
          "provider '" + provider.name + "' takes {\"username\": \"...\", \"password\": \"...\"}";
      ImportedCredentials out;
      LATCHKEY_ASSIGN_OR_RETURN(out.username, RequiredString(document, "username", source, why));
      LATCHKEY_ASSIGN_OR_RETURN(std::string password, RequiredString(document, "password", source, why));
      out.password = SecretString(std::move(password));
      return out;
    }
  }
  return InternalError("unknown provider auth kind");
}

}  // namespace latchkey::vault
