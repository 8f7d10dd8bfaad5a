#include "provider/provider_validation.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

#include "common/ascii.h"
#include "common/duration.h"
#include "common/encoding.h"
#include "common/url.h"
#include "provider/api_base_urls.h"
#include "provider/endpoint_url.h"

namespace latchkey::provider::internal {
namespace {

// Parameters latchkey itself sets in each request; letting an entry override them
// would break PKCE, state checking or the grant itself.
constexpr std::array<std::string_view, 9> kReservedAuthorizationParams = {
    "response_type",         "client_id", "redirect_uri", "scope", "state", "code_challenge",
    "code_challenge_method", "nonce",     "request_uri"};
constexpr std::array<std::string_view, 8> kReservedTokenParams = {
    "grant_type",    "code",      "redirect_uri",  "code_verifier",
    "refresh_token", "client_id", "client_secret", "device_code"};
// The HTTP layer computes these; an entry setting them would corrupt the request.
constexpr std::array<std::string_view, 4> kReservedHeaders = {"host", "content-length", "transfer-encoding",
                                                              "connection"};

constexpr std::array<std::string_view, 3> kTokenResponseFormats = {"json", "form", "auto"};
constexpr std::array<std::string_view, 5> kScopeErrorFormats = {"rfc6750", "google", "slack", "github",
                                                                "microsoft_graph"};

template <std::size_t N>
bool Contains(const std::array<std::string_view, N>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

template <std::size_t N>
std::string Join(const std::array<std::string_view, N>& list) {
  std::string out;
  for (std::string_view item : list) out += (out.empty() ? "" : ", ") + std::string(item);
  return out;
}

bool IsSlug(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  auto ok = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; };
  return name.front() != '-' && std::all_of(name.begin(), name.end(), ok);
}

// RFC 9110 "token": what a header name may be made of.
bool IsHeaderName(std::string_view name) {
  constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || kExtra.find(c) != std::string_view::npos;
  });
}

// An https URL, which may point into its page with a #fragment (for people, never fetched).
bool IsDocsUrl(std::string_view url) {
  const size_t hash = url.find('#');
  if (hash == std::string_view::npos) return IsHttpsUrl(url);
  std::string_view fragment = url.substr(hash + 1);
  return IsHttpsUrl(url.substr(0, hash)) && std::all_of(fragment.begin(), fragment.end(), [](char c) {
           return c > ' ' && c < 0x7f && c != '#';
         });
}

bool HasLineBreak(std::string_view text) { return text.find_first_of("\r\n") != std::string_view::npos; }

// RFC 6901: empty (the whole document) or '/'-separated tokens where '~' is only ~0 or ~1.
bool IsJsonPointer(std::string_view pointer) {
  if (pointer.empty()) return false;  // the whole document is never an account id
  if (pointer.front() != '/' || pointer.size() > 200 || HasLineBreak(pointer)) return false;
  for (size_t i = 0; i < pointer.size(); ++i) {
    if (pointer[i] == '~' && (i + 1 == pointer.size() || (pointer[i + 1] != '0' && pointer[i + 1] != '1')))
      return false;
  }
  return true;
}

// "a.b.c" with no empty segment.
bool IsDottedPath(std::string_view path) {
  return !path.empty() && path.front() != '.' && path.back() != '.' &&
         path.find("..") == std::string_view::npos;
}

class Validator {
 public:
  Validator(ProviderDefinition& def, const FieldLocations& at) : def_(def), at_(at) {}

  Status Run() {
    LATCHKEY_RETURN_IF_ERROR(CheckIdentity());
    LATCHKEY_RETURN_IF_ERROR(CheckFieldsBelongToAuthKind());
    LATCHKEY_RETURN_IF_ERROR(CheckUrls());
    switch (def_.auth) {
      case AuthKind::kOAuth2: LATCHKEY_RETURN_IF_ERROR(CheckOAuth()); break;
      case AuthKind::kApiKey: LATCHKEY_RETURN_IF_ERROR(CheckApiKey()); break;
      case AuthKind::kBasic: break;
    }
    if (def_.api_base_url.empty()) return Missing("api_base_url", "the proxy forwards only below it");
    if (at_.Has("method_override_header") && !IsHeaderName(def_.method_override_header)) {
      return at_.FieldError("method_override_header",
                            ": '" + def_.method_override_header + "' is not a valid HTTP header name");
    }
    if (at_.Has("test_path") &&
        (!def_.test_path.starts_with("/") || def_.test_path.starts_with("//") ||
         HasLineBreak(def_.test_path) || def_.test_path.find_first_of(" #") != std::string::npos)) {
      return at_.FieldError(
          "test_path",
          ": '" + def_.test_path + "' must be a path below api_base_url, starting with '/' (e.g. \"/user\")");
    }
    if (at_.Has("docs_url") && !IsDocsUrl(def_.docs_url)) {
      return at_.FieldError("docs_url", ": '" + ToDisplayText(def_.docs_url, 256) +
                                            "' is not an https:// URL of the provider's documentation");
    }
    for (std::string_view field : {"identity_id_pointer", "identity_label_pointer"}) {
      const std::string& pointer =
          field == "identity_id_pointer" ? def_.identity_id_pointer : def_.identity_label_pointer;
      if (at_.Has(field) && !IsJsonPointer(pointer)) {
        return at_.FieldError(field, ": '" + pointer +
                                         "' is not a JSON pointer (RFC 6901: \"/id\", \"/user/login\"; '~' "
                                         "only as ~0 or ~1)");
      }
    }
    return CheckQuirks();
  }

 private:
  Status CheckIdentity() {
    if (!at_.Has("name")) return at_.ErrorAt(0, "field 'name' is required");
    if (!IsSlug(def_.name)) {
      return at_.FieldError("name", ": '" + def_.name +
                                        "' is not a slug (lowercase letters, digits and '-', "
                                        "starting with a letter or digit, at most 64 characters)");
    }
    if (!at_.Has("auth")) return at_.ErrorAt(0, "field 'auth' is required (oauth2, api_key or basic)");
    if (at_.Has("display_name") && (def_.display_name.empty() || HasLineBreak(def_.display_name))) {
      return at_.FieldError("display_name", " must be a non-empty single line");
    }
    if (def_.display_name.empty()) def_.display_name = def_.name;
    return Status::Ok();
  }

  Status CheckFieldsBelongToAuthKind() {
    std::string kind(AuthKindName(def_.auth));
    auto check = [&](const FieldSpec& field, std::string_view prefix) -> Status {
      const bool applies = field.scope == FieldScope::kAny ||
                           (field.scope == FieldScope::kOAuth2 && def_.auth == AuthKind::kOAuth2) ||
                           (field.scope == FieldScope::kApiKey && def_.auth == AuthKind::kApiKey);
      const std::string name = std::string(prefix) + std::string(field.name);
      if (applies || !at_.Has(name)) return Status::Ok();
      const std::string_view wants = field.scope == FieldScope::kOAuth2 ? "oauth2" : "api_key";
      return at_.FieldError(name,
                            " applies only to auth = \"" + std::string(wants) + "\", not \"" + kind + "\"");
    };
    for (const FieldSpec& field : kTopLevelFields) LATCHKEY_RETURN_IF_ERROR(check(field, ""));
    for (const FieldSpec& field : kQuirkFields) LATCHKEY_RETURN_IF_ERROR(check(field, "quirks."));
    return Status::Ok();
  }

  Status CheckUrl(std::string_view field, const std::string& url, UrlRules rules = {}) {
    if (!at_.Has(field)) return Status::Ok();
    std::string problem = EndpointUrlProblem(url, rules);
    if (!problem.empty()) return at_.FieldError(field, ": " + problem);
    return Status::Ok();
  }

  Status CheckUrls() {
    LATCHKEY_RETURN_IF_ERROR(CheckUrl("issuer", def_.issuer, {.allow_query = false}));
    LATCHKEY_RETURN_IF_ERROR(CheckUrl("authorization_url", def_.authorization_url));
    LATCHKEY_RETURN_IF_ERROR(CheckUrl("token_url", def_.token_url));
    LATCHKEY_RETURN_IF_ERROR(CheckUrl("refresh_url", def_.refresh_url));
    LATCHKEY_RETURN_IF_ERROR(CheckUrl("revocation_url", def_.revocation_url));
    LATCHKEY_RETURN_IF_ERROR(CheckUrl("device_authorization_url", def_.device_authorization_url));
    LATCHKEY_RETURN_IF_ERROR(CheckUrl("userinfo_url", def_.userinfo_url));
    LATCHKEY_RETURN_IF_ERROR(CheckUrl("jwks_url", def_.jwks_url));
    LATCHKEY_RETURN_IF_ERROR(CheckUrl("identity_url", def_.identity_url));
    LATCHKEY_RETURN_IF_ERROR(CheckUrl("api_base_url", def_.api_base_url, {.allow_query = false}));
    for (const std::string& url : def_.extra_api_base_urls) {
      std::string problem = ApiBaseUrlPatternProblem(url);
      if (!problem.empty()) return at_.FieldError("extra_api_base_urls", ": '" + url + "': " + problem);
    }
    return Status::Ok();
  }

  Status Missing(std::string_view field, std::string_view why) const {
    // Point at the auth line: that is the choice that makes the field required.
    return at_.ErrorAt(at_.Line("auth"), "field '" + std::string(field) + "' is required for auth = \"" +
                                             std::string(AuthKindName(def_.auth)) + "\" (" +
                                             std::string(why) + ")");
  }

  Status CheckOAuth() {
    if (def_.token_url.empty() && def_.issuer.empty()) {
      return Missing("token_url", "or an 'issuer' to discover it from");
    }
    if (def_.token_auth == TokenAuthMethod::kNone && at_.Has("client_secret")) {
      return at_.FieldError("client_secret", " is set but token_auth = \"none\" never sends it");
    }
    if (at_.Has("scope_separator") && def_.scope_separator.empty()) {
      return at_.FieldError("scope_separator", " must not be empty");
    }
    for (const std::string& scope : def_.scopes) {
      bool blank = std::any_of(scope.begin(), scope.end(),
                               [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
      if (scope.empty() || blank || scope.find(def_.scope_separator) != std::string::npos) {
        return at_.FieldError("scopes", ": '" + scope +
                                            "' is not a single scope (empty, or contains whitespace or the "
                                            "scope separator)");
      }
    }
    LATCHKEY_RETURN_IF_ERROR(
        CheckParams("authorization_params", def_.authorization_params, kReservedAuthorizationParams));
    LATCHKEY_RETURN_IF_ERROR(CheckParams("token_params", def_.token_params, kReservedTokenParams));
    return CheckParams("refresh_params", def_.refresh_params, kReservedTokenParams);
  }

  template <std::size_t N>
  Status CheckParams(std::string_view field, const std::map<std::string, std::string>& params,
                     const std::array<std::string_view, N>& reserved) {
    for (const auto& [key, value] : params) {
      if (key.empty()) return at_.FieldError(field, ": parameter names must not be empty");
      if (Contains(reserved, key)) {
        return at_.FieldError(field, ": '" + key + "' is set by latchkey itself and cannot be overridden");
      }
    }
    return Status::Ok();
  }

  Status CheckApiKey() {
    bool header = at_.Has("api_key_header");
    bool query = at_.Has("api_key_query");
    if (header && query) {
      return at_.ErrorAt(
          at_.Line("api_key_query"),
          "fields 'api_key_header' and 'api_key_query' are exclusive: the key goes in one place");
    }
    if (!header && !query) return Missing("api_key_header", "or 'api_key_query': where the key goes");
    if (header && !IsHeaderName(def_.api_key_header)) {
      return at_.FieldError("api_key_header",
                            ": '" + def_.api_key_header + "' is not a valid HTTP header name");
    }
    if (query &&
        (def_.api_key_query.empty() || def_.api_key_query.find_first_of("&=#? ") != std::string::npos)) {
      return at_.FieldError("api_key_query",
                            ": '" + def_.api_key_query + "' is not a valid query parameter name");
    }
    if (HasLineBreak(def_.api_key_prefix))
      return at_.FieldError("api_key_prefix", " must not contain line breaks");
    return Status::Ok();
  }

  Status CheckQuirks() {
    const ProviderQuirks& q = def_.quirks;
    if (!Contains(kTokenResponseFormats, q.token_response_format)) {
      return at_.FieldError(
          "quirks.token_response_format",
          ": unknown value '" + q.token_response_format + "' (allowed: " + Join(kTokenResponseFormats) + ")");
    }
    if (!Contains(kScopeErrorFormats, q.scope_error_format)) {
      return at_.FieldError("quirks.scope_error_format", ": unknown value '" + q.scope_error_format +
                                                             "' (allowed: " + Join(kScopeErrorFormats) + ")");
    }
    for (const auto& [name, value] : q.token_request_headers) {
      if (!IsHeaderName(name) || Contains(kReservedHeaders, AsciiLower(name)) || HasLineBreak(value)) {
        return at_.FieldError("quirks.token_request_headers",
                              ": '" + name +
                                  "' is not a header an entry may set (invalid name, line break "
                                  "in the value, or computed by the HTTP layer)");
      }
    }
    for (std::string_view field :
         {"quirks.token_path", "quirks.api_base_url_field", "quirks.account_field"}) {
      const std::string& path = field == "quirks.token_path"           ? q.token_path
                                : field == "quirks.api_base_url_field" ? q.api_base_url_field
                                                                       : q.account_field;
      if (at_.Has(field) && !IsDottedPath(path)) {
        return at_.FieldError(field,
                              ": '" + path + "' is not a field path like \"authed_user\" or \"team.name\"");
      }
    }
    for (std::string_view field : {"quirks.terminal_errors", "quirks.terminal_error_descriptions"}) {
      const auto& list =
          field == "quirks.terminal_errors" ? q.terminal_errors : q.terminal_error_descriptions;
      if (std::any_of(list.begin(), list.end(), [](const std::string& s) { return s.empty(); })) {
        // An empty substring would match every error and make each failure terminal.
        return at_.FieldError(field, ": entries must not be empty");
      }
    }
    if (q.default_expires_in && *q.default_expires_in <= 0) {
      return at_.FieldError("quirks.default_expires_in", " must be a positive number of seconds");
    }
    if (q.refresh_token_lifetime) {
      // The old spelling: seconds, read as the absolute lifetime.
      if (at_.Has("refresh_token_lifetime")) {
        return at_.FieldError(
            "quirks.refresh_token_lifetime",
            " is the old spelling of refresh_token_lifetime, which is also written: keep one");
      }
      if (*q.refresh_token_lifetime <= 0 || *q.refresh_token_lifetime > kLongestDuration.count()) {
        return at_.FieldError(
            "quirks.refresh_token_lifetime",
            " must be a positive number of seconds, at most " + FormatDuration(kLongestDuration));
      }
      def_.refresh_tokens.lifetime = std::chrono::seconds(*q.refresh_token_lifetime);
    }
    return CheckParams("quirks.incremental_consent_params", q.incremental_consent_params,
                       kReservedAuthorizationParams);
  }

  ProviderDefinition& def_;
  const FieldLocations& at_;
};

}  // namespace

Status ValidateProvider(ProviderDefinition& definition, const FieldLocations& locations) {
  return Validator(definition, locations).Run();
}

}  // namespace latchkey::provider::internal
