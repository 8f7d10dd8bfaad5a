// ProviderDefinition: one provider entry in the TOML format of SPEC §9, parsed and
// validated. Each provider's quirks are data (the [quirks] table), never code branches
// elsewhere. Immutable once parsed: share freely between threads.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret_string.h"
#include "common/status.h"
#include "provider/provider_template.h"

namespace latchkey::provider {

enum class AuthKind { kOAuth2, kApiKey, kBasic };
enum class TokenAuthMethod { kClientSecretBasic, kClientSecretPost, kNone };

std::string_view AuthKindName(AuthKind kind);                  // "oauth2" | "api_key" | "basic"
std::string_view TokenAuthMethodName(TokenAuthMethod method);  // "client_secret_basic" | ...

// Where a configuration value comes from: a literal, or "env:NAME".
struct ValueSource {
  std::string env_var;   // set for "env:NAME"
  SecretString literal;  // set otherwise (client secrets are secret; ids are not, but share the type)
  bool empty() const { return env_var.empty() && literal.empty(); }
};

// Deviations from plain RFC 6749 behaviour, as written in a provider's [quirks] table.
struct ProviderQuirks {
  // Token endpoint response body: "json" (default), "form" (application/x-www-form-urlencoded,
  // e.g. GitHub without an Accept header) or "auto" (decide by Content-Type).
  std::string token_response_format = "json";
  // Extra headers sent to the token endpoint, e.g. {"Accept" = "application/json"}.
  std::map<std::string, std::string> token_request_headers;
  // Dotted path to the object holding the tokens, e.g. "authed_user" (Slack user tokens).
  std::string token_path;
  // Errors arrive with HTTP 200 as {"ok": false, "error": "..."} (Slack).
  bool error_in_ok_body = false;
  // Error codes (besides invalid_grant) that mean the grant is gone: needs_reauth.
  std::vector<std::string> terminal_errors;
  // Substrings of error_description that mean the grant is gone (Entra "AADSTS70008" ...).
  std::vector<std::string> terminal_error_descriptions;
  // Access-token lifetime to assume when the response has no usable expires_in.
  std::optional<long long> default_expires_in;
  // A token-response field that holds the connection's API base URL (Salesforce "instance_url").
  std::string api_base_url_field;
  // The provider issues a new refresh token on every refresh (the old one dies).
  bool rotates_refresh_token = false;
  // The old spelling of refresh_token_lifetime, in seconds; read into
  // ProviderDefinition::refresh_tokens.lifetime when that is not written.
  std::optional<long long> refresh_token_lifetime;
  // Extra authorization parameters for incremental consent (Google include_granted_scopes).
  std::map<std::string, std::string> incremental_consent_params;
  // How the provider reports a missing scope on 403: "rfc6750" (default), "google",
  // "slack", "github", "microsoft_graph".
  std::string scope_error_format = "rfc6750";
  // A token-response field naming the account (e.g. "email", "team.name"), for display.
  std::string account_field;
};

// How long the provider's refresh tokens live, where its documentation says (SPEC §10):
// what a forecast of when a grant dies is made of. Unset: not documented.
struct RefreshTokenRules {
  std::optional<std::chrono::seconds> lifetime;       // from consent; refreshing does not extend it
  std::optional<std::chrono::seconds> idle_lifetime;  // since the last refresh (a refresh resets it)
  std::optional<std::chrono::seconds> reuse_grace;    // a rotated refresh token still works this long
  friend bool operator==(const RefreshTokenRules&, const RefreshTokenRules&) = default;
};

struct ProviderDefinition {
  std::string name;          // slug: [a-z0-9][a-z0-9-]*
  std::string display_name;  // defaults to name
  AuthKind auth = AuthKind::kOAuth2;

  // OAuth 2.0 (auth = "oauth2").
  std::string issuer;
  std::string authorization_url;
  std::string token_url;
  // Where refresh requests go, when not to token_url (Figma's /v1/oauth/refresh).
  std::string refresh_url;
  std::string revocation_url;
  std::string device_authorization_url;
  std::string userinfo_url;
  // The issuer's signing keys (JWKS), for ID tokens; discovery fills it from jwks_uri.
  std::string jwks_url;
  // Who a grant belongs to when there is no ID token to say it: a GET with the access
  // token (identity_url, else userinfo_url) answers JSON, where identity_id_pointer (a
  // JSON pointer, default "/sub") is the account's stable id and identity_label_pointer
  // (default: the first of /email, /preferred_username, /login, /name) what to show.
  std::string identity_url;
  std::string identity_id_pointer;
  std::string identity_label_pointer;
  ValueSource client_id;
  ValueSource client_secret;
  TokenAuthMethod token_auth = TokenAuthMethod::kClientSecretBasic;
  std::vector<std::string> scopes;
  std::string scope_separator = " ";
  std::map<std::string, std::string> authorization_params;
  std::map<std::string, std::string> token_params;
  std::map<std::string, std::string> refresh_params;

  // The proxy forwards only below these URLs; the first is the default.
  std::string api_base_url;
  std::vector<std::string> extra_api_base_urls;

  // API keys (auth = "api_key"): exactly one of header / query.
  std::string api_key_header;
  std::string api_key_query;
  std::string api_key_prefix;

  // A header through which the API lets a request name another method (e.g.
  // "X-HTTP-Method-Override"). Empty: such headers are stripped from every request, as
  // they would smuggle a method past the agent's policy; set: it is forwarded, and the
  // policy must allow the method it names.
  std::string method_override_header;

  // A path below the API base URL that any valid token of the provider may GET (e.g.
  // "/user"). When an endpoint refuses a freshly refreshed token, latchkey asks this one
  // (else userinfo_url): if it takes the token, the grant is alive and the refusal was
  // that endpoint's own answer, passed on as it is; the connection stays active.
  std::string test_path;

  ProviderQuirks quirks;
  RefreshTokenRules refresh_tokens;

  // The documentation page the entry was taken from (an https URL), for people.
  std::string docs_url;

  // Set for a template entry (its [template] table): its URLs hold these {variables}, and
  // it is used only through an instance (provider_template.h), never as it is.
  std::vector<TemplateVariable> template_variables;
  bool is_template() const { return !template_variables.empty(); }

  std::string source;  // where it came from: "built-in", a file path, or "store"

  // Set by discovery, not written in TOML: the authorization server says it puts `iss`
  // in every authorization response (RFC 9207), so a response without it is refused.
  bool authorization_response_iss = false;
};

// Parses and validates one provider document. `source_name` names it in messages.
// Every error is kInvalidArgument with one sentence that names the source, the line
// (when known) and the field, e.g.
//   "acme.toml:7: field 'token_url': http:// is allowed only for loopback hosts (127.0.0.1, ::1, localhost)"
//   "acme.toml:3: unknown field 'tokn_url'"
//   "acme.toml:5:12: TOML syntax error: ..."
StatusOr<ProviderDefinition> ParseProvider(std::string_view toml_text, std::string_view source_name);

// The same document with a literal `client_secret` removed (env: references are kept),
// re-serialized as TOML, for storing; the literal is sealed separately. Assumes the
// text parsed successfully.
StatusOr<std::string> StripLiteralClientSecret(std::string_view toml_text);

// <prefix><NAME>_<SUFFIX>, the variable an entry reads its client id or secret from
// unasked ("my-api", "CLIENT_ID" → LATCHKEY_MY_API_CLIENT_ID).
std::string OwnEnvVariable(std::string_view provider_name, std::string_view suffix,
                           std::string_view prefix = "LATCHKEY_");

// kFailedPrecondition when `definition` is a template (provider_template.h), naming the
// --param each variable needs: a template's URLs are not URLs until its values are in.
Status RequireConcrete(const ProviderDefinition& definition);

// True for "127.0.0.1" (any 127/8), "::1", "[::1]" and "localhost".
bool IsLoopbackHost(std::string_view host);

}  // namespace latchkey::provider
