// ParseProvider: TOML text → ProviderDefinition. This file checks shape (known keys,
// types, enum spellings); provider_validation.cc checks meaning.
#include <array>
#include <cctype>
#include <string>

#include "common/encoding.h"
#include "provider/provider.h"
#include "provider/provider_fields.h"
#include "provider/provider_validation.h"

namespace latchkey::provider {
namespace {

using internal::FieldLocations;
using internal::FieldNames;
using internal::FieldReader;
using internal::kQuirkFields;
using internal::kTopLevelFields;

constexpr auto kTopLevelNames = FieldNames(kTopLevelFields);
constexpr auto kQuirkNames = FieldNames(kQuirkFields);

bool IsEnvVarName(std::string_view name) {
  if (name.empty() || (std::isdigit(static_cast<unsigned char>(name.front())) != 0)) return false;
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '_') return false;
  }
  return true;
}

Status ReadValueSource(FieldReader& reader, std::string_view key, ValueSource& out) {
  std::string raw;
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString(key, raw));
  constexpr std::string_view kEnvPrefix = "env:";
  if (raw.starts_with(kEnvPrefix)) {
    std::string_view name = std::string_view(raw).substr(kEnvPrefix.size());
    if (!IsEnvVarName(name)) {
      return reader.FieldError(key,
                               ": 'env:' must be followed by an environment variable name "
                               "(letters, digits, '_'), e.g. \"env:ACME_CLIENT_SECRET\"");
    }
    out.env_var = std::string(name);
  } else {
    out.literal = SecretString(std::move(raw));
  }
  WipeString(raw);
  return Status::Ok();
}

Status ReadAuthKind(FieldReader& reader, AuthKind& out) {
  std::string raw;
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString("auth", raw));
  if (!reader.Present("auth")) return Status::Ok();  // absence is reported by validation
  for (AuthKind kind : {AuthKind::kOAuth2, AuthKind::kApiKey, AuthKind::kBasic}) {
    if (raw == AuthKindName(kind)) {
      out = kind;
      return Status::Ok();
    }
  }
  return reader.FieldError("auth", ": unknown value '" + raw + "' (allowed: oauth2, api_key, basic)");
}

Status ReadTokenAuth(FieldReader& reader, TokenAuthMethod& out) {
  std::string raw;
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString("token_auth", raw));
  if (!reader.Present("token_auth")) return Status::Ok();
  for (TokenAuthMethod method :
       {TokenAuthMethod::kClientSecretBasic, TokenAuthMethod::kClientSecretPost, TokenAuthMethod::kNone}) {
    if (raw == TokenAuthMethodName(method)) {
      out = method;
      return Status::Ok();
    }
  }
  return reader.FieldError(
      "token_auth", ": unknown value '" + raw + "' (allowed: client_secret_basic, client_secret_post, none)");
}

Status ReadQuirks(const toml::table& table, FieldLocations& locations, ProviderQuirks& quirks) {
  FieldReader reader(table, "quirks.", locations);
  LATCHKEY_RETURN_IF_ERROR(reader.RejectUnknownKeys(kQuirkNames));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString("token_response_format", quirks.token_response_format));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadStringTable("token_request_headers", quirks.token_request_headers));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString("token_path", quirks.token_path));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadBool("error_in_ok_body", quirks.error_in_ok_body));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadStringArray("terminal_errors", quirks.terminal_errors));
  LATCHKEY_RETURN_IF_ERROR(
      reader.ReadStringArray("terminal_error_descriptions", quirks.terminal_error_descriptions));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadInteger("default_expires_in", quirks.default_expires_in));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString("api_base_url_field", quirks.api_base_url_field));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadBool("rotates_refresh_token", quirks.rotates_refresh_token));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadInteger("refresh_token_lifetime", quirks.refresh_token_lifetime));
  LATCHKEY_RETURN_IF_ERROR(
      reader.ReadStringTable("incremental_consent_params", quirks.incremental_consent_params));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString("scope_error_format", quirks.scope_error_format));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString("account_field", quirks.account_field));
  return Status::Ok();
}

Status ReadTopLevel(const toml::table& table, FieldLocations& locations, ProviderDefinition& def) {
  FieldReader reader(table, "", locations);
  LATCHKEY_RETURN_IF_ERROR(reader.RejectUnknownKeys(kTopLevelNames));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString("name", def.name));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString("display_name", def.display_name));
  LATCHKEY_RETURN_IF_ERROR(ReadAuthKind(reader, def.auth));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString("issuer", def.issuer));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString("authorization_url", def.authorization_url));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString("token_url", def.token_url));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString("refresh_url", def.refresh_url));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString("revocation_url", def.revocation_url));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString("device_authorization_url", def.device_authorization_url));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString("userinfo_url", def.userinfo_url));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString("jwks_url", def.jwks_url));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString("identity_url", def.identity_url));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString("identity_id_pointer", def.identity_id_pointer));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString("identity_label_pointer", def.identity_label_pointer));
  LATCHKEY_RETURN_IF_ERROR(ReadValueSource(reader, "client_id", def.client_id));
  LATCHKEY_RETURN_IF_ERROR(ReadValueSource(reader, "client_secret", def.client_secret));
  LATCHKEY_RETURN_IF_ERROR(ReadTokenAuth(reader, def.token_auth));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadStringArray("scopes", def.scopes));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString("scope_separator", def.scope_separator));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadStringTable("authorization_params", def.authorization_params));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadStringTable("token_params", def.token_params));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadStringTable("refresh_params", def.refresh_params));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString("api_base_url", def.api_base_url));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadStringArray("extra_api_base_urls", def.extra_api_base_urls));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString("api_key_header", def.api_key_header));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString("api_key_query", def.api_key_query));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString("api_key_prefix", def.api_key_prefix));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString("method_override_header", def.method_override_header));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString("test_path", def.test_path));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadString("docs_url", def.docs_url));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadDuration("refresh_token_lifetime", def.refresh_tokens.lifetime));
  LATCHKEY_RETURN_IF_ERROR(
      reader.ReadDuration("refresh_token_idle_lifetime", def.refresh_tokens.idle_lifetime));
  LATCHKEY_RETURN_IF_ERROR(reader.ReadDuration("refresh_token_reuse_grace", def.refresh_tokens.reuse_grace));
  LATCHKEY_ASSIGN_OR_RETURN(const toml::table* quirks, reader.ReadTable("quirks"));
  if (quirks != nullptr) LATCHKEY_RETURN_IF_ERROR(ReadQuirks(*quirks, locations, def.quirks));
  return Status::Ok();
}

}  // namespace

namespace {

StatusOr<ProviderDefinition> ParseProviderDocument(std::string_view toml_text, std::string_view source_name) {
  LATCHKEY_ASSIGN_OR_RETURN(toml::table table, internal::ParseTomlDocument(toml_text, source_name));
  FieldLocations locations{std::string(source_name)};
  ProviderDefinition definition;
  LATCHKEY_RETURN_IF_ERROR(ReadTopLevel(table, locations, definition));
  LATCHKEY_ASSIGN_OR_RETURN(definition.template_variables, internal::ReadTemplate(table, locations));
  if (definition.is_template()) {
    // A template's URLs are not URLs until filled: check the entry an instance would be,
    // with a valid value for each variable, and keep the template as written.
    internal::FillTemplate(table, internal::SampleTemplateValues(definition.template_variables));
    ProviderDefinition instance;
    FieldLocations instance_locations{std::string(source_name)};
    LATCHKEY_RETURN_IF_ERROR(ReadTopLevel(table, instance_locations, instance));
    LATCHKEY_RETURN_IF_ERROR(internal::ValidateProvider(instance, instance_locations));
    definition.display_name = instance.display_name;
  } else {
    LATCHKEY_RETURN_IF_ERROR(internal::ValidateProvider(definition, locations));
  }
  definition.source = std::string(source_name);
  return definition;
}

}  // namespace

StatusOr<ProviderDefinition> ParseProvider(std::string_view toml_text, std::string_view source_name) {
  StatusOr<ProviderDefinition> parsed = ParseProviderDocument(toml_text, source_name);
  // Messages quote the entry's values: one line, without control characters, whatever
  // they hold (found by provider_toml_fuzz: a header name with CR LF went into logs as is).
  if (!parsed.ok()) return InvalidArgumentError(ToDisplayText(parsed.status().message(), 2048));
  return parsed;
}

}  // namespace latchkey::provider
